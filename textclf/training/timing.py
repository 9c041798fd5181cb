"""Wall and CPU time of a piece of work, and the machine's load when it started.

On a shared machine wall time measures the neighbours too; process CPU time beside it (and the load average
at the start) lets a reader tell a slow method from a busy machine.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

DISAGREEMENT = 0.25


@dataclass
class Stopwatch:
    """`with Stopwatch() as clock: ...` then `clock.wall` and `clock.cpu` in seconds."""

    wall: float = 0.0
    cpu: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def machine_load() -> float | None:
    """The 1-minute load average divided by the number of cores (1.0: every core busy); None where unknown."""
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except (AttributeError, OSError):
        return None


def wall_cpu_disagree(wall: float, cpu: float) -> bool:
    """True when wall and CPU time differ by more than 25 % of the wall time (waiting, or several threads)."""
    return wall > 0 and abs(wall - cpu) > DISAGREEMENT * wall
