"""synth.py: long Codex sessions generated from the real ``shell`` recording (Codex 0.169).

The recording's one turn (its hooks from UserPromptSubmit to Stop, its rollout lines from
``task_started`` to ``task_complete``) is the template. A generated session is the recording's
opening (SessionStart, ``session_meta``), ``turns`` copies of the template, and its closing
(SessionEnd), with the rollout's ``ordinal`` renumbered in file order.

Copy ``n`` is the template moved ``n * PERIOD_MS`` later, with fresh ids. An id the opening
holds (the session's, its context window's) is kept; every other one is re-minted, the same way
in hooks and rollout, as a function of the id, ``n`` and ``SEED`` (so a size always generates
the same bytes):

- a UUIDv7 keeps its version, variant and counter bits and gets its own time plus the shift as
  its timestamp and 62 seeded-hash bits as the rest: fresh, unique, time-ordered;
- ``call_``/``resp_``/``fc_``/``rs_``/``msg_`` ids (``prefix_NNNN_hex``) become
  ``prefix_<n, 7 digits><NNNN><call, 5 digits>_<hash>``, which sort in time order too;
- the OTel ``trace_id`` becomes 32 hash digits.

``timestamp`` strings and ``*_at`` (seconds) / ``*_at_ms`` numbers move by the shift, so they
increase from copy to copy; the running totals (``thread_token_usage``, ``total_token_usage``)
grow by one template turn's usage per copy.

``parallel_calls`` makes instead one turn whose first model call asks for ``calls`` tool calls
at once: each of the template's ``function_call``, ``item_completed``/``function_call_output``
lines and PreToolUse/PostToolUse hooks is repeated in place, once per call, the ids only they
hold (the call's) re-minted per call, the turn's ids once.

The session is written as ``hooks.ndjson`` plus ``rollouts/…`` under a directory, the layout
``codex-otel replay HOOKS --transcripts DIR/rollouts`` reads; ``Session`` says how many spans,
model calls and tokens it must give. ``python3 benches/synth.py turns|parallel N DIR`` writes
one and prints its ``Session`` as JSON (used by ``tests/it/synth_replay.rs``).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHELL = REPO / "tests" / "fixtures" / "codex-0.169" / "shell"
SEED = "codex-otel synth 1"
PERIOD_MS = 2000
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHORT_ID_RE = re.compile(r"\b(call|resp|fc|rs|msg)_(\d{4})_[0-9a-f]{8}\b")
TRACE_ID_RE = re.compile(r'"trace_id":"([0-9a-f]{32})"')
TIMESTAMP_RE = re.compile(r'"timestamp":"([^"]+)Z"')
EPOCH_RE = re.compile(r'"(\w+_at|\w+_at_ms)":(\d+)')
ORDINAL_RE = re.compile(r'"ordinal":\d+')
USAGE_KEYS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")


def _ids(lines: list[str]) -> set[str]:
    text = "\n".join(lines)
    return {m.group(0) for r in (UUID_RE, SHORT_ID_RE, TRACE_ID_RE) for m in r.finditer(text)}


def _hash(*parts: object) -> int:
    digest = hashlib.sha256("/".join(map(str, (SEED, *parts))).encode()).digest()
    return int.from_bytes(digest[:16], "big")


@dataclass(frozen=True)
class Minter:
    """Copy ``n``'s ids and times: ids in ``kept`` stay, ids in ``per_call`` also get ``call``."""

    kept: frozenset[str]
    n: int
    shift_ms: int
    per_call: frozenset[str] = frozenset()
    call: int = 0

    def _key(self, old: str) -> tuple[object, ...]:
        return (old, self.n, self.call) if old in self.per_call else (old, self.n)

    def _uuid(self, m: re.Match[str]) -> str:
        old = m.group(0)
        if old in self.kept:
            return old
        value = int(old.replace("-", ""), 16)
        ms = (value >> 80) + self.shift_ms
        low = (value & ((1 << 80) - 1)) >> 62 << 62 | _hash(*self._key(old)) >> 66
        hexed = f"{ms << 80 | low:032x}"
        return "-".join((hexed[:8], hexed[8:12], hexed[12:16], hexed[16:20], hexed[20:]))

    def _short(self, m: re.Match[str]) -> str:
        old = m.group(0)
        if old in self.kept:
            return old
        sequence = f"{self.n:07d}{m.group(2)}{self.call:05d}"
        return f"{m.group(1)}_{sequence}_{_hash(*self._key(old)) >> 96:08x}"

    def _trace(self, m: re.Match[str]) -> str:
        return f'"trace_id":"{_hash(*self._key(m.group(1))):032x}"'

    def _timestamp(self, m: re.Match[str]) -> str:
        at = datetime.datetime.fromisoformat(m.group(1)) + datetime.timedelta(
            milliseconds=self.shift_ms
        )
        return f'"timestamp":"{at.isoformat(timespec="milliseconds")}Z"'

    def _epoch(self, m: re.Match[str]) -> str:
        shift = self.shift_ms if m.group(1).endswith("_ms") else self.shift_ms // 1000
        return f'"{m.group(1)}":{int(m.group(2)) + shift}'

    def copy(self, line: str) -> str:
        """``line`` with this copy's ids and times."""
        line = UUID_RE.sub(self._uuid, line)
        line = SHORT_ID_RE.sub(self._short, line)
        line = TRACE_ID_RE.sub(self._trace, line)
        if self.shift_ms:
            line = TIMESTAMP_RE.sub(self._timestamp, line)
            line = EPOCH_RE.sub(self._epoch, line)
        return line


