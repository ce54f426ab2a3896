"""codex_hooks.py: benchmark 1, what the codex-otel hook costs Codex, measured by Codex itself.

Contract: ``run(binary, codex, root, runs)`` builds an isolated Codex sandbox under ``root``
(``home/`` = CODEX_HOME, ``project/``, ``tmp/`` = TMPDIR), starts the scripted Responses mock
(``tests/codex/mock_responses.py``), an in-process OTLP/HTTP-JSON receiver that keeps the
``codex.hooks.command`` spans Codex exports (``[otel] trace_exporter``), and the real
codex-otel daemon on a private state directory. Every one of the 14 hook events gets one
matcher group with two command handlers, our hook and ``cat >/dev/null``, so both run
concurrently for the same event in the same ``codex exec``, as Codex runs them. Our hook is
the slim ``'<dir>/codex-otel-hook'`` beside ``binary`` (``benchlib.hook_binary``), the command
``codex-otel install`` registers when it is installed; the daemon is ``binary``.

Each run is ``codex exec`` of the mock's SHELL script (ten hook calls: SessionStart,
UserPromptSubmit, PreToolUse, PostToolUse, Stop, SessionEnd, and PreModelRequest and
PostModelRequest around each of its two model requests; the two handlers of one call are told
from another call of the same event by their start times). The handlers' order in the group
alternates between runs, and a span's ``hook.display_order`` (lowest = first handler of the
group) says which handler it timed. That mapping is checked first by a calibration run whose
first handler sleeps 100 ms. One discarded warm-up run precedes the measured ones. After each
run the receiver is polled until exactly two spans per event have arrived; at the end the
local store must hold one trace per run (warm-up included), so our hook really worked.

Returns a JSON-ready dict: per-handler statistics of the span durations (ms), the ratio of
ours to cat at p50 and p90, the paired difference (ours - cat for the same event in the same
run), per-event medians and the ``codex exec`` wall times.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchlib import REPO, Daemon, Stats, clean_env, hook_binary, poll

HOOK_EVENTS = (
    ("SessionStart", False),
    ("UserPromptSubmit", False),
    ("PreToolUse", True),
    ("PermissionRequest", True),
    ("PostToolUse", True),
    ("PreCompact", False),
    ("PostCompact", False),
    ("SubagentStart", False),
    ("SubagentStop", False),
    ("Stop", False),
    ("Interrupt", False),
    ("SessionEnd", False),
    ("PreModelRequest", False),
    ("PostModelRequest", False),
)
# How many times a SHELL run fires each event.
SHELL_EVENTS = {
    "SessionStart": 1,
    "UserPromptSubmit": 1,
    "PreModelRequest": 2,
    "PostModelRequest": 2,
    "PreToolUse": 1,
    "PostToolUse": 1,
    "Stop": 1,
    "SessionEnd": 1,
}
CAT = "cat >/dev/null"
MARKER_SECONDS = 0.1
EXEC_TIMEOUT = 60.0
SPANS_TIMEOUT = 20.0
TARGET_RATIO = 1.2


class Receiver(ThreadingHTTPServer):
    """OTLP/HTTP JSON on 127.0.0.1: keeps (event, display order, duration ms) per hook span."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.lock = threading.Lock()
        self.spans: list[tuple[str, int, float]] = []
        self.errors: list[str] = []

    def take(self) -> list[tuple[str, int, float]]:
        """Removes and returns the spans received so far."""
        with self.lock:
            spans, self.spans = self.spans, []
            return spans

    def count(self) -> int:
        """How many spans are waiting; RuntimeError once a request was rejected."""
        with self.lock:
            if self.errors:
                raise RuntimeError(f"the OTLP receiver rejected requests: {self.errors}")
            return len(self.spans)


