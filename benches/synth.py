"""synth.py: long Codex sessions generated from the real ``shell`` recording (Codex 0.169).

The recording's one turn (its hooks from UserPromptSubmit to Stop, its rollout lines from
``task_started`` to ``task_complete``) is the template. A generated session is the recording's
opening (SessionStart, ``session_meta``), ``turns`` copies of the template, and its closing
(SessionEnd). Each copy gets fresh ids: every UUID in the template but the session's is replaced
by a UUID derived from it and the copy's number (``uuid5``, so a size always generates the same
bytes), and every ``call_``/``resp_``/``fc_``/``rs_``/``fco_`` id gets the copy's number as a
suffix. Rollout timestamps move forward two seconds per copy, so they stay in order.

``parallel_calls`` makes instead one turn whose first model call asks for ``calls`` tool calls
at once: the template's ``function_call`` line, its PreToolUse/PostToolUse hooks and its
``item_completed``/``function_call_output`` lines are repeated with fresh call ids.

The generated session is written as ``hooks.ndjson`` plus ``rollouts/…`` under a directory, in
the layout ``codex-otel replay HOOKS --transcripts DIR/rollouts`` reads; ``Session`` says how
many spans and model calls it must give.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHELL = REPO / "tests" / "fixtures" / "codex-0.169" / "shell"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHORT_ID_RE = re.compile(r"(?<![A-Za-z_])(?:call|resp|fc|rs|fco)_[0-9][0-9A-Za-z_]*")
TIMESTAMP_RE = re.compile(r'"timestamp":"([^"]+)"')
SEED = uuid.UUID("6f0c6b9e-3d55-4c1e-9a7e-5b8f0d2c1a40")


@dataclass
class Session:
    """A generated session on disk and what it must give."""

    hooks: Path
    rollouts: Path
    rollout_bytes: int
    turns: int
    model_calls: int
    tool_calls: int

    def expected_spans(self) -> int:
        """Root + one span per turn, model call and tool call."""
        return 1 + self.turns + self.model_calls + self.tool_calls


@dataclass
class Template:
    """The shell recording cut into opening, turn and closing."""

    session_id: str
    rollout_name: str
    hooks_open: list[str]
    hooks_turn: list[str]
    hooks_close: list[str]
    lines_open: list[str]
    lines_turn: list[str]

    @staticmethod
    def load() -> Template:
        hooks = (SHELL / "hooks.ndjson").read_text().splitlines()
        rollout = next((SHELL / "rollouts").rglob("*.jsonl"))
        lines = rollout.read_text().splitlines()
        start = next(i for i, l in enumerate(lines) if '"task_started"' in l)
        end = next(i for i, l in enumerate(lines) if '"task_complete"' in l)
        prompt = next(i for i, h in enumerate(hooks) if "UserPromptSubmit" in h)
        stop = next(i for i, h in enumerate(hooks) if '"Stop"' in h)
        return Template(
            session_id=json.loads(hooks[0])["session_id"],
            rollout_name=str(rollout.relative_to(SHELL / "rollouts")),
            hooks_open=hooks[:prompt],
            hooks_turn=hooks[prompt : stop + 1],
            hooks_close=hooks[stop + 1 :],
            lines_open=lines[:start],
            lines_turn=lines[start : end + 1],
        )


def _copy(text: str, session_id: str, n: int) -> str:
    """``text`` with the ids of copy ``n`` (see the module docs)."""

    def fresh_uuid(m: re.Match[str]) -> str:
        old = m.group(0)
        return old if old == session_id else str(uuid.uuid5(SEED, f"{old}/{n}"))

    text = UUID_RE.sub(fresh_uuid, text)
    return SHORT_ID_RE.sub(lambda m: f"{m.group(0)}_{n}", text)


def _shift(line: str, seconds: int) -> str:
    def later(m: re.Match[str]) -> str:
        at = datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
        at += datetime.timedelta(seconds=seconds)
        return f'"timestamp":"{at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]}Z"'

    return TIMESTAMP_RE.sub(later, line)


def _transcripts(hook_lines: list[str], rollouts: Path, template: Template) -> list[str]:
    """Hook payloads whose transcript_path points into ``rollouts``."""
    target = str(rollouts / template.rollout_name)
    out = []
    for line in hook_lines:
        payload = json.loads(line)
        if "transcript_path" in payload:
            payload["transcript_path"] = target
        out.append(json.dumps(payload))
    return out


def _write(
    out: Path, template: Template, hook_lines: list[str], rollout_lines: list[str]
) -> tuple[Path, Path, int]:
    rollouts = out / "rollouts"
    path = rollouts / template.rollout_name
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join(rollout_lines) + "\n"
    path.write_text(body)
    hooks = out / "hooks.ndjson"
    hooks.write_text("\n".join(_transcripts(hook_lines, rollouts, template)) + "\n")
    return hooks, rollouts, len(body.encode())


def long_session(turns: int, out: Path) -> Session:
    """A session of ``turns`` copies of the shell turn, written under ``out``."""
    t = Template.load()
    hooks = list(t.hooks_open)
    lines = list(t.lines_open)
    for n in range(turns):
        hooks += [_copy(h, t.session_id, n) for h in t.hooks_turn]
        lines += [_shift(_copy(l, t.session_id, n), 2 * n) for l in t.lines_turn]
    hooks += t.hooks_close
    hook_path, rollouts, size = _write(out, t, hooks, lines)
    return Session(hook_path, rollouts, size, turns, model_calls=2 * turns, tool_calls=turns)


def parallel_calls(calls: int, out: Path) -> Session:
    """One turn whose first model call makes ``calls`` tool calls at once."""
    t = Template.load()
    call_line = next(l for l in t.lines_turn if '"function_call"' in l)
    result_lines = [
        l
        for l in t.lines_turn
        if '"function_call_output"' in l or '"CommandExecution"' in l
    ]
    tool_hooks = [h for h in t.hooks_turn if "ToolUse" in h]
    lines: list[str] = []
    for line in t.lines_turn:
        if line == call_line:
            lines += [_copy(line, t.session_id, n) for n in range(calls)]
        elif line in result_lines:
            if line == result_lines[0]:
                lines += [_copy(r, t.session_id, n) for n in range(calls) for r in result_lines]
        else:
            lines.append(_copy(line, t.session_id, 0))
    hooks = list(t.hooks_open)
    for h in t.hooks_turn:
        if h in tool_hooks:
            if h == tool_hooks[0]:
                hooks += [_copy(x, t.session_id, n) for n in range(calls) for x in tool_hooks]
        else:
            hooks.append(_copy(h, t.session_id, 0))
    hooks += t.hooks_close
    hook_path, rollouts, size = _write(out, t, hooks, t.lines_open + lines)
    return Session(hook_path, rollouts, size, turns=1, model_calls=2, tool_calls=calls)
