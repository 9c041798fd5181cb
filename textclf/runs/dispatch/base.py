"""What every back-end shares: a batch of runs, the back-end interface, and where a run trained."""

from __future__ import annotations

import os
import resource
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from textclf.runs.events import Listener, RunEvent, StopCheck, ignore

SEQUENTIAL, PROCESSES, DASK = "sequential", "processes", "dask"
BACKENDS = (SEQUENTIAL, PROCESSES)
POLL_SECONDS = 0.05
RETRIES = 1

Work = Callable[..., Any]


@dataclass
class Batch:
    """One comparison's runs for a back-end: `work(runs[i], prepared, config, progress=, should_stop=)` each.

    The back-end tells `listener` about each run by its index: started, its training events, then finished,
    failed or cancelled (called in the coordinating process, one at a time)."""

    work: Work
    runs: Sequence
    prepared: Any
    config: Any
    listener: Listener = ignore
    should_stop: StopCheck | None = None
    costs: Sequence[float] | None = None  # expected relative run times: parallel back-ends start long runs first
    key: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def start_order(self) -> list[int]:
        """Run indexes, the longest expected first (ties in plan order)."""
        costs = self.costs or [0] * len(self.runs)
        return sorted(range(len(self.runs)), key=lambda i: -costs[i])

    def stop_asked(self) -> bool:
        return bool(self.should_stop and self.should_stop())


class Backend:
    """Runs batches; `run` blocks until every run of the batch has finished or failed."""

    name = "backend"
    workers = 1
    serial = False

    def run(self, batch: Batch) -> None:
        """Raises `Cancelled` when the batch was stopped, or the first error a run raised."""
        raise NotImplementedError

    def ahead(self, key: str) -> int | None:
        """How many runs of other batches start before the next run of batch `key` (None: not waiting)."""
        return None

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        """Stop the workers (if any)."""


def of_run(event: RunEvent, index: int) -> RunEvent:
    """A training event told which run (its plan index) it belongs to: the training code does not know."""
    return replace(event, index=index)


def peak_memory_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def placement(worker: str) -> dict:
    """Where a run trained: the worker, its peak memory so far and its torch intra-op threads (torch is loaded
    here only because the run has just trained with it)."""
    import torch

    return {"worker": worker, "peak_memory_mb": peak_memory_mb(), "torch_threads": torch.get_num_threads()}


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def set_torch_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)
