"""What training reports while it runs, and how it is told to stop.

No torch here: the dispatch back-ends and the coordinating process relay these events and raise `Cancelled`
without loading the training code (a Dask scheduler or a page-serving process never needs torch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

StopCheck = Callable[[], bool]


class Cancelled(Exception):
    """Raised between batches (or between runs) when the caller asked to stop."""


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: `seconds` (wall) and `cpu_seconds` are training only, validation is timed apart.

    Validation always uses the evaluation batching, so `val_seconds` and `val_padded_slots` do not depend on
    the strategy under test.
    """

    epoch: int
    train_loss: float
    val_accuracy: float
    val_loss: float
    seconds: float
    cpu_seconds: float
    val_seconds: float
    val_padded_slots: int
    steps: int
    examples: int
    real_tokens: int
    padded_slots: int
    padding_waste: float
    batch_shapes: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class RunEvent:
    """Something a run reports. `index` (its place in the plan, from 0) and `run` (its name) are filled in on the
    way to the coordinator: the code that trains knows neither."""

    index: int = -1
    run: str = ""


@dataclass(frozen=True, kw_only=True)
class BatchDone(RunEvent):
    """A training batch finished; `stage` is `refit` while a model trains again on training + validation."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float
    stage: str | None = None

    @property
    def share_done(self) -> float:
        """The run's share (0–1) of its planned epochs done."""
        return ((self.epoch - 1) + self.batch / self.batches) / self.epochs


@dataclass(frozen=True, kw_only=True)
class EpochDone(RunEvent):
    """A training epoch finished (and was validated, unless it is a refit's)."""

    record: EpochRecord
    epochs: int
    stage: str | None = None

    @property
    def epoch(self) -> int:
        return self.record.epoch

    @property
    def share_done(self) -> float:
        return self.record.epoch / self.epochs


TrainingEvent = BatchDone | EpochDone
ProgressCallback = Callable[[TrainingEvent], None]
