#!/usr/bin/env python3
"""bench.py: runs codex-otel's benchmarks, prints a table and writes a JSON summary.

Usage (``make bench`` builds the release binary, installs the pinned Codex CLI, then runs)::

    python3 benches/bench.py [--binary target/release/codex-otel] [--codex PATH]
                             [--only codex,hook,daemon,scaling] [--scaling-budget 60]
                             [--out target/bench/summary.json]

Our hook is the slim ``codex-otel-hook`` binary cargo builds beside ``--binary`` (what
``codex-otel install`` and the plugin run); ``--binary`` is the daemon and the CLI.

Benchmarks (each module's docstring is its contract):

1. ``codex_hooks``: the real Codex CLI against the scripted mock, with Codex's own OTel trace
   export on; our hook and ``cat >/dev/null`` registered for the same events in the same runs;
   durations of Codex's ``codex.hooks.command`` spans per handler. Target: ours <= 1.2x cat
   at the median.
2. ``hook_process``: our hook alone, spawn to exit, against ``cat``, a start-up-only variant,
   ``codex-otel hook`` (the same code in the full binary) and ``codex-otel --version``, with
   the real daemon listening.
3. ``daemon_load``: 100 live sessions of real recorded Codex sessions fed through the real
   hook and daemon into the local store, paced and unpaced: events/s, rollout MB/s, time to
   ``flush``, daemon CPU and resident memory.
4. ``scaling``: replay of generated sessions from 10 to 10,000 turns (and one turn with up to
   10,000 parallel tool calls; the turns again in full-history mode), each checked span by
   span kind and token total: time, memory, MB/s and the growth exponent per size, sizes past
   ``--scaling-budget`` seconds skipped; the cost of cutting a 10 MB chat input to the content
   cap. Targets: exponent <= 1.1, >= 100 MB/s per CPU second at 2,000 turns, memory flat.

Speed targets live here, never in timed tests: this script reports, it does not fail on a
missed target. It fails (exit 1) when a benchmark cannot run or its output is incomplete
(a trace missing from the store, a hook span missing from Codex's export).
Scratch files go to a fresh temporary directory, removed afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import codex_hooks
import daemon_load
import hook_process
import scaling
from benchlib import RELEASE_BIN, REPO, hook_binary

BENCHMARKS = ("codex", "hook", "daemon", "scaling")
DEFAULT_CODEX = REPO / ".work" / "codex-0.171.0" / "node_modules" / ".bin" / "codex"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, default=RELEASE_BIN, help="codex-otel to measure")
    parser.add_argument(
        "--codex",
        type=Path,
        default=Path(os.environ.get("CODEX_BIN") or DEFAULT_CODEX),
        help="the Codex CLI (default $CODEX_BIN, else .work/codex-0.171.0's)",
    )
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset")
    parser.add_argument("--codex-runs", type=int, default=40, help="measured codex exec runs")
    parser.add_argument("--hook-runs", type=int, default=500, help="runs per hook variant")
    parser.add_argument("--sessions", type=int, default=100, help="live sessions in the load")
    parser.add_argument(
        "--rates", default="200,0", help="load feed rates in hook events/s (0 = unpaced)"
    )
    parser.add_argument("--workers", type=int, default=4, help="parallel hooks in the load")
    parser.add_argument(
        "--scaling-budget", type=float, default=60.0, help="seconds a scaling size may take"
    )
    parser.add_argument("--out", type=Path, default=REPO / "target" / "bench" / "summary.json")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    args.only = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmarks {sorted(unknown)}; choose from {BENCHMARKS}")
    args.rates = [float(r) for r in args.rates.split(",")]
    args.binary = args.binary.resolve()
    return args


def command_output(argv: list[str]) -> str:
    """The stripped stdout of a short command, or "" when it cannot run."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return ""
    return done.stdout.strip()


