"""import_set.py: a generated Codex home for measuring ``codex-otel import``.

Contract: ``python3 benches/import_set.py <codex home> [--copies N] [--turns T]`` writes N copies
of every recording under tests/fixtures/codex-*/ (rollouts only, every UUID replaced by a fresh
one per copy, so each copy is its own session), each root rollout's turns repeated T times (with
fresh turn, call and response ids) to make sessions of realistic size; one copy in three is
zstd-compressed (``zstd`` CLI), one in three goes to ``archived_sessions``. Prints the session
count and bytes. Then run, e.g.:

    CODEX_OTEL_HOME=$(mktemp -d) target/demo/codex-otel import --codex-home <codex home>

(no destination configured: the local store), whose last line gives sessions/s and MB/s.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ID_RE = re.compile(r'"((?:resp|call|msg|rs|fc|ws|ig)_[A-Za-z0-9_-]+)"')


def fresh(text: str, ids: dict[str, str]) -> str:
    """Replaces every UUID and response/call id with a fresh one, consistently via ``ids``."""
    text = UUID_RE.sub(lambda m: ids.setdefault(m.group(0), str(uuid.uuid4())), text)
    return ID_RE.sub(lambda m: '"' + ids.setdefault(m.group(1), m.group(1).split("_")[0] + "_" + uuid.uuid4().hex) + '"', text)


def repeat_turns(lines: list[str], turns: int) -> list[str]:
    """The session_meta line, then the rest ``turns`` times with fresh turn/call/response ids."""
    head, body = lines[:1], lines[1:]
    out = list(head)
    for _ in range(turns):
        ids: dict[str, str] = {}
        keep = {UUID_RE.search(head[0]).group(0)} if head and UUID_RE.search(head[0]) else set()
        for uid in keep:
            ids[uid] = uid
        out.extend(fresh(line, ids) for line in body)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--turns", type=int, default=5)
    args = parser.parse_args()
    recordings = sorted(REPO.glob("tests/fixtures/codex-*/*/rollouts"))
    sessions, total = 0, 0
    for copy in range(args.copies):
        for rollouts in recordings:
            ids: dict[str, str] = {}
            for file in sorted(rollouts.rglob("rollout-*.jsonl")):
                lines = file.read_text().splitlines()
                is_child = '"parent_thread_id"' in lines[0]
                if not is_child:
                    lines = repeat_turns(lines, args.turns)
                text = fresh("\n".join(lines) + "\n", ids)
                name = fresh(file.name, ids)
                if copy % 3 == 2:
                    target = args.home / "archived_sessions" / name
                else:
                    target = args.home / "sessions" / file.relative_to(rollouts).parent / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
                if copy % 3 == 1:
                    subprocess.run(["zstd", "-q", "--rm", "-f", str(target)], check=True)
                    target = target.with_name(target.name + ".zst")
                total += target.stat().st_size
            sessions += 1
    print(json.dumps({"sessions": sessions, "bytes": total}))


if __name__ == "__main__":
    main()
