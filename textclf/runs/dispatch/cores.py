"""How many torch threads each run in flight should use: the idle workers' cores go to the last runs, but only
cores the machine really leaves idle (a second thread on a core that another process uses made a training step
2 to 22 times slower, BENCHMARKS.md, "Every core to the end")."""

from __future__ import annotations

import os
import time
from pathlib import Path


class IdleCores:
    """How many of the machine's cores sat idle lately: from the CPU times in /proc/stat between two readings at
    least `interval` seconds apart (elsewhere: the cores the 1-minute load average leaves); 0 until it knows, and
    again after a pause of over `stale_after` seconds (a reading that old says nothing about now)."""

    def __init__(self, interval: float = 1.0, stat: Path = Path("/proc/stat"), stale_after: float = 10.0):
        self.interval, self.stat, self.stale_after = interval, stat, stale_after
        self.value, self._last, self._read_at = 0.0, None, float("-inf")

    def __call__(self) -> float:
        now = time.monotonic()
        if now - self._read_at >= self.interval:
            fresh = now - self._read_at <= self.stale_after
            self._read_at, times = now, self._cpu_times()
            if times is None:
                self.value = idle_by_load()
            elif fresh and self._last is not None and times[1] > self._last[1]:
                idle, total = times[0] - self._last[0], times[1] - self._last[1]
                self.value = idle / total * (os.cpu_count() or 1)
            else:
                self.value = 0.0
            self._last = times
        return self.value

    def _cpu_times(self) -> tuple[int, int] | None:
        """(idle + iowait, all) jiffies of every CPU together, or None where there is no /proc/stat."""
        try:
            fields = [int(v) for v in self.stat.read_text().split("\n", 1)[0].split()[1:9]]
            return fields[3] + fields[4], sum(fields)
        except (OSError, ValueError, IndexError):
            return None


def idle_by_load() -> float:
    """The cores the 1-minute load average leaves (0 where the system does not report one)."""
    try:
        return max(0.0, (os.cpu_count() or 1) - os.getloadavg()[0])
    except (OSError, AttributeError):
        return 0.0


def thread_plan(cores: int, runs_left: int, in_flight: int, base: int = 1) -> list[int]:
    """Torch threads for each of the `in_flight` runs: `base` each while runs are left to start (idle workers take
    those); once none is, the `cores` split between the runs in flight, never fewer than `base` each."""
    if runs_left or not in_flight:
        return [base] * in_flight
    share, extra = divmod(cores, in_flight)
    return [max(base, share + (rank < extra)) for rank in range(in_flight)]
