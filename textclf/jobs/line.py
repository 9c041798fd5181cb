"""Where a comparison that is not training yet stands in line: its place, what is ahead, and when it should start
and finish, from the same cost model as the time left (`textclf.runs.eta`).

With one comparison at a time (the sequential back-end) a queued one starts when every one ahead has finished.
With worker processes or a cluster the workers are shared fairly, so a waiting one starts when the back-end
hands it a worker: after the runs ahead of it (the back-end counts them) have started. The start is simulated
on the workers: each frees when the run it trains ends, then takes the next run ahead.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WorkLeft = tuple[list[float], list[float]]  # seconds left of the runs in flight, seconds of the runs not started


@dataclass(frozen=True)
class Place:
    """A waiting comparison's place (1 = next), the experiments ahead of it (ids, or None for one not stored),
    the runs that start before its own, and the seconds until it should start and finish (None: not known yet)."""

    position: int
    ahead: tuple[int | None, ...]
    runs_ahead: int
    starts_in: float | None
    finishes_in: float | None


def place_sentence(place: Place, clock: Callable[[float], str]) -> str:
    """'2nd in line, behind experiment #12 (4 runs ahead): starts about 14:05, finishes about 14:20.' — the same
    words wherever a waiting comparison is shown; `clock(seconds from now)` writes a time of day."""
    if place.position == 1 and not place.runs_ahead:
        where = "Next to start"
    else:
        names = ", ".join("#" + str(e) if e is not None else "one not stored" for e in place.ahead)
        behind = f", behind experiment{'s' if len(place.ahead) > 1 else ''} {names}" if place.ahead else ""
        runs = f" ({place.runs_ahead} run{'s' if place.runs_ahead != 1 else ''} ahead)" if place.runs_ahead else ""
        where = f"{ordinal(place.position)} in line{behind}{runs}"
    if place.starts_in is None:
        return f"{where}: its start is estimated once the runs ahead have trained a little."
    finish = f", finishes about {clock(place.finishes_in)}" if place.finishes_in is not None else ""
    return f"{where}: starts about {clock(place.starts_in)}{finish}."


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st..."""
    suffix = "th" if number % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def starts_in(work_ahead: Sequence[WorkLeft | None], workers: int, runs_ahead: int | None = None) -> float | None:
    """Seconds until a worker is free for the waiting comparison: the runs in flight ahead of it end, and the
    `runs_ahead` runs that start before it (all the runs ahead when None) each take the first worker free.
    None when any comparison ahead cannot be estimated yet."""
    if any(work is None for work in work_ahead):
        return None
    flying = sorted(seconds for work in work_ahead for seconds in work[0])
    waiting = [seconds for work in work_ahead for seconds in work[1]]
    if runs_ahead is not None:
        waiting = waiting[:runs_ahead]
    free = flying[:workers] + [0.0] * max(0, workers - len(flying))
    heapq.heapify(free)
    for seconds in waiting:
        heapq.heappush(free, heapq.heappop(free) + seconds)
    return free[0]
