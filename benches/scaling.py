"""scaling.py: how replay time and memory grow with the length of a session.

Generates sessions with ``synth`` (10 to 10,000 turns; one turn with 10 to 10,000 parallel tool
calls), replays each with the release binary (``codex-otel replay … --spans-out``), and reports
per size: wall and CPU seconds, peak resident memory of the replay, rollout MB, MB/s per CPU
second, and the growth exponent between consecutive sizes (``log10(t2/t1) / log10(n2/n1)``:
1.0 is linear, 2.0 quadratic). The turn sizes run again with ``CODEX_OTEL_FULL_HISTORY=true``.
A live daemon that retires an idle session rebuilds it from the journal with the same code, so
the replay time at a size is also what a rebuild of a session that long costs.

Each replay's span count is checked against what the generated session implies (root, turns,
model calls, tool calls); a mismatch fails the benchmark. Targets (exponent <= 1.1, >= 100 MB/s
at 2,000 turns, memory flat in session length) are reported, never enforced. A size whose replay
takes longer than ``budget_s`` ends its series: larger sizes are skipped and said so.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import synth

TURNS = (10, 100, 1000, 2000, 10000)
PARALLEL = (10, 100, 1000, 10000)
TARGET_EXPONENT = 1.1
TARGET_MB_S = 100.0

# Runs one command and prints its wall seconds, CPU seconds and peak RSS (KiB) as JSON: the
# children's rusage of a fresh interpreter is the replay's alone.
MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": done.returncode, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "rss_kb": usage.ru_maxrss, "stderr": done.stderr.decode()[-2000:]}))
"""


def replay(binary: Path, session: synth.Session, out: Path, env: dict[str, str]) -> dict[str, Any]:
    """Replays ``session``; its measures and span count."""
    spans = out / "spans.ndjson"
    argv = [
        sys.executable, "-c", MEASURE, str(binary), "replay", str(session.hooks),
        "--transcripts", str(session.rollouts), "--spans-out", str(spans),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"replay failed: {result['stderr']}")
    count = sum(1 for _ in spans.open())
    if count != session.expected_spans():
        raise RuntimeError(f"{count} spans, expected {session.expected_spans()} ({session})")
    spans.unlink()
    mb = session.rollout_bytes / 1e6
    return {
        "rollout_mb": round(mb, 2),
        "wall_s": round(result["wall"], 4),
        "cpu_s": round(result["cpu"], 4),
        "peak_rss_mb": round(result["rss_kb"] / 1024, 1),
        "mb_per_cpu_s": round(mb / max(result["cpu"], 1e-6), 1),
        "spans": count,
    }


def series(
    binary: Path,
    scratch: Path,
    name: str,
    sizes: tuple[int, ...],
    make: Any,
    env: dict[str, str],
    budget_s: float,
) -> dict[str, Any]:
    """Replays one generated session per size, stopping after a size over the budget."""
    rows, skipped = [], []
    for size in sizes:
        if rows and rows[-1]["wall_s"] > budget_s:
            skipped.append(size)
            continue
        print(f"   {name} {size} ...", file=sys.stderr, flush=True)
        out = scratch / f"{name}-{size}"
        session = make(size, out)
        row = {"size": size, **replay(binary, session, out, env)}
        if rows:
            prev = rows[-1]
            ratio = row["cpu_s"] / max(prev["cpu_s"], 1e-6)
            row["exponent"] = round(math.log10(ratio) / math.log10(size / prev["size"]), 2)
        rows.append(row)
        for path in sorted(out.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    return {"name": name, "rows": rows, "skipped": skipped}


def run(binary: Path, scratch: Path, budget_s: float = 60.0) -> dict[str, Any]:
    """Every series; the summary."""
    scratch.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_OTEL_", "OTEL_"))}
    env["CODEX_OTEL_HOME"] = str(scratch / "state")
    full = {**env, "CODEX_OTEL_FULL_HISTORY": "true"}
    all_series = [
        series(binary, scratch, "turns", TURNS, synth.long_session, env, budget_s),
        series(binary, scratch, "turns, full history", TURNS, synth.long_session, full, budget_s),
        series(binary, scratch, "parallel tool calls", PARALLEL, synth.parallel_calls, env, budget_s),
    ]
    at_2000 = next(r for r in all_series[0]["rows"] if r["size"] == 2000)
    worst = max(
        (r["exponent"] for s in all_series for r in s["rows"][1:] if r["size"] >= 1000),
        default=0.0,
    )
    return {
        "series": all_series,
        "mb_per_cpu_s_at_2000_turns": at_2000["mb_per_cpu_s"],
        "worst_exponent_from_1000": worst,
        "targets": {"exponent": TARGET_EXPONENT, "mb_per_cpu_s": TARGET_MB_S},
        "targets_met": worst <= TARGET_EXPONENT and at_2000["mb_per_cpu_s"] >= TARGET_MB_S,
    }


def table(result: dict[str, Any]) -> list[str]:
    """The report's lines."""
    lines = ["", "4. Scaling: codex-otel replay of generated long sessions (release build)"]
    header = f"   {'size':>7}{'rollout MB':>12}{'wall s':>9}{'cpu s':>9}{'MB/cpu-s':>10}"
    header += f"{'peak MB':>9}{'exponent':>10}"
    for s in result["series"]:
        lines += [f"   {s['name']}", header]
        for r in s["rows"]:
            exp = f"{r['exponent']:.2f}" if "exponent" in r else ""
            lines.append(
                f"   {r['size']:>7}{r['rollout_mb']:>12.2f}{r['wall_s']:>9.3f}{r['cpu_s']:>9.3f}"
                f"{r['mb_per_cpu_s']:>10.1f}{r['peak_rss_mb']:>9.1f}{exp:>10}"
            )
        if s["skipped"]:
            lines.append(f"   skipped (a smaller size was over the time budget): {s['skipped']}")
    verdict = "MET" if result["targets_met"] else "MISSED"
    lines.append(
        f"   at 2,000 turns {result['mb_per_cpu_s_at_2000_turns']:.1f} MB per CPU second "
        f"(target >= {TARGET_MB_S:g}); worst exponent from 1,000 up "
        f"{result['worst_exponent_from_1000']:.2f} (target <= {TARGET_EXPONENT}): {verdict}"
    )
    return lines