class ReceiverHandler(BaseHTTPRequestHandler):
    """Accepts POST /v1/traces with a plain JSON body; anything else is 404."""

    protocol_version = "HTTP/1.1"
    server: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        """Silences the access log."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/v1/traces":
            self.reply(404)
            return
        encoding = self.headers.get("Content-Encoding")
        try:
            if encoding:
                raise ValueError(f"unsupported Content-Encoding {encoding}")
            spans = hook_spans(json.loads(body))
        except ValueError as err:
            with self.server.lock:
                self.server.errors.append(str(err))
            self.reply(400)
            return
        with self.server.lock:
            self.server.spans.extend(spans)
        self.reply(200)

    def reply(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


def hook_spans(request: dict[str, Any]) -> list[tuple[str, int, int, float]]:
    """The ``codex.hooks.command`` spans of one OTLP JSON export request; ValueError when one
    of them did not complete (a hook that failed fast must not pass for a fast hook). Each is
    (event, display order, start ns, duration ms)."""
    found = []
    for resource in request.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                if span.get("name") != "codex.hooks.command":
                    continue
                attrs = {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}
                start = int(span["startTimeUnixNano"])
                ns = int(span["endTimeUnixNano"]) - start
                if attrs.get("hook.command_outcome") != "completed":
                    raise ValueError(f"a hook did not complete: {attrs}")
                event = str(attrs["hook.event_name"])
                found.append((event, int(attrs["hook.display_order"]), start, ns / 1e6))
    return found


class Sandbox:
    """CODEX_HOME, workspace, mock and receiver for the runs (see the module docs)."""

    def __init__(self, codex: Path, root: Path, daemon: Daemon) -> None:
        self.codex, self.root, self.daemon = codex, root, daemon
        for name in ("home", "project", "tmp", "mock"):
            (root / name).mkdir(parents=True, exist_ok=True)
        self.mock = start_mock(root / "mock")
        self.mock_port = int((root / "mock" / "port").read_text())
        self.receiver = Receiver()
        threading.Thread(target=self.receiver.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stops the receiver and the mock (by PID)."""
        self.receiver.shutdown()
        self.receiver.server_close()
        self.mock.terminate()
        self.mock.wait(timeout=10)

    def configure(self, handlers: list[str]) -> None:
        """Writes config.toml: the mock provider, OTel traces to the receiver, the handlers."""
        base = f"http://127.0.0.1:{self.mock_port}"
        traces = f"http://127.0.0.1:{self.receiver.server_address[1]}/v1/traces"
        lines = [
            'model = "mock-model"',
            'model_provider = "mock"',
            'approval_policy = "never"',
            'sandbox_mode = "danger-full-access"',
            "check_for_update_on_startup = false",
            f'chatgpt_base_url = "{base}/backend-api"',
            "[analytics]",
            "enabled = false",
            "[otel]",
            'environment = "bench"',
            f'trace_exporter = {{ otlp-http = {{ endpoint = "{traces}", protocol = "json" }} }}',
            "[model_providers.mock]",
            'name = "mock"',
            f'base_url = "{base}/v1"',
            'wire_api = "responses"',
            'env_key = "MOCK_API_KEY"',
            "request_max_retries = 0",
            "stream_max_retries = 0",
            "stream_idle_timeout_ms = 5000",
        ]
        for event, tool_event in HOOK_EVENTS:
            timeout = 3 if event in ("SessionEnd", "Interrupt") else 30
            lines.append(f"[[hooks.{event}]]")
            if tool_event:
                lines.append('matcher = "*"')
            for command in handlers:
                lines += [
                    f"[[hooks.{event}.hooks]]",
                    'type = "command"',
                    f"command = {json.dumps(command)}",
                    f"timeout = {timeout}",
                ]
        (self.root / "home" / "config.toml").write_text("\n".join(lines) + "\n")

    def exec_shell(self) -> tuple[float, dict[str, list[float]]]:
        """One ``codex exec``; returns its wall time and, per event, the durations by handler
        position (first configured handler first)."""
        env = clean_env(
            CODEX_HOME=str(self.root / "home"),
            TMPDIR=str(self.root / "tmp"),
            MOCK_API_KEY="sk-mock",
            CODEX_OTEL_HOME=str(self.daemon.state),
        )
        argv = [str(self.codex), "exec", "--dangerously-bypass-hook-trust"]
        argv += ["--skip-git-repo-check", "please run echo hello"]
        started = time.perf_counter()
        done = subprocess.run(
            argv,
            cwd=self.root / "project",
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=EXEC_TIMEOUT,
            check=False,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"codex exec failed ({done.returncode}):\n{done.stderr}")
        expected = 2 * sum(SHELL_EVENTS.values())
        receiver = self.receiver
        poll("Codex's hook spans", SPANS_TIMEOUT, lambda: receiver.count() >= expected or None)
        return wall, by_position(receiver.take())


def start_mock(directory: Path) -> subprocess.Popen[bytes]:
    """Starts the Responses mock with its files in ``directory`` and waits for its port."""
    argv = [sys.executable, str(REPO / "tests" / "codex" / "mock_responses.py")]
    for flag, name in (("--port-file", "port"), ("--requests-log", "requests.jsonl")):
        argv += [flag, str(directory / name)]
    argv += ["--model-calls", str(directory / "model-calls.json")]
    with open(directory / "mock.log", "wb") as log:
        mock = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    port = directory / "port"

    def ready() -> bool | None:
        if mock.poll() is not None:
            log_text = (directory / "mock.log").read_text(errors="replace")
            raise RuntimeError(f"the mock exited early ({mock.returncode}):\n{log_text}")
        return True if port.exists() else None

    poll("the mock's port file", 20, ready)
    return mock


