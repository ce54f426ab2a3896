#!/usr/bin/env python3
"""capture.py: runs one scenario of the real Codex CLI against the mock and writes a fixture.

Contract (Python 3.11 standard library only):

    tests/codex/capture.py <scenario> [--out DIR] [--codex PATH] [--work DIR]

- ``<scenario>`` is a key of ``scenarios.SCENARIOS``. ``--out`` defaults to
  ``tests/fixtures/codex-<major>.<minor>/<scenario>`` for the version ``codex --version``
  reports; ``--codex`` to ``$CODEX_BIN`` or ``.work/codex-0.171.0/node_modules/.bin/codex``; ``--work`` (scratch, recreated) to
  ``~/.cache/codex-otel-capture/<scenario>``: outside any git repository (Codex would
  record the enclosing repository in ``session_meta.git``) and outside the system temp dir
  (Codex warns that it will not create helper binaries for a ``CODEX_HOME`` there).
- It starts the mock, writes ``$CODEX_HOME/config.toml`` (mock provider, no network, one
  capture handler for each of the 14 hook events plus the scenario's own handlers), runs
  ``codex exec --dangerously-bypass-hook-trust --skip-git-repo-check <flags> <prompt>`` in an
  empty workspace with stdin from /dev/null and a timeout (SIGINT once the mock has received the
  HANG request, or once the SLEEP command has created ``tool-started``, for the interrupt
  scenarios), stops the mock by PID, and writes the fixture:
  ``hooks.ndjson``, ``rollouts/`` (``$CODEX_HOME/sessions``), ``model-calls.json`` and
  ``SOURCE.md``, with paths rewritten to ``/home/dev/.codex``, ``/home/dev/project`` and
  ``/home/dev/tmp``. It fails if an unrewritten scratch path is left in the output. Other files
  in the fixture directory (such as a golden ``expected-spans.json``) are left in place.
- The capture handler is ``cat > <dir>/$(date +%s%N)-$$.json``: each payload gets its own file
  named by the time its handler started, so concurrent handlers never interleave, and
  ``hooks.ndjson`` lists them in start order, each followed by ``\\n``.
- stdout/stderr of codex, the request log, the config and ``run.json`` (exit status, wall time,
  version) stay in the work dir; ``--source-only`` rewrites SOURCE.md from them and the fixture
  (after editing a scenario's notes) without running Codex again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scenarios import SCENARIOS, Scenario  # noqa: E402
from source_md import write_source_md  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MOCK = Path(__file__).resolve().parent / "mock_responses.py"
SKILLS = REPO / "tests/fixtures/skills"
CODEX_TIMEOUT_SECONDS = 120.0
WAIT_SECONDS = 20.0
HOME_ALIAS, PROJECT_ALIAS, TMP_ALIAS = "/home/dev/.codex", "/home/dev/project", "/home/dev/tmp"

# One capture handler per event; the tool events get matcher "*", as in the shared fixtures.
# PreModelRequest and PostModelRequest fire around every model request (0.169 and later).
EVENTS = [
    ("SessionStart", None, 30),
    ("UserPromptSubmit", None, 30),
    ("PreToolUse", "*", 30),
    ("PermissionRequest", "*", 30),
    ("PostToolUse", "*", 30),
    ("PreCompact", None, 30),
    ("PostCompact", None, 30),
    ("SubagentStart", None, 30),
    ("SubagentStop", None, 30),
    ("Stop", None, 30),
    ("Interrupt", None, 3),
    ("SessionEnd", None, 3),
    ("PreModelRequest", None, 30),
    ("PostModelRequest", None, 30),
]


def wait_for(what: str, check, deadline_s: float = WAIT_SECONDS):
    """Polls ``check()`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def toml_str(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML)."""
    return json.dumps(value)


def hooks_toml(capture_dir: Path, scenario: Scenario) -> str:
    """The [hooks] tables: the capture handlers, then the scenario's own handler groups."""
    out = []
    capture = f'cat > "{capture_dir}/$(date +%s%N)-$$.json"'
    for event, matcher, timeout in EVENTS:
        out.append(f"[[hooks.{event}]]")
        if matcher is not None:
            out.append(f"matcher = {toml_str(matcher)}")
        out += [
            f"[[hooks.{event}.hooks]]",
            'type = "command"',
            f"command = {toml_str(capture)}",
            f"timeout = {timeout}",
            "",
        ]
    for event, command in scenario.extra_hooks:
        out += [
            f"[[hooks.{event}]]",
            f"[[hooks.{event}.hooks]]",
            'type = "command"',
            f"command = {toml_str(command)}",
            "timeout = 30",
            "",
        ]
    return "\n".join(out)


def config_toml(port: int, capture_dir: Path, scenario: Scenario) -> str:
    """The whole config.toml for an isolated CODEX_HOME pointing at the mock."""
    base = f"""model = "mock-model"
model_provider = "mock"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false
chatgpt_base_url = "http://127.0.0.1:{port}/backend-api"
[analytics]
enabled = false

[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:{port}/v1"
wire_api = "responses"
env_key = "MOCK_API_KEY"
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 5000

"""
    return base + hooks_toml(capture_dir, scenario)


def read_log(path: Path) -> list[dict]:
    """The mock's request log so far (complete lines only: a line still being written waits)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")[:-1]
    return [json.loads(line) for line in lines if line.strip()]


class Run:
    """One scenario's scratch directory, mock process and codex invocation."""

    def __init__(self, scenario: Scenario, work: Path, codex: Path) -> None:
        self.scenario, self.work, self.codex = scenario, work, codex
        self.home, self.project, self.captures = (
            work / "codex-home",
            work / "project",
            work / "hook-captures",
        )
        self.requests = work / "requests.jsonl"
        self.calls = work / "model-calls.json"
        self.mock: subprocess.Popen | None = None

    def start_mock(self) -> int:
        port_file = self.work / "mock.port"
        self.mock = subprocess.Popen(
            [
                sys.executable,
                str(MOCK),
                "--port-file",
                str(port_file),
                "--requests-log",
                str(self.requests),
                "--model-calls",
                str(self.calls),
            ],
            stdin=subprocess.DEVNULL,
        )
        return int(
            wait_for(
                "the mock's port file", lambda: port_file.exists() and port_file.read_text().strip()
            )
        )

    def stop_mock(self) -> None:
        if self.mock is not None and self.mock.poll() is None:
            self.mock.send_signal(signal.SIGTERM)
            self.mock.wait(timeout=WAIT_SECONDS)

    def prepare(self) -> None:
        if self.work.exists():
            shutil.rmtree(self.work)
        for d in (self.home, self.project, self.captures):
            d.mkdir(parents=True)
        for skill in self.scenario.skills:
            shutil.copytree(SKILLS / skill, self.home / "skills" / skill)
        port = self.start_mock()
        (self.home / "config.toml").write_text(
            config_toml(port, self.captures, self.scenario), encoding="utf-8"
        )

    def codex_argv(self) -> list[str]:
        return [
            str(self.codex),
            "exec",
            *trust_flag(self.codex),
            "--skip-git-repo-check",
            *self.scenario.flags,
            self.scenario.prompt,
        ]

    def interrupt_ready(self) -> bool:
        """True once the scenario's interrupt point is reached (see Scenario.interrupt_after)."""
        if self.scenario.interrupt_after == "hang-request":
            return any(e.get("script") == "hang" for e in read_log(self.requests))
        return (self.project / "tool-started").exists()

    def run_codex(self) -> tuple[int, float]:
        """Runs codex exec; returns (exit status, wall seconds)."""
        env = {**os.environ, "CODEX_HOME": str(self.home), "MOCK_API_KEY": "sk-mock"}
        with (
            open(self.work / "stdout.txt", "wb") as out,
            open(self.work / "stderr.txt", "wb") as err,
        ):
            start = time.monotonic()
            proc = subprocess.Popen(
                self.codex_argv(),
                cwd=self.project,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
            try:
                if self.scenario.interrupt_after:
                    wait_for(self.scenario.interrupt_after, self.interrupt_ready)
                    proc.send_signal(signal.SIGINT)
                status = proc.wait(timeout=CODEX_TIMEOUT_SECONDS)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            return status, time.monotonic() - start


def trust_flag(codex: Path) -> list[str]:
    """``--dangerously-bypass-hook-trust`` where ``codex exec`` has it (0.140 and later; 0.130
    and older reject it with exit 2 and have no hook trust to bypass)."""
    flag = "--dangerously-bypass-hook-trust"
    helptext = subprocess.run(
        [str(codex), "exec", "--help"], capture_output=True, text=True, check=True
    ).stdout
    return [flag] if flag in helptext else []


def rewrite(text: str, run: Run) -> str:
    """Rewrites scratch paths to the /home/dev aliases (most specific first)."""
    for real, alias in (
        (run.home, HOME_ALIAS),
        (run.project, PROJECT_ALIAS),
        (run.work, TMP_ALIAS),
    ):
        text = text.replace(str(real), alias)
    return text


def write_fixture(run: Run, out: Path) -> None:
    """hooks.ndjson, rollouts/ and model-calls.json, rewritten; fails on leftover scratch paths."""
    # Only the captured files are replaced: other files (e.g. golden expected-spans.json that
    # tests derive from the capture) stay, and must be regenerated by their owner.
    shutil.rmtree(out / "rollouts", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    payloads = [
        p.read_text(encoding="utf-8")
        for p in sorted(run.captures.glob("*.json"), key=lambda p: p.name)
    ]
    files = {out / "hooks.ndjson": "".join(rewrite(p, run) + "\n" for p in payloads)}
    files[out / "model-calls.json"] = run.calls.read_text(encoding="utf-8")
    for src in sorted((run.home / "sessions").rglob("*.jsonl")):
        files[out / "rollouts" / src.relative_to(run.home / "sessions")] = rewrite(
            src.read_text(encoding="utf-8"), run
        )
    for path, text in files.items():
        if str(run.work) in text or str(REPO) in text:
            raise ValueError(f"{path}: a scratch path survived the rewrite")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def codex_version(codex: Path) -> str:
    """What ``codex --version`` prints, e.g. ``codex-cli 0.171.0``."""
    return subprocess.run(
        [str(codex), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def fixture_root(version: str) -> Path:
    """``tests/fixtures/codex-<major>.<minor>`` for a ``codex --version`` line."""
    major, minor = version.removeprefix("codex-cli ").split(".")[:2]
    return REPO / "tests/fixtures" / f"codex-{major}.{minor}"


def write_source(run: Run, out: Path) -> None:
    """(Re)writes out/SOURCE.md from the fixture and the run facts saved in the work dir."""
    facts = json.loads((run.work / "run.json").read_text(encoding="utf-8"))
    stderr = rewrite((run.work / "stderr.txt").read_text(errors="replace"), run)
    write_source_md(
        out,
        run.scenario,
        run.codex_argv(),
        facts["status"],
        facts["wall"],
        facts["version"],
        stderr,
        len(facts.get("events", EVENTS[:12])),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--work", type=Path)
    parser.add_argument(
        "--codex",
        type=Path,
        default=Path(
            os.environ.get("CODEX_BIN", REPO / ".work/codex-0.171.0/node_modules/.bin/codex")
        ),
    )
    parser.add_argument(
        "--source-only",
        action="store_true",
        help="only rewrite SOURCE.md from the last capture's work dir (after editing notes)",
    )
    args = parser.parse_args()
    scenario = SCENARIOS[args.scenario]
    version = codex_version(args.codex)
    out = args.out or fixture_root(version) / scenario.name
    work = args.work or Path.home() / ".cache/codex-otel-capture" / scenario.name
    run = Run(scenario, work.resolve(), args.codex)
    if not args.source_only:
        try:
            run.prepare()
            status, wall = run.run_codex()
        finally:
            run.stop_mock()
        events = [event for event, _, _ in EVENTS]
        facts = {"status": status, "wall": wall, "version": version, "events": events}
        (run.work / "run.json").write_text(json.dumps(facts), encoding="utf-8")
        write_fixture(run, out)
        print(
            f"{scenario.name}: exit {status}, wall {wall:.2f} s, fixture in {out}", file=sys.stderr
        )
    write_source(run, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