def _add_usage(line: str, extra: dict[str, int]) -> str:
    """A ``token_usage_record``/``token_count`` line whose running totals include ``extra``."""
    record = json.loads(line)
    payload = record["payload"]
    totals = payload.get("thread_token_usage") or (payload.get("info") or {}).get(
        "total_token_usage"
    )
    if not totals:
        return line
    for key, value in extra.items():
        totals[key] += value
    totals["total_tokens"] = totals["input_tokens"] + totals["output_tokens"]
    return json.dumps(record, separators=(",", ":"))


@dataclass
class Session:
    """A generated session on disk and what it must give."""

    hooks: Path
    rollouts: Path
    rollout_bytes: int
    turns: int
    model_calls: int
    tool_calls: int
    usage: dict[str, int]

    def expected_spans(self) -> int:
        """Root + one span per turn, model call and tool call."""
        return 1 + self.turns + self.model_calls + self.tool_calls


@dataclass
class Template:
    """The shell recording cut into opening, turn and closing."""

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
            rollout_name=str(rollout.relative_to(SHELL / "rollouts")),
            hooks_open=hooks[:prompt],
            hooks_turn=hooks[prompt : stop + 1],
            hooks_close=hooks[stop + 1 :],
            lines_open=lines[:start],
            lines_turn=lines[start : end + 1],
        )

    def kept(self) -> frozenset[str]:
        """The session-wide ids: those the opening holds."""
        return frozenset(_ids(self.hooks_open + self.lines_open))

    def records(self) -> list[dict[str, int]]:
        """The usage of each model call in the turn."""
        found = [json.loads(l)["payload"] for l in self.lines_turn if "token_usage_record" in l]
        return [{k: p["usage"][k] for k in USAGE_KEYS} for p in found]


def _sum(usages: list[dict[str, int]], times: int = 1) -> dict[str, int]:
    return {k: times * sum(u[k] for u in usages) for k in USAGE_KEYS}


def _write(
    out: Path, t: Template, hook_lines: list[str], turn_lines: list[str]
) -> tuple[Path, Path, int]:
    rollouts = out / "rollouts"
    path = rollouts / t.rollout_name
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = t.lines_open + turn_lines
    body = "".join(ORDINAL_RE.sub(f'"ordinal":{i}', l, count=1) + "\n" for i, l in enumerate(lines))
    path.write_text(body)
    hooks = out / "hooks.ndjson"
    with hooks.open("w") as f:
        for line in hook_lines:
            payload = json.loads(line)
            if "transcript_path" in payload:
                payload["transcript_path"] = str(path)
            f.write(json.dumps(payload) + "\n")
    return hooks, rollouts, len(body.encode())


def long_session(turns: int, out: Path) -> Session:
    """A session of ``turns`` copies of the shell turn, written under ``out``."""
    t = Template.load()
    kept, per_turn = t.kept(), _sum(t.records())
    hooks, lines = list(t.hooks_open), []
    for n in range(turns):
        mint = Minter(kept, n, n * PERIOD_MS)
        hooks += [mint.copy(h) for h in t.hooks_turn]
        for line in map(mint.copy, t.lines_turn):
            running_total = n and "_token_usage" in line
            lines.append(_add_usage(line, _sum([per_turn], n)) if running_total else line)
    hooks += t.hooks_close
    hook_path, rollouts, size = _write(out, t, hooks, lines)
    usage = _sum(t.records(), turns)
    return Session(hook_path, rollouts, size, turns, 2 * turns, turns, usage)


def parallel_calls(calls: int, out: Path, output_bytes: int = 0) -> Session:
    """One turn whose first model call makes ``calls`` tool calls at once, each printing
    ``output_bytes`` more than the recording's ``hello``."""
    t = Template.load()
    marks = ('"function_call"', '"function_call_output"', '"CommandExecution"', "ToolUse")
    padded = r"hello\n" + "." * output_bytes
    everything = t.lines_turn + t.hooks_turn
    call_part = {l: l.replace(r"hello\n", padded) for l in everything if any(m in l for m in marks)}
    rest = [l for l in everything if l not in call_part]
    turn = Minter(t.kept(), 0, 0, frozenset(_ids(list(call_part)) - _ids(rest)))
    mints = [dataclasses.replace(turn, call=c) for c in range(calls)]

    def repeated(template: list[str]) -> list[str]:
        """``template`` with each line of the call repeated in place, once per call."""
        out = []
        for line in template:
            if line in call_part:
                out += [m.copy(call_part[line]) for m in mints]
            else:
                out.append(turn.copy(line))
        return out

    lines = repeated(t.lines_turn)
    hooks = t.hooks_open + repeated(t.hooks_turn) + t.hooks_close
    hook_path, rollouts, size = _write(out, t, hooks, lines)
    return Session(hook_path, rollouts, size, 1, 2, calls, _sum(t.records()))


if __name__ == "__main__":
    kind, size, where = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    made = {"turns": long_session, "parallel": parallel_calls}[kind](size, where)
    print(json.dumps({**dataclasses.asdict(made), "hooks": str(made.hooks),
                      "rollouts": str(made.rollouts), "expected_spans": made.expected_spans()}))
