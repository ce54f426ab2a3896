"""hook_process.py: benchmark 2, the hook process alone, stdin to exit.

Contract: ``run(binary, root, runs)`` starts the real daemon on a private state directory under
``root``, then times ``runs`` executions of each variant below, interleaved round-robin (the
order rotates every round) after a short discarded warm-up, with ``benchlib.timed_spawn``
(posix_spawn, payload on a pipe, reaped with wait4: no shell in between):

- ``cat``: ``cat`` with stdout on the null device, the floor any hook pays;
- ``hook``: our hook, the slim ``codex-otel-hook`` binary (``benchlib.hook_binary``, what
  ``codex-otel install`` and the plugin run), doing its real work (journal append + poke of
  the listening daemon) on real payloads: the ``shell`` fixture's six events, cycled, with
  fresh ids per cycle and its rollout copied, so the daemon also does its normal work
  meanwhile;
- ``hook_disabled``: ``codex-otel-hook`` with ``CODEX_OTEL_DISABLED=1`` (start-up and
  draining stdin, no work): the part of ``hook`` that is process start-up;
- ``cli_hook``: ``codex-otel hook``, the same code in the full binary, on the same payload
  stream: what the separate binary saves;
- ``version``: ``codex-otel --version`` (the full binary's start-up and argument parsing).

After the runs it feeds the rest of the last cycle, flushes the daemon and checks that every
cycle's trace has the fixture's shape in the local store, so a hook that silently did nothing
cannot pass for a fast one. Returns a JSON-ready dict: wall and CPU milliseconds per variant
(``benchlib.Stats``) and the ratios to ``cat``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from benchlib import Daemon, Stats, clean_env, hook_binary, timed_spawn
from sessions import SessionCopy, check_store

WARMUP_ROUNDS = 20
FIXTURE = "shell"
VARIANTS = ("cat", "hook", "hook_disabled", "cli_hook", "version")
WORKING = ("hook", "cli_hook")


class Payloads:
    """Endless real hook payloads: the fixture's events, a fresh session per cycle."""

    def __init__(self, root: Path) -> None:
        self.sessions_dir = root / "sessions"
        self.workspace = root / "project"
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.sessions: list[SessionCopy] = []
        self.pending: list[bytes] = []

    def next(self) -> bytes:
        """The next payload; starting a cycle writes that session's rollout in full."""
        if not self.pending:
            copy = SessionCopy.make(FIXTURE, self.sessions_dir, self.workspace)
            for k in range(len(copy.payloads)):
                copy.write_before(k)
            self.sessions.append(copy)
            self.pending = list(reversed(copy.payloads))
        return self.pending.pop()

    def rest(self) -> list[bytes]:
        """The unfed payloads of the current cycle, so its session can complete."""
        rest, self.pending = list(reversed(self.pending)), []
        return rest


def run(binary: Path, root: Path, runs: int) -> dict[str, Any]:
    """Times every variant ``runs`` times (see the module docs)."""
    state = root / "state"
    cat = shutil.which("cat")
    if cat is None:
        raise RuntimeError("no cat on PATH")
    env = clean_env(CODEX_OTEL_HOME=str(state))
    slim = str(hook_binary(binary))
    commands = {
        "cat": ([cat], env),
        "hook": ([slim], env),
        "hook_disabled": ([slim], {**env, "CODEX_OTEL_DISABLED": "1"}),
        "cli_hook": ([str(binary), "hook"], env),
        "version": ([str(binary), "--version"], env),
    }
    payloads = Payloads(root)
    wall: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
    daemon = Daemon(binary, state)
    try:
        for round_index in range(WARMUP_ROUNDS + runs):
            shift = round_index % len(VARIANTS)
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                argv, variant_env = commands[variant]
                payload = payloads.next() if variant in WORKING else b"{}"
                done = timed_spawn(argv, payload, variant_env)
                if done.status != 0:
                    raise RuntimeError(f"{variant} exited with {done.status}")
                if round_index >= WARMUP_ROUNDS:
                    wall[variant].append(done.wall)
                    cpu[variant].append(done.cpu)
        for payload in payloads.rest():
            timed_spawn(commands["hook"][0], payload, env)
        daemon.flush()
        check_store(state, payloads.sessions)
    finally:
        daemon.stop()
    return summarize(wall, cpu, len(payloads.sessions))


def summarize(
    wall: dict[str, list[float]], cpu: dict[str, list[float]], sessions: int
) -> dict[str, Any]:
    """Milliseconds per variant and the ratios of each variant to ``cat``."""
    walls = {v: Stats.of(wall[v]) for v in VARIANTS}
    cpus = {v: Stats.of(cpu[v]) for v in VARIANTS}
    return {
        "sessions_fed": sessions,
        "wall_ms": {v: walls[v].scaled(1000) for v in VARIANTS},
        "cpu_ms": {v: cpus[v].scaled(1000) for v in VARIANTS},
        "ratio_to_cat": {
            v: {
                "p50": round(walls[v].p50 / walls["cat"].p50, 3),
                "p99": round(walls[v].p99 / walls["cat"].p99, 3),
            }
            for v in VARIANTS
            if v != "cat"
        },
    }
