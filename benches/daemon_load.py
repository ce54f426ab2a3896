"""daemon_load.py: benchmark 3, daemon throughput and memory with many live sessions.

Contract: ``run(binary, root, sessions, rate, workers)`` makes ``sessions`` copies of the
recorded fixtures (round-robin over every scenario in ``tests/fixtures/codex-0.169``, fresh
UUIDs, rollouts under ``root/sessions/``), starts the real daemon on ``root/state`` (local
store destination only) and feeds every session through our real hook (the slim
``codex-otel-hook`` beside ``binary``, ``benchlib.hook_binary``):

- Event ``k`` of a session with ``H`` events is fed in round ``max_H - H + k``, so every
  session ends (SessionEnd) in the last round and all of them are live just before it.
- Before its event ``k`` the session's rollout files get the lines Codex writes before that
  hook (``SessionCopy.write_before``), so the daemon tails growing files as it would with live
  Codex sessions; the last event (SessionEnd) sees complete rollouts.
- Rounds run one after another (a session's events stay in order); within a round ``workers``
  threads start hooks, paced to ``rate`` hook events per second overall (0 = as fast as the
  workers go).

It samples the daemon's VmRSS every 50 ms, reads VmRSS/VmHWM just before the last round (all
sessions live) and after ``codex-otel flush``, and its CPU time from /proc. It checks that
every session's trace has its fixture's shape in the local store. Returns a JSON-ready dict:
achieved hook events/s, rollout MB/s end to end, the time from the last event to ``flush``
returning, daemon CPU seconds with events and MB per CPU second, memory, and the hook latency
under this load.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchlib import Daemon, Memory, Stats, clean_env, hook_binary, timed_spawn
from sessions import SessionCopy, check_store, scenarios

SAMPLE_SECONDS = 0.05


class Feeder:
    """Paces hook starts to a global rate and runs them (thread-safe)."""

    def __init__(self, binary: Path, state: Path, rate: float) -> None:
        self.argv = [str(hook_binary(binary))]
        self.env = clean_env(CODEX_OTEL_HOME=str(state))
        self.rate = rate
        self.lock = threading.Lock()
        self.started_at = 0.0
        self.issued = 0
        self.latencies: list[float] = []

    def start(self) -> None:
        """Marks time zero for the pacing."""
        self.started_at = time.perf_counter()

    def slot(self) -> float:
        """Reserves the next start time (now when unpaced)."""
        with self.lock:
            index = self.issued
            self.issued += 1
        if self.rate <= 0:
            return time.perf_counter()
        return self.started_at + index / self.rate

    def feed(self, copy: SessionCopy, k: int) -> None:
        """Grows the rollouts, waits for this event's slot, runs the hook on payload ``k``."""
        copy.write_before(k)
        delay = self.slot() - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        done = timed_spawn(self.argv, copy.payloads[k], self.env)
        if done.status != 0:
            raise RuntimeError(f"codex-otel-hook exited with {done.status}")
        with self.lock:
            self.latencies.append(done.wall)


class Sampler(threading.Thread):
    """Reads the daemon's memory every SAMPLE_SECONDS until stopped; keeps the peak RSS."""

    def __init__(self, daemon: Daemon) -> None:
        super().__init__(daemon=True)
        self.target = daemon
        self.peak_rss_mb = 0.0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(SAMPLE_SECONDS):
            try:
                rss = self.target.memory().rss_mb
            except OSError:
                return  # the daemon is gone; the main thread reports why
            self.peak_rss_mb = max(self.peak_rss_mb, rss)


def make_sessions(root: Path, count: int) -> list[SessionCopy]:
    """``count`` fresh copies of the fixtures, round-robin over the scenarios."""
    names = scenarios()
    workspace = root / "project"
    workspace.mkdir(parents=True, exist_ok=True)
    return [
        SessionCopy.make(names[i % len(names)], root / "sessions", workspace) for i in range(count)
    ]


def rounds_of(copies: list[SessionCopy]) -> list[list[tuple[SessionCopy, int]]]:
    """The feeding rounds, aligned so every session's last event is in the last round."""
    longest = max(len(c.payloads) for c in copies)
    rounds: list[list[tuple[SessionCopy, int]]] = [[] for _ in range(longest)]
    for copy in copies:
        offset = longest - len(copy.payloads)
        for k in range(len(copy.payloads)):
            rounds[offset + k].append((copy, k))
    return rounds


def run(binary: Path, root: Path, sessions: int, rate: float, workers: int) -> dict[str, Any]:
    """Feeds ``sessions`` live sessions at ``rate`` events/s (see the module docs)."""
    copies = make_sessions(root, sessions)
    rounds = rounds_of(copies)
    daemon = Daemon(binary, root / "state")
    feeder = Feeder(binary, daemon.state, rate)
    sampler = Sampler(daemon)
    try:
        before = live = daemon.memory()
        sampler.start()
        feeder.start()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for index, batch in enumerate(rounds):
                if index == len(rounds) - 1:
                    live = daemon.memory()
                for future in [pool.submit(feeder.feed, c, k) for c, k in batch]:
                    future.result()
        fed_at = time.perf_counter()
        daemon.flush()
        done_at = time.perf_counter()
        after = daemon.memory()
        sampler.halt.set()
        sampler.join()
        check_store(daemon.state, copies)
    finally:
        sampler.halt.set()
        daemon.stop()
    timing = (feeder.started_at, fed_at, done_at)
    return summarize(copies, feeder, timing, (before, live, after), sampler.peak_rss_mb)


def summarize(
    copies: list[SessionCopy],
    feeder: Feeder,
    timing: tuple[float, float, float],
    memory: tuple[Memory, Memory, Memory],
    peak_rss_mb: float,
) -> dict[str, Any]:
    """The JSON summary of one load run."""
    started, fed, done = timing
    before, live, after = memory
    events = sum(len(c.payloads) for c in copies)
    megabytes = sum(c.rollout_bytes() for c in copies) / 1e6
    cpu = after.cpu_seconds - before.cpu_seconds
    return {
        "sessions": len(copies),
        "target_rate_events_per_s": feeder.rate,
        "hook_events": events,
        "rollout_mb": round(megabytes, 3),
        "feed_s": round(fed - started, 3),
        "events_per_s": round(events / (fed - started), 1),
        "flush_after_last_event_s": round(done - fed, 3),
        "end_to_end_s": round(done - started, 3),
        "rollout_mb_per_s": round(megabytes / (done - started), 3),
        "daemon_cpu_s": round(cpu, 3),
        "events_per_daemon_cpu_s": round(events / cpu, 1) if cpu > 0 else None,
        "rollout_mb_per_daemon_cpu_s": round(megabytes / cpu, 3) if cpu > 0 else None,
        "daemon_rss_mb": {
            "idle": round(before.rss_mb, 1),
            "all_sessions_live": round(live.rss_mb, 1),
            "after_flush": round(after.rss_mb, 1),
            "peak_sampled": round(peak_rss_mb, 1),
            "hwm": round(after.hwm_mb, 1),
        },
        "hook_wall_ms": Stats.of(feeder.latencies).scaled(1000),
    }
