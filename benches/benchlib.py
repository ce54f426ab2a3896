"""benchlib.py: what every codex-otel benchmark shares (Python 3.11 standard library only).

Contract:

- ``Stats.of(samples)``: count, mean, median, p90, p99, min, max of a list of numbers
  (percentiles by linear interpolation between closest ranks).
- ``hook_binary(binary)``: the slim hook binary ``codex-otel-hook`` that cargo builds beside
  ``binary`` (the full ``codex-otel``): what ``codex-otel install`` and the plugin run as our
  hook. ``RuntimeError`` when it is missing.
- ``clean_env(**extra)``: the current environment without anything that would route spans
  elsewhere or change codex-otel's behaviour (``OTEL_*``, ``BRAINTRUST_*``,
  ``TRACE_TO_BRAINTRUST``, ``CODEX_OTEL_*``, API keys), plus ``extra``.
- ``timed_spawn(argv, payload, env)``: starts ``argv`` with ``payload`` on a pipe as stdin and
  stdout/stderr on the null device, closes stdin, reaps the child, and returns its wall time
  (spawn to reaped, seconds), CPU time (user + system, seconds) and exit status. It uses
  ``posix_spawn`` + ``wait4`` so the harness adds as little as possible.
- ``Daemon``: the real ``codex-otel daemon`` on a private state directory, started as a child
  so its PID is known; ``memory()`` reads VmRSS/VmHWM and CPU time from /proc; ``flush()`` runs
  ``codex-otel flush``; ``stop()`` asks it to exit and reaps it (killing it by PID as a last
  resort).
- ``poll(what, timeout, ready)``: calls ``ready`` until it returns a value other than None, or
  raises ``TimeoutError`` after ``timeout`` seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parent.parent
RELEASE_BIN = REPO / "target" / "release" / "codex-otel"
HOOK_NAME = "codex-otel-hook"
POLL_SECONDS = 0.02
SCRUBBED_PREFIXES = ("OTEL_", "BRAINTRUST_", "CODEX_OTEL_")
SCRUBBED_NAMES = ("TRACE_TO_BRAINTRUST", "OPENAI_API_KEY", "CODEX_API_KEY")
CLK_TCK = os.sysconf("SC_CLK_TCK")

T = TypeVar("T")


@dataclass(frozen=True)
class Stats:
    """Summary statistics of one sample set (same unit as the samples)."""

    n: int
    mean: float
    p50: float
    p90: float
    p99: float
    min: float
    max: float

    @staticmethod
    def of(samples: list[float]) -> Stats:
        """Summarises ``samples``; raises ValueError when there are none."""
        if not samples:
            raise ValueError("no samples")
        s = sorted(samples)
        return Stats(
            n=len(s),
            mean=sum(s) / len(s),
            p50=percentile(s, 50),
            p90=percentile(s, 90),
            p99=percentile(s, 99),
            min=s[0],
            max=s[-1],
        )

    def scaled(self, factor: float) -> dict[str, float]:
        """The statistics as a dict with every value (not ``n``) multiplied by ``factor``."""
        return {
            "n": self.n,
            **{
                k: round(getattr(self, k) * factor, 4)
                for k in ("mean", "p50", "p90", "p99", "min", "max")
            },
        }


def percentile(sorted_samples: list[float], pct: float) -> float:
    """The ``pct`` percentile of already sorted samples, interpolating between ranks."""
    rank = (len(sorted_samples) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(sorted_samples) - 1)
    return sorted_samples[low] + (sorted_samples[high] - sorted_samples[low]) * (rank - low)


def hook_binary(binary: Path) -> Path:
    """The slim hook binary beside ``binary``; RuntimeError when there is none."""
    hook = binary.with_name(HOOK_NAME)
    if not hook.is_file():
        raise RuntimeError(f"no {HOOK_NAME} beside {binary}; run cargo build --release")
    return hook


def clean_env(**extra: str) -> dict[str, str]:
    """The environment minus routing/behaviour variables, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(SCRUBBED_PREFIXES) and k not in SCRUBBED_NAMES
    }
    env.update(extra)
    return env


def poll(what: str, timeout: float, ready: Callable[[], T | None]) -> T:
    """Calls ``ready`` until it returns non-None; TimeoutError after ``timeout`` seconds."""
    until = time.monotonic() + timeout
    while True:
        value = ready()
        if value is not None:
            return value
        if time.monotonic() >= until:
            raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(POLL_SECONDS)


@dataclass(frozen=True)
class Spawned:
    """What one timed child process did."""

    wall: float
    cpu: float
    status: int


def timed_spawn(argv: list[str], payload: bytes, env: dict[str, str]) -> Spawned:
    """Runs ``argv`` with ``payload`` on stdin (see the module docs)."""
    read_end, write_end = os.pipe()
    devnull = os.open(os.devnull, os.O_WRONLY)
    actions = [
        (os.POSIX_SPAWN_DUP2, read_end, 0),
        (os.POSIX_SPAWN_DUP2, devnull, 1),
        (os.POSIX_SPAWN_DUP2, devnull, 2),
        (os.POSIX_SPAWN_CLOSE, write_end),
    ]
    started = time.perf_counter()
    try:
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    finally:
        os.close(read_end)
        os.close(devnull)
    try:
        os.write(write_end, payload)
    except BrokenPipeError:
        pass  # a child that does not read stdin (e.g. --version) may be gone already
    finally:
        os.close(write_end)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    return Spawned(wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status))


@dataclass(frozen=True)
class Memory:
    """A daemon's memory and CPU use, from /proc/<pid>/status and /proc/<pid>/stat."""

    rss_mb: float
    hwm_mb: float
    cpu_seconds: float


class Daemon:
    """The real ``codex-otel daemon`` on ``state`` (see the module docs)."""

    def __init__(self, binary: Path, state: Path) -> None:
        self.binary = binary
        self.state = state
        self.env = clean_env(CODEX_OTEL_HOME=str(state), CODEX_OTEL_DAEMON_QUIET_SECS="3600")
        state.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(binary), "daemon"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        socket = state / "daemon.sock"

        def ready() -> bool | None:
            if self.process.poll() is not None:
                raise RuntimeError(f"{binary} daemon exited with {self.process.returncode}")
            return True if socket.exists() else None

        poll("the daemon's socket", 20, ready)

    def memory(self) -> Memory:
        """Current VmRSS, VmHWM (MB) and user + system CPU seconds so far."""
        fields: dict[str, float] = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        after_name = stat.rsplit(")", 1)[1].split()
        cpu = (int(after_name[11]) + int(after_name[12])) / CLK_TCK
        return Memory(fields["VmRSS"], fields["VmHWM"], cpu)

    def command(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Runs ``codex-otel <args>`` against this state directory."""
        return subprocess.run(
            [str(self.binary), *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def flush(self, timeout: float = 120) -> None:
        """``codex-otel flush``; raises RuntimeError when it fails or times out."""
        done = self.command("flush", "--timeout", str(timeout), timeout=timeout + 30)
        if done.returncode != 0:
            raise RuntimeError(f"codex-otel flush failed: {done.stderr.strip()}")

    def stop(self) -> None:
        """Asks the daemon to stop and reaps it; kills it by PID if it does not exit."""
        if self.process.poll() is None:
            self.command("stop", timeout=30)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