def metadata(args: argparse.Namespace) -> dict[str, Any]:
    """Where and on what the figures were measured."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "",
    )
    hook = hook_binary(args.binary)
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": command_output(["git", "-C", str(REPO), "rev-parse", "HEAD"]),
        "binary": str(args.binary),
        "binary_bytes": args.binary.stat().st_size,
        "hook_binary": str(hook),
        "hook_binary_bytes": hook.stat().st_size,
        "codex": command_output([str(args.codex), "--version"]) if "codex" in args.only else "",
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }


def run_all(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Runs the selected benchmarks; returns the summary."""
    summary: dict[str, Any] = {"meta": metadata(args)}
    if "codex" in args.only:
        if not args.codex.exists():
            raise RuntimeError(f"no Codex CLI at {args.codex}; run .ci/install-codex.sh")
        root = scratch / "codex"
        root.mkdir()
        print(f"1/4 codex exec x {args.codex_runs} ...", file=sys.stderr, flush=True)
        summary["codex_hooks"] = codex_hooks.run(args.binary, args.codex, root, args.codex_runs)
    if "hook" in args.only:
        print(f"2/4 hook process x {args.hook_runs} ...", file=sys.stderr, flush=True)
        summary["hook_process"] = hook_process.run(args.binary, scratch / "hook", args.hook_runs)
    if "daemon" in args.only:
        summary["daemon_load"] = []
        for rate in args.rates:
            print(f"3/4 daemon load at {rate:g} events/s ...", file=sys.stderr, flush=True)
            root = scratch / f"load-{rate:g}"
            result = daemon_load.run(args.binary, root, args.sessions, rate, args.workers)
            summary["daemon_load"].append(result)
    if "scaling" in args.only:
        print("4/4 scaling ...", file=sys.stderr, flush=True)
        summary["scaling"] = scaling.run(args.binary, scratch / "scaling", args.scaling_budget)
    return summary


def table(summary: dict[str, Any]) -> str:
    """The human-readable report."""
    meta = summary["meta"]
    lines = [
        f"codex-otel benchmarks  {meta['date']}  commit {meta['commit'][:12]}",
        (
            f"binary {meta['binary']} ({meta['binary_bytes'] / 1e6:.2f} MB), hook "
            f"{Path(meta['hook_binary']).name} ({meta['hook_binary_bytes'] / 1e6:.2f} MB)  "
            f"{meta['codex']}  {meta['cpus']} CPUs ({meta['cpu_model']})"
        ),
        (
            f"load average (1/5/15 min) at start {meta['load_average_at_start']}, "
            f"at end {meta['load_average_at_end']} (other work on the machine skews timings)"
        ),
    ]
    if "codex_hooks" in summary:
        lines += codex_table(summary["codex_hooks"])
    if "hook_process" in summary:
        lines += hook_table(summary["hook_process"])
    if "daemon_load" in summary:
        lines += load_table(summary["daemon_load"])
    if "scaling" in summary:
        lines += scaling.table(summary["scaling"])
    return "\n".join(lines) + "\n"


def codex_table(result: dict[str, Any]) -> list[str]:
    spans, ratio = result["span_ms"], result["ratio"]
    verdict = "MET" if result["target_met"] else "MISSED"
    paired = result["paired_ours_minus_cat_ms"]
    lines = [
        "",
        (
            f"1. Hook cost inside Codex: codex.hooks.command span durations, {result['runs']} "
            f"codex exec runs, {spans['ours']['n']} calls per handler"
        ),
        f"   {'handler':<22}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'mean ms':>9}",
    ]
    for name, label in (("ours", "codex-otel-hook"), ("cat", "cat >/dev/null")):
        s = spans[name]
        lines.append(
            f"   {label:<22}{s['p50']:>9.3f}{s['p90']:>9.3f}{s['p99']:>9.3f}{s['mean']:>9.3f}"
        )
    lines += [
        (
            f"   ratio ours/cat: p50 {ratio['p50']:.3f}x  p90 {ratio['p90']:.3f}x  "
            f"(target <= {result['target_ratio']}x at p50: {verdict})"
        ),
        (
            f"   paired (ours - cat, same event): p50 {paired['p50']:+.3f} ms  "
            f"p90 {paired['p90']:+.3f} ms"
        ),
        "   per event p50 ms (ours / cat): "
        + ", ".join(
            f"{e} {v['ours']:.2f}/{v['cat']:.2f}" for e, v in result["per_event_p50_ms"].items()
        ),
        f"   codex exec wall: p50 {result['exec_wall_s']['p50']:.3f} s",
    ]
    return lines


