"""source_md.py: writes a fixture's SOURCE.md from the captured files, in the shared style.

Contract: ``write_source_md(out, scenario, argv, status, wall, version, stderr, events)`` reads
``hooks.ndjson``, ``model-calls.json`` and ``rollouts/`` from ``out`` (already path-rewritten)
and writes ``out/SOURCE.md``: what happened (command, ids, the scenario's hand-written notes
for that Codex version, hook sequence, rollout summary, model calls) and how it was produced
(``events`` = how many hook events had a capture handler).
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

from scenarios import Scenario, notes_for

# Record kinds worth naming in the rollout summary (top-level type, or event_msg payload type).
NOTABLE = (
    "token_usage_record",
    "token_count",
    "user_message",
    "context_compacted",
    "compacted",
    "turn_aborted",
    "task_started",
    "task_complete",
    "function_call",
    "function_call_output",
    "turn_context",
)


def event_label(p: dict[str, Any]) -> str:
    """A short label for one hook payload, e.g. ``PreToolUse(Bash)``."""
    name = p.get("hook_event_name", "?")
    detail = [
        f"`{k}:{json.dumps(p[k])}`"
        for k in ("source", "tool_name", "trigger", "stop_hook_active", "reason", "kind", "status")
        if k in p and not (name.startswith("Subagent") and k == "stop_hook_active")
    ]
    child = " [child]" if "agent_id" in p and not name.startswith("Subagent") else ""
    return f"{name}{child}" + (f" ({', '.join(detail)})" if detail else "")


def record_kind(rec: dict[str, Any]) -> str:
    kind = rec.get("type", "?")
    payload = rec.get("payload", {})
    return payload.get("type", kind) if kind in ("event_msg", "response_item") else kind


def rollout_summary(out: Path) -> list[str]:
    """One bullet per rollout file: name, line count, notable record counts."""
    lines = []
    for path in sorted((out / "rollouts").rglob("*.jsonl")):
        records = [
            json.loads(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        counts = Counter(record_kind(r) for r in records)
        meta = records[0].get("payload", {}) if records else {}
        role = "child" if meta.get("parent_thread_id") else "root"
        parts = ", ".join(f"{counts[k]} `{k}`" for k in NOTABLE if counts[k])
        name = path.relative_to(out / "rollouts")
        lines.append(
            f"- `{name}` ({role} thread `{meta.get('id')}`): {len(records)} lines; {parts}."
        )
    return lines


def root_thread(out: Path) -> str:
    """The id of the first rollout file's thread (the session, when no hook names it)."""
    for path in sorted((out / "rollouts").rglob("*.jsonl")):
        with path.open(encoding="utf-8") as f:
            return json.loads(f.readline())["payload"]["id"]
    return "?"


def call_line(c: dict[str, Any]) -> str:
    extra = [
        f"`{k}: {json.dumps(c[k])}`"
        for k in ("thread_source", "request_kind")
        if c.get(k) not in ("user", "turn")
    ]
    nums = " / ".join(
        str(c[k]) for k in ("input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens")
    )
    details = ", ".join([nums, *extra])
    return f"- `{c['response_id']}` ({details}), thread `{c['thread_id']}`, turn `{c['turn_id']}`"


def what_happened(
    out: Path, scenario: Scenario, argv: list[str], stderr: str, version: str
) -> list[str]:
    hooks = [
        json.loads(line)
        for line in (out / "hooks.ndjson").read_text(encoding="utf-8").splitlines()
        if line
    ]
    calls = json.loads((out / "model-calls.json").read_text(encoding="utf-8"))
    session = next((h["session_id"] for h in hooks), None) or root_thread(out)
    turns = list(
        dict.fromkeys(h["turn_id"] for h in hooks if "turn_id" in h and "agent_id" not in h)
    )
    cmd = shlex.join(["codex", *argv[1:]])
    body = [f"`{cmd}` in a fresh `CODEX_HOME` and an empty workspace.", ""]
    turn_list = ", ".join(f"`{t}`" for t in turns) or "none"
    body.append(f"- Session (root thread) id `{session}`; root turn(s) {turn_list}.")
    tokens = re.search(r"^tokens used\n([\d,]+)$", stderr, re.MULTILINE)
    body.append(
        f"- Codex printed `tokens used` {tokens.group(1)} on stderr."
        if tokens
        else "- Codex printed no `tokens used` line."
    )
    notes = notes_for(scenario, version)
    if notes:
        body += ["", notes.strip()]
    events = " → ".join(event_label(h) for h in hooks) or "none ran"
    body += ["", f"Hook events ({len(hooks)}): {events}."]
    body += ["", "Rollouts:", *rollout_summary(out)]
    if calls:
        heading = f"Model calls ({len(calls)}, input / cached / output / reasoning):"
        body += ["", heading, *map(call_line, calls)]
    else:
        body += ["", "Model calls: none completed."]
    return body


