"""A comparison's events and statuses: what the dispatch back-ends report about each run, and the one listener
interface that carries it to the comparison, its job, the store and whoever prints or shows it.

Every event is a frozen dataclass; a listener is any callable taking one (`match` on the type to pick the
ones it needs). Training events (a batch, an epoch) come from `textclf.training.progress`, re-exported here so
a listener imports every event from one place. No torch is loaded by this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from textclf.training.progress import (
    BatchDone,
    Cancelled,
    EpochDone,
    ProgressCallback,
    RunEvent,
    StopCheck,
    TrainingEvent,
)

__all__ = ["ACTIVE", "BatchDone", "Cancelled", "EpochDone", "Listener", "ProgressCallback", "RunCancelled",
           "RunEvent", "RunFailed", "RunFinished", "RunStarted", "Status", "StopCheck", "TrainingEvent", "ignore"]


class Status(StrEnum):
    """Where a comparison (a job, a stored experiment) stands; the values are what the store keeps."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process went away before it finished


ACTIVE = (Status.QUEUED, Status.RUNNING)


@dataclass(frozen=True, kw_only=True)
class RunStarted(RunEvent):
    """The run began on `worker` (a second start of the same run means its first worker was lost)."""

    worker: str


@dataclass(frozen=True, kw_only=True)
class RunFinished(RunEvent):
    """The run produced `result`; `placement` says where it trained (worker, peak memory); `bundle` is where its
    model was saved, once the job has saved it."""

    result: Any
    placement: dict
    bundle: Path | None = None


@dataclass(frozen=True, kw_only=True)
class RunFailed(RunEvent):
    """The run was lost with its worker or refused by its model; `retrying` says whether it runs again."""

    reason: str
    retrying: bool = False


@dataclass(frozen=True, kw_only=True)
class RunCancelled(RunEvent):
    """The run stopped because the comparison was cancelled; what it had trained is dropped."""


Listener = Callable[[RunEvent], None]


def ignore(event: RunEvent) -> None:
    """The listener of a batch nobody listens to."""
