"""sessions.py: real recorded Codex sessions, copied with fresh ids and fed as Codex would.

Contract:

- ``SessionCopy.make(fixture, sessions_dir, workspace)``: the recorded session in
  ``tests/fixtures/codex-0.169/<fixture>/`` with every UUID replaced by a fresh one (session,
  thread and turn ids), ``transcript_path`` pointing into ``sessions_dir`` and ``cwd`` set to
  ``workspace``. A fixture that continues another one (``resume`` continues ``shell``, see
  ``CONTINUES``) gets the earlier run's hook events first, as the journal of a session traced
  since its first run holds them. Nothing is written to disk until ``write_before(k)``.
- Interleaving: the rollout files are merged in timestamp order and each hook, in order, runs
  as soon as the records that precede it in Codex are written (``may_run``): a hook naming a
  transcript waits for that file to begin, a tool hook for its tool call, UserPromptSubmit for
  its turn to start, Stop and Interrupt for the record that ends their turn, SessionEnd for the
  end of the run. No hook comes after a record that depends on it (a tool's output, a turn's
  end), so codex-otel must trace the copy exactly as it replays the fixture.
- ``check_store(state, copies)``: raises RuntimeError unless, for every copy, the local store
  under ``state`` holds a trace with the same shape as the fixture's ``expected-spans.json``
  (the multiset of root-to-span name paths): a benchmark's events were really traced, not
  dropped quickly.
"""

from __future__ import annotations

import heapq
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import REPO

FIXTURES = REPO / "tests" / "fixtures" / "codex-0.169"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CONTINUES = {"resume": "shell"}
TURN_ENDS = ("task_complete", "turn_aborted")

RolloutLine = tuple[Path, bytes]


def scenarios() -> list[str]:
    """Every recorded scenario (a fixture directory with a hooks.ndjson), sorted."""
    return sorted(p.name for p in FIXTURES.iterdir() if (p / "hooks.ndjson").exists())


@dataclass
class SessionCopy:
    """A recorded session with fresh ids, ready to be fed (see the module docs)."""

    fixture: str
    session_id: str
    payloads: list[bytes]
    expected: Counter[str]
    before_hook: list[list[RolloutLine]] = field(default_factory=list)

    @staticmethod
    def make(fixture: str, sessions_dir: Path, workspace: Path) -> SessionCopy:
        """Copies ``fixture`` with fresh UUIDs (nothing is written to disk yet)."""
        source = FIXTURES / fixture
        fresh: dict[str, str] = {}

        def rewrite(text: str) -> str:
            return UUID_RE.sub(lambda m: fresh.setdefault(m.group(0), str(uuid.uuid4())), text)

        hook_files = [FIXTURES / CONTINUES[fixture]] if fixture in CONTINUES else []
        payloads = []
        for hooks in [*hook_files, source]:
            for line in (hooks / "hooks.ndjson").read_text().splitlines():
                if line.strip():
                    payloads.append(payload(json.loads(rewrite(line)), sessions_dir, workspace))
        files: list[list[RolloutLine]] = []
        for path in sorted((source / "rollouts").rglob("*.jsonl")):
            target = sessions_dir / rewrite(str(path.relative_to(source / "rollouts")))
            lines = rewrite(path.read_text()).encode().splitlines(keepends=True)
            files.append([(target, line) for line in lines if line.strip()])
        session_id = json.loads(payloads[0])["session_id"]
        expected = golden_paths(json.loads((source / "expected-spans.json").read_text()))
        return SessionCopy(fixture, session_id, payloads, expected, interleave(payloads, files))

    def rollout_bytes(self) -> int:
        """The total size of the session's rollout files."""
        return sum(len(line) for lines in self.before_hook for _, line in lines)

    def write_before(self, k: int) -> None:
        """Appends the rollout lines Codex writes before hook ``k`` runs."""
        for path, line in self.before_hook[k]:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as f:
                f.write(line)


def payload(event: dict[str, Any], sessions_dir: Path, workspace: Path) -> bytes:
    """A hook payload with its transcript moved into ``sessions_dir`` and cwd ``workspace``."""
    recorded = event.get("transcript_path")
    if isinstance(recorded, str) and "/sessions/" in recorded:
        event["transcript_path"] = str(sessions_dir / recorded.split("/sessions/", 1)[1])
    event["cwd"] = str(workspace)
    return json.dumps(event, separators=(",", ":")).encode()