def produced(scenario: Scenario, version: str, events: int) -> list[str]:
    extra = f" {scenario.extra_hooks_doc}" if scenario.extra_hooks_doc else ""
    interrupt = {
        "": "",
        "hang-request": (
            " Once the mock had logged the HANG request, `capture.py` sent SIGINT to the `codex`"
            " process."
        ),
        "tool-started": (
            " Once the SLEEP command had created `tool-started` in the workspace, `capture.py` sent"
            " SIGINT to the `codex` process."
        ),
    }[scenario.interrupt_after]
    skills = "".join(
        f"\n- `$CODEX_HOME/skills/{skill}/` was a copy of `tests/fixtures/skills/{skill}/`."
        for skill in scenario.skills
    )
    number = version.removeprefix("codex-cli ")
    return f"""The real Codex CLI **{number}** (`{version}`, npm package `@openai/codex`, native
x86_64 Linux musl binary, installed by `.ci/install-codex.sh`) ran offline against
`tests/codex/mock_responses.py`, a scripted mock of the OpenAI Responses API on 127.0.0.1
(see section 10 of the shared `codex-hooks.md`). Command:
`python3 tests/codex/capture.py {scenario.name}`.

- A fresh `CODEX_HOME` held a `config.toml` with `model = "mock-model"`, a custom provider
  `mock` (`base_url` = the mock's `/v1`, `wire_api = "responses"`, an `env_key` whose value is
  sent as the bearer token, `request_max_retries = 0`, `stream_max_retries = 0`,
  `stream_idle_timeout_ms = 5000`), `approval_policy = "never"`,
  `sandbox_mode = "danger-full-access"`, `check_for_update_on_startup = false`,
  `chatgpt_base_url` = the mock's `/backend-api` and `[analytics] enabled = false`. No `[otel]`
  section.
- `[hooks]` in that `config.toml` declared one command handler for each of the {events} events
  (matcher `"*"` on the tool events; timeout 30 s, 3 s for SessionEnd and Interrupt). Each
  handler ran `cat > <dir>/$(date +%s%N)-$$.json`, so every payload got its own file named by
  the time its handler started.{extra}{skills}
- Codex ran with the workspace as its working directory, stdin from the null device, and the
  flags shown above.{interrupt}
- The mock chose each reply from the request's last user-typed message and the items after it,
  and reported deterministic usage: input = 1200 + 37 × (number of input items), cached = half
  of input when there are more than 3 items (input − 200 on the closing message after a shell
  command's output), output 42, reasoning 16, total = input + output; the COMPACT script's
  tool-call reply reports 250,000 input tokens once per `prompt_cache_key`.""".splitlines()


FILES = """\
- `hooks.ndjson`: the hook stdin payloads in the order the handlers started, one JSON object per
  line. Each line is byte for byte what Codex wrote to the hook's stdin (compact JSON, keys in
  Codex's order, no trailing newline on the wire), after the path rewrite below, plus `\\n`.
- `rollouts/`: the content of `$CODEX_HOME/sessions/` for this scenario's threads, file names
  unchanged. A `transcript_path` of `/home/dev/.codex/sessions/<rest>` is the file
  `rollouts/<rest>` here.
- `model-calls.json`: ground truth per model call, as the mock returned it in
  `response.completed`: `response_id`, `model`, `input_tokens`, `cached_tokens`
  (`usage.input_tokens_details.cached_tokens`), `output_tokens`, `reasoning_tokens`
  (`usage.output_tokens_details.reasoning_tokens`) and `total_tokens`, plus `thread_id`,
  `turn_id`, `thread_source` and `request_kind` (from the request's `x-codex-turn-metadata`) and
  `invocation` (which `codex` command made the call). Calls are in the order the mock completed
  them. In the rollout the same numbers appear in `token_usage_record` as `input_tokens`,
  `cached_input_tokens`, `output_tokens`, `reasoning_output_tokens`, `total_tokens`;
  `cache_write_input_tokens` is 0. A reply that was never completed (an interrupted stream) is
  not listed.

## Path rewrite

Absolute paths were rewritten consistently and nothing else was changed: the capture's
`CODEX_HOME` became `/home/dev/.codex`, the workspace became `/home/dev/project`, and any other
path in the scratch directory would have become `/home/dev/tmp`. Ids, timestamps, text and the
rest of the content are as Codex wrote them (Codex's own base instructions and skill texts
included)."""


def write_source_md(
    out: Path,
    scenario: Scenario,
    argv: list[str],
    status: int,
    wall: float,
    version: str,
    stderr: str,
    events: int,
) -> None:
    """Writes out/SOURCE.md for one captured scenario."""
    doc = [
        f"# Fixture `{scenario.name}`: {scenario.title}",
        "",
        f"Codex version: **{version.removeprefix('codex-cli ')}**. "
        f"Exit status {status}, wall time {wall:.2f} s.",
        "",
        "## What happened",
        "",
        *what_happened(out, scenario, argv, stderr, version),
        "",
        "## How it was produced",
        "",
        *produced(scenario, version, events),
        "",
        "## Files",
        "",
        FILES,
        "",
    ]
    (out / "SOURCE.md").write_text("\n".join(doc), encoding="utf-8")