def by_position(spans: list[tuple[str, int, int, float]]) -> dict[str, list[list[float]]]:
    """Per event, per call of it (in start order), the two durations ordered by display order;
    raises unless the run fired exactly the SHELL events, each call with two spans."""
    per_event: dict[str, list[tuple[int, int, float]]] = {}
    for event, order, start, duration in spans:
        per_event.setdefault(event, []).append((start, order, duration))
    counts = {e: len(v) for e, v in per_event.items()}
    if counts != {e: 2 * n for e, n in SHELL_EVENTS.items()}:
        raise RuntimeError(f"unexpected hook spans: {sorted(spans)}")
    calls: dict[str, list[list[float]]] = {}
    for event, timed in per_event.items():
        timed.sort()
        pairs = [sorted(timed[i : i + 2], key=lambda t: t[1]) for i in range(0, len(timed), 2)]
        calls[event] = [[d for _, _, d in pair] for pair in pairs]
    return calls


def calibrate(sandbox: Sandbox) -> None:
    """Checks that the lowest display order is the first handler of a group."""
    sandbox.configure([f"sleep {MARKER_SECONDS}; {CAT}", CAT])
    _, durations = sandbox.exec_shell()
    for event, calls in durations.items():
        for first, second in calls:
            if not (first >= MARKER_SECONDS * 1000 > second):
                raise RuntimeError(f"display order does not follow handler order on {event}")


def run(binary: Path, codex: Path, root: Path, runs: int) -> dict[str, Any]:
    """Runs the calibration, a warm-up and ``runs`` measured ``codex exec`` (module docs)."""
    ours = shlex.quote(str(hook_binary(binary)))
    samples: dict[str, list[float]] = {"ours": [], "cat": []}
    per_event: dict[str, dict[str, list[float]]] = {}
    paired: list[float] = []
    walls: list[float] = []
    daemon = Daemon(binary, Path(tempfile.mkdtemp(dir=root, prefix="state-")))
    try:
        sandbox = Sandbox(codex, root, daemon)
        try:
            calibrate(sandbox)
            sandbox.configure([ours, CAT])
            sandbox.exec_shell()
            for index in range(runs):
                names = ["ours", "cat"] if index % 2 == 0 else ["cat", "ours"]
                sandbox.configure([ours, CAT] if index % 2 == 0 else [CAT, ours])
                wall, durations = sandbox.exec_shell()
                walls.append(wall)
                for event, calls in durations.items():
                    for values in calls:
                        timed = dict(zip(names, values, strict=True))
                        for name, value in timed.items():
                            samples[name].append(value)
                            per_event.setdefault(event, {"ours": [], "cat": []})[name].append(value)
                        paired.append(timed["ours"] - timed["cat"])
        finally:
            sandbox.close()
        daemon.flush()
        check_traced(daemon.state, runs + 1)
    finally:
        daemon.stop()
    return summarize(samples, per_event, paired, walls)


def check_traced(state: Path, sessions: int) -> None:
    """Raises RuntimeError unless the local store holds one trace per traced ``codex exec``."""
    stored = len(list((state / "spans").glob("*.jsonl")))
    if stored != sessions:
        raise RuntimeError(f"{stored} traces in the local store, expected {sessions}")


def summarize(
    samples: dict[str, list[float]],
    per_event: dict[str, dict[str, list[float]]],
    paired: list[float],
    walls: list[float],
) -> dict[str, Any]:
    """The JSON summary of benchmark 1 (durations in ms)."""
    ours, cat = Stats.of(samples["ours"]), Stats.of(samples["cat"])
    ratio_p50 = ours.p50 / cat.p50
    return {
        "runs": len(walls),
        "span_ms": {"ours": ours.scaled(1), "cat": cat.scaled(1)},
        "ratio": {"p50": round(ratio_p50, 3), "p90": round(ours.p90 / cat.p90, 3)},
        "target_ratio": TARGET_RATIO,
        "target_met": ratio_p50 <= TARGET_RATIO,
        "paired_ours_minus_cat_ms": Stats.of(paired).scaled(1),
        "per_event_p50_ms": {
            e: {h: round(Stats.of(v[h]).p50, 3) for h in ("ours", "cat")}
            for e, v in sorted(per_event.items())
        },
        "exec_wall_s": Stats.of(walls).scaled(1),
    }