def hook_table(result: dict[str, Any]) -> list[str]:
    labels = {
        "cat": "cat",
        "hook": "codex-otel-hook",
        "hook_disabled": "hook, DISABLED=1",
        "cli_hook": "codex-otel hook",
        "version": "codex-otel --version",
    }
    n = result["wall_ms"]["cat"]["n"]
    lines = [
        "",
        f"2. Hook process alone: spawn to exit, {n} runs per variant, daemon listening",
        f"   {'variant':<22}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'cpu p50':>9}{'x cat p50':>11}",
    ]
    for variant, label in labels.items():
        wall, cpu = result["wall_ms"][variant], result["cpu_ms"][variant]
        ratio = result["ratio_to_cat"].get(variant, {"p50": 1.0})["p50"]
        lines.append(
            f"   {label:<22}{wall['p50']:>9.3f}{wall['p90']:>9.3f}{wall['p99']:>9.3f}"
            f"{cpu['p50']:>9.3f}{ratio:>10.3f}x"
        )
    return lines


def load_table(results: list[dict[str, Any]]) -> list[str]:
    first = results[0]
    lines = [
        "",
        (
            f"3. Daemon load: {first['sessions']} live sessions, {first['hook_events']} hook "
            f"events, {first['rollout_mb']:.2f} MB of rollout, local store"
        ),
        (
            f"   {'rate':>8}{'ev/s':>8}{'MB/s':>7}{'flush s':>9}{'cpu s':>7}{'ev/cpu-s':>10}"
            f"{'MB/cpu-s':>10}{'RSS live':>10}{'HWM MB':>8}{'hook p50/p99 ms':>17}"
        ),
    ]
    for r in results:
        rate = f"{r['target_rate_events_per_s']:g}/s" if r["target_rate_events_per_s"] else "max"
        mem, hook = r["daemon_rss_mb"], r["hook_wall_ms"]
        per_cpu = (r["events_per_daemon_cpu_s"] or 0, r["rollout_mb_per_daemon_cpu_s"] or 0)
        lines.append(
            f"   {rate:>8}{r['events_per_s']:>8.0f}{r['rollout_mb_per_s']:>7.2f}"
            f"{r['flush_after_last_event_s']:>9.3f}{r['daemon_cpu_s']:>7.2f}"
            f"{per_cpu[0]:>10.0f}{per_cpu[1]:>10.2f}"
            f"{mem['all_sessions_live']:>10.1f}{mem['hwm']:>8.1f}"
            f"{hook['p50']:>9.2f}/{hook['p99']:.2f}"
        )
    return lines


def main() -> int:
    args = parse_args()
    if not args.binary.exists():
        print(f"bench.py: no binary at {args.binary}; run cargo build --release", file=sys.stderr)
        return 1
    scratch = Path(tempfile.mkdtemp(prefix="codex-otel-bench-"))
    try:
        summary = run_all(args, scratch)
    except (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError) as err:
        print(f"bench.py: {err} (scratch kept in {scratch})", file=sys.stderr)
        return 1
    if args.keep:
        print(f"scratch kept in {scratch}", file=sys.stderr)
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    summary["meta"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(table(summary), end="")
    print(f"summary written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