@dataclass
class Facts:
    """What a prefix of the rollout lines established."""

    files: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    started: set[str] = field(default_factory=set)
    ended: set[str] = field(default_factory=set)

    def add(self, record: dict[str, Any], path: Path) -> None:
        """Adds one written record."""
        body = record.get("payload") or {}
        self.files.add(str(path))
        if record.get("type") == "response_item" and "call_id" in body:
            self.calls.add(body["call_id"])
        if record.get("type") == "event_msg" and body.get("type") == "task_started":
            self.started.add(str(body.get("turn_id")))
        if record.get("type") == "event_msg" and body.get("type") in TURN_ENDS:
            self.ended.add(str(body.get("turn_id")))


def interleave(payloads: list[bytes], files: list[list[RolloutLine]]) -> list[list[RolloutLine]]:
    """For each hook, the rollout lines written before it (see the module docs)."""
    timed = [[(json.loads(line)["timestamp"], path, line) for path, line in f] for f in files]
    lines = [(path, line) for _, path, line in heapq.merge(*timed, key=lambda t: t[0])]
    records = [json.loads(line) for _, line in lines]
    known, seen = Facts(), Facts()
    for record, (path, _) in zip(records, lines):
        known.add(record, path)
    hooks = [json.loads(p) for p in payloads]
    before: list[list[RolloutLine]] = [[] for _ in payloads]
    pending, start = 0, 0
    for index in range(len(lines) + 1):
        upcoming = records[index] if index < len(lines) else None
        while pending < len(hooks):
            last = pending == len(hooks) - 1
            if not may_run(hooks[pending], last, seen, known, upcoming):
                break
            before[pending], start = lines[start:index], index
            pending += 1
        if upcoming is not None:
            seen.add(upcoming, lines[index][0])
    return before


def may_run(
    hook: dict[str, Any], last: bool, seen: Facts, known: Facts, upcoming: dict[str, Any] | None
) -> bool:
    """True once everything Codex writes before ``hook`` is written (see the module docs);
    ``upcoming`` is the next record, None after the last."""
    if upcoming is None:
        return True
    name = hook.get("hook_event_name")
    if name == "SessionEnd":
        return not last and bool(seen.started) and seen.started <= seen.ended
    transcript = str(hook.get("transcript_path"))
    call, turn = hook.get("tool_use_id"), str(hook.get("turn_id"))
    if transcript in known.files and transcript not in seen.files:
        return False
    if call in known.calls and call not in seen.calls:
        return False
    if name == "UserPromptSubmit" and turn in known.started and turn not in seen.started:
        return False
    if name in ("Stop", "Interrupt"):
        body = upcoming.get("payload") or {}
        return body.get("type") in TURN_ENDS and str(body.get("turn_id")) == turn
    return True


def golden_paths(nodes: list[dict[str, Any]], prefix: str = "") -> Counter[str]:
    """The root-to-span name paths of an ``expected-spans.json`` tree, counted."""
    paths: Counter[str] = Counter()
    for node in nodes:
        path = f"{prefix}/{node['name']}"
        paths[path] += 1
        paths.update(golden_paths(node.get("children", []), path))
    return paths


def stored_paths(path: Path) -> Counter[str]:
    """The root-to-span name paths of one local-store file (OTLP JSON lines, deduplicated by
    span id), counted; a span whose parent is not stored counts as a root."""
    spans: dict[str, tuple[str, str]] = {}
    for line in path.read_text().splitlines():
        for resource in json.loads(line).get("resourceSpans", []):
            for scope in resource.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    spans[span["spanId"]] = (span["name"], span.get("parentSpanId") or "")
    paths: Counter[str] = Counter()
    for span_id in spans:
        names, current = [], span_id
        while current in spans and len(names) <= len(spans):
            name, current = spans[current]
            names.append(name)
        paths["/" + "/".join(reversed(names))] += 1
    return paths


def check_store(state: Path, copies: list[SessionCopy]) -> None:
    """Raises RuntimeError unless every copy's trace has its fixture's shape in the store."""
    wrong = []
    for copy in copies:
        path = state / "spans" / f"{copy.session_id}.jsonl"
        got = stored_paths(path) if path.exists() else Counter()
        if got != copy.expected:
            missing, extra = copy.expected - got, got - copy.expected
            wrong.append(
                f"{copy.fixture} {copy.session_id}: missing {dict(missing)}, "
                f"unexpected {dict(extra)}"
            )
    if wrong:
        raise RuntimeError(
            f"{len(wrong)} of {len(copies)} traces differ from the fixtures: "
            + "; ".join(wrong[:3])
        )
