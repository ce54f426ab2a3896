"""scaling.py: how replay time and memory grow with the length of a session.

Generates sessions with ``synth`` (10 to 10,000 turns; one turn with 10 to 10,000 parallel tool
calls), replays each with the release binary (``codex-otel replay … --spans-out``), and reports
per size: wall and CPU seconds, peak resident memory of the replay, rollout MB, MB per CPU
second, and the growth exponent between consecutive sizes (``log10(t2/t1) / log10(n2/n1)`` on
CPU time: 1.0 is linear, 2.0 quadratic). The turn sizes run again with
``CODEX_OTEL_FULL_HISTORY=true``. A live daemon that retires an idle session rebuilds it from
the journal with the same code, so the replay time at a size is also what a rebuild costs.

Each replay's spans are checked against what the generated session implies: one root, one
``turn`` span per turn, one ``chat`` span per model call, one ``execute_tool`` span per tool
call, and the chat spans' token usage summed equal to the session's; a mismatch fails the
benchmark. Targets (exponent <= 1.1, >= 100 MB per CPU second at 2,000 turns, peak memory flat
in session length) are reported, never enforced.

Today's code must not hang it: a series ends (larger sizes skipped, and said so) once a size
took longer than ``budget_s`` or the next one, extrapolated with the last exponent (at least
1), would; a replay that runs past three budgets is stopped and reported as timed out.

Content truncation: one turn with 10,000 parallel calls whose outputs are 1 KB each. Its
second model call's input is the 10,000 tool results, over 10 MB of JSON in some 10,000
strings, cut to the 32 KiB content cap; the replay's whole CPU time bounds what that cut costs
(it took seconds per 1,000 results when each shortened string re-serialized the value).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import synth

TURNS = (10, 100, 1000, 2000, 10000)
PARALLEL = (10, 100, 1000, 10000)
TRUNCATION_CALLS, TRUNCATION_OUTPUT_BYTES = 10_000, 1000
TARGET_EXPONENT = 1.1
TARGET_MB_S = 100.0
TARGET_MEMORY_GROWTH = 2.0  # peak RSS at the largest size over the smallest's: "flat"

# Runs one command (for at most argv[1] seconds) and prints its wall seconds, CPU seconds and
# peak RSS (KiB) as JSON: the children's rusage of a fresh interpreter is the replay's alone.
MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
try:
    done = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=float(sys.argv[1]))
    rc, err = done.returncode, done.stderr.decode()[-2000:]
except subprocess.TimeoutExpired:
    rc, err = None, "timed out"
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "rss_kb": usage.ru_maxrss, "stderr": err}))
"""

SPAN_KIND_RE = re.compile(r'"name":"(\w+)')
USAGE_RE = re.compile(r'\["gen_ai\.usage\.([a-z_.]+)",(\d+)\]')
USAGE_ATTRS = {
    "input_tokens": "input_tokens",
    "cache_read.input_tokens": "cached_input_tokens",
    "output_tokens": "output_tokens",
    "reasoning.output_tokens": "reasoning_output_tokens",
}


def check_spans(spans: Path, session: synth.Session) -> int:
    """The span count, after checking kinds and summed usage against ``session``."""
    kinds: dict[str, int] = {}
    usage = dict.fromkeys(session.usage, 0)
    with spans.open() as lines:
        for line in lines:
            kind = SPAN_KIND_RE.search(line).group(1)
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind == "chat":
                for attr, value in USAGE_RE.findall(line):
                    usage[USAGE_ATTRS[attr]] += int(value)
    expected = {
        "invoke_agent": 1,
        "turn": session.turns,
        "chat": session.model_calls,
        "execute_tool": session.tool_calls,
    }
    if kinds != expected or usage != session.usage:
        raise RuntimeError(
            f"spans {kinds} with usage {usage}, expected {expected} with {session.usage}"
        )
    return sum(kinds.values())


def replay(
    binary: Path, session: synth.Session, out: Path, env: dict[str, str], timeout_s: float
) -> dict[str, Any]:
    """Replays ``session``; its measures and span count (``timed_out`` past ``timeout_s``)."""
    spans = out / "spans.ndjson"
    argv = [
        sys.executable, "-c", MEASURE, str(timeout_s), str(binary), "replay", str(session.hooks),
        "--transcripts", str(session.rollouts), "--spans-out", str(spans),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
    result = json.loads(done.stdout)
    mb = session.rollout_bytes / 1e6
    row = {
        "rollout_mb": round(mb, 2),
        "wall_s": round(result["wall"], 4),
        "cpu_s": round(result["cpu"], 4),
        "peak_rss_mb": round(result["rss_kb"] / 1024, 1),
        "mb_per_cpu_s": round(mb / max(result["cpu"], 1e-6), 1),
    }
    if result["rc"] is None:
        return {**row, "timed_out": True}
    if result["rc"] != 0:
        raise RuntimeError(f"replay failed: {result['stderr']}")
    return {**row, "spans": check_spans(spans, session)}


def clear(path: Path) -> None:
    for child in sorted(path.rglob("*"), reverse=True):
        child.unlink() if child.is_file() else child.rmdir()


def series(
    binary: Path,
    scratch: Path,
    name: str,
    sizes: tuple[int, ...],
    make: Callable[[int, Path], synth.Session],
    env: dict[str, str],
    budget_s: float,
) -> dict[str, Any]:
    """Replays one generated session per size, until the budget says stop (module docs)."""
    rows: list[dict[str, Any]] = []
    for i, size in enumerate(sizes):
        if rows:
            last = rows[-1]
            growth = max(last.get("exponent", 1.0), 1.0)
            predicted = last["wall_s"] * (size / last["size"]) ** growth
            if last.get("timed_out") or max(last["wall_s"], predicted) > budget_s:
                return {"name": name, "rows": rows, "skipped": list(sizes[i:])}
        print(f"   {name} {size} ...", file=sys.stderr, flush=True)
        out = scratch / f"{name}-{size}".replace(" ", "-").replace(",", "")
        session = make(size, out)
        row = {"size": size, **replay(binary, session, out, env, 3 * budget_s)}
        if rows:
            ratio = row["cpu_s"] / max(rows[-1]["cpu_s"], 1e-6)
            row["exponent"] = round(math.log10(ratio) / math.log10(size / rows[-1]["size"]), 2)
        rows.append(row)
        clear(out)
    return {"name": name, "rows": rows, "skipped": []}


def truncation(binary: Path, scratch: Path, env: dict[str, str], budget_s: float) -> dict[str, Any]:
    """The content-truncation figure (module docs)."""
    out = scratch / "truncation"
    session = synth.parallel_calls(TRUNCATION_CALLS, out, TRUNCATION_OUTPUT_BYTES)
    row = replay(binary, session, out, env, 3 * budget_s)
    clear(out)
    return {"calls": TRUNCATION_CALLS, "output_bytes": TRUNCATION_OUTPUT_BYTES, **row}


def run(binary: Path, scratch: Path, budget_s: float = 60.0) -> dict[str, Any]:
    """Every series and the truncation figure; the summary."""
    scratch.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_OTEL_", "OTEL_"))}
    env["CODEX_OTEL_HOME"] = str(scratch / "state")
    full = {**env, "CODEX_OTEL_FULL_HISTORY": "true"}
    runs = (
        ("turns", TURNS, synth.long_session, env),
        ("turns, full history", TURNS, synth.long_session, full),
        ("parallel tool calls", PARALLEL, synth.parallel_calls, env),
    )
    all_series = [series(binary, scratch, *r, budget_s) for r in runs]
    turns = all_series[0]["rows"]
    at_2000 = next((r["mb_per_cpu_s"] for r in turns if r["size"] == 2000), None)
    worst = max(
        (r["exponent"] for s in all_series for r in s["rows"][1:] if r["size"] >= 1000),
        default=None,
    )
    memory_growth = round(turns[-1]["peak_rss_mb"] / turns[0]["peak_rss_mb"], 1)
    met = {
        "exponent": worst is not None and worst <= TARGET_EXPONENT,
        "mb_per_cpu_s": at_2000 is not None and at_2000 >= TARGET_MB_S,
        "memory_flat": memory_growth <= TARGET_MEMORY_GROWTH,
    }
    return {
        "series": all_series,
        "truncation": truncation(binary, scratch, env, budget_s),
        "budget_s": budget_s,
        "mb_per_cpu_s_at_2000_turns": at_2000,
        "worst_exponent_from_1000": worst,
        "peak_rss_growth_over_turns": memory_growth,
        "targets": {
            "exponent": TARGET_EXPONENT,
            "mb_per_cpu_s": TARGET_MB_S,
            "peak_rss_growth": TARGET_MEMORY_GROWTH,
        },
        "targets_met": met,
    }


def table(result: dict[str, Any]) -> list[str]:
    """The report's lines."""
    lines = ["", "4. Scaling: codex-otel replay of generated long sessions (release build)"]
    header = f"   {'size':>7}{'rollout MB':>12}{'wall s':>9}{'cpu s':>9}{'MB/cpu-s':>10}"
    header += f"{'peak MB':>9}{'exponent':>10}"
    for s in result["series"]:
        lines += [f"   {s['name']}", header]
        for r in s["rows"]:
            exp = "timed out" if r.get("timed_out") else str(r.get("exponent", ""))
            lines.append(
                f"   {r['size']:>7}{r['rollout_mb']:>12.2f}{r['wall_s']:>9.3f}{r['cpu_s']:>9.3f}"
                f"{r['mb_per_cpu_s']:>10.1f}{r['peak_rss_mb']:>9.1f}{exp:>10}"
            )
        if s["skipped"]:
            lines.append(
                f"   skipped {s['skipped']}: the last size took, or the next would take, over "
                f"the {result['budget_s']:g} s budget"
            )
    t = result["truncation"]
    lines.append(
        f"   content truncation: a chat input of {t['calls']:,} tool results of "
        f"{t['output_bytes']:,} B cut to 32 KiB: whole replay {t['cpu_s']:.3f} s CPU "
        f"({t['rollout_mb']:.1f} MB rollout){' TIMED OUT' if t.get('timed_out') else ''}"
    )
    met, targets = result["targets_met"], result["targets"]
    verdict = {k: "MET" if v else "MISSED" for k, v in met.items()}
    lines += [
        f"   at 2,000 turns {result['mb_per_cpu_s_at_2000_turns']} MB per CPU second "
        f"(target >= {targets['mb_per_cpu_s']:g}: {verdict['mb_per_cpu_s']})",
        f"   worst exponent from 1,000 up {result['worst_exponent_from_1000']} "
        f"(target <= {targets['exponent']}: {verdict['exponent']})",
        f"   peak RSS, largest over smallest turn count: {result['peak_rss_growth_over_turns']}x "
        f"(flat: <= {targets['peak_rss_growth']:g}x: {verdict['memory_flat']})",
    ]
    return lines
