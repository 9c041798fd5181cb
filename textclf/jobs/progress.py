"""Where a job is: the run shown (its epochs, batches and loss curve), the runs in flight and the time left.

With a parallel back-end several runs train at once: the newest one started is shown, and every run in flight
feeds the time-left estimate with its finished epochs and its share done.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

from textclf.runs.config import RunSpec
from textclf.runs.eta import WorkEstimate
from textclf.runs.events import BatchDone, EpochDone, TrainingEvent

LOSS_POINTS = 2000


@dataclass
class _InFlight:
    """A run training now: its place in the plan, when and where it started, and its share of epochs done."""

    index: int
    run: RunSpec
    started: float
    worker: str | None
    share: float = 0.0


@dataclass
class JobProgress:
    """Where a job is, and the work its time-left estimate comes from (guarded by the job's lock)."""

    runs_total: int
    runs_done: int = 0
    run: str | None = None
    model: str | None = None
    batching: str | None = None
    epoch: int | None = None
    epochs: int | None = None
    batch: int | None = None
    batches: int | None = None
    loss: float | None = None
    val_accuracy: float | None = None
    losses: deque = field(default_factory=lambda: deque(maxlen=LOSS_POINTS))
    started: float | None = None
    ended: float | None = None
    run_started: float = 0.0
    estimate: WorkEstimate | None = None
    in_flight: dict[str, _InFlight] = field(default_factory=dict)
    finished: set[int] = field(default_factory=set)
    parallel: int = 1
    worker: str | None = None
    stage: str | None = None

    def start_run(self, index: int, run: RunSpec, now: float, worker: str | None = None) -> None:
        """Run `index` (its place in the plan) began; it becomes the run shown."""
        self.in_flight[run.name] = _InFlight(index, run, now, worker)
        self._show(self.in_flight[run.name])

    def _show(self, flight: _InFlight) -> None:
        run = flight.run
        self.run, self.model, self.batching, self.run_started = run.name, run.model.label, run.batching, flight.started
        self.worker = flight.worker
        self.epoch = self.epochs = self.batch = self.batches = self.loss = self.val_accuracy = self.stage = None
        self.losses.clear()

    def record(self, event: TrainingEvent) -> None:
        """A training event of a run in flight: a batch (its loss joins the curve of the run shown, indexed by
        step within the run) or an epoch (its padded slots and seconds feed the time-left estimate). A refit's
        events (stage `refit`) start the run shown's loss curve again: its steps count from 1."""
        flight = self.in_flight.get(event.run or self.run)
        if flight is None:
            return
        flight.share = event.share_done
        if isinstance(event, EpochDone) and self.estimate:
            self.estimate.epoch_finished(flight.run.model.label, event.record.padded_slots, event.record.seconds)
        if flight.run.name != self.run:
            return
        if event.stage != self.stage:
            self.stage = event.stage
            self.losses.clear()
        self.epoch, self.epochs = event.epoch, event.epochs
        if isinstance(event, BatchDone):
            self.batch, self.batches, self.loss = event.batch, event.batches, event.loss
            self.losses.append(((self.epoch - 1) * self.batches + self.batch, self.loss))
        else:
            self.val_accuracy = event.record.val_accuracy

    def finish_run(self, index: int, name: str, now: float) -> None:
        self.runs_done += 1
        self.finished.add(index)
        flight = self.in_flight.pop(name, None)
        if self.estimate:
            self.estimate.run_finished(index, now - (flight.started if flight else self.run_started))
        if name == self.run:
            self.run = self.model = self.batching = self.worker = None
            if self.in_flight:
                self._show(next(iter(self.in_flight.values())))

    def drop_run(self, index: int, name: str, *, final: bool) -> None:
        """A run that failed is no longer in flight; unless it starts again elsewhere, no work is left in it."""
        self.in_flight.pop(name, None)
        if final:
            self.finished.add(index)
        if name == self.run:
            self.run = self.model = self.batching = self.worker = None

    def snapshot(self, now: float) -> dict:
        elapsed = ((self.ended or now) - self.started) if self.started is not None else 0.0
        return {
            "runs_done": self.runs_done, "runs_total": self.runs_total, "run": self.run, "model": self.model,
            "batching": self.batching, "epoch": self.epoch, "epochs": self.epochs, "batch": self.batch,
            "batches": self.batches, "loss": self.loss, "val_accuracy": self.val_accuracy,
            "eta_seconds": self.eta(now), "elapsed_seconds": elapsed, "losses": list(self.losses),
            "worker": self.worker, "runs_running": len(self.in_flight), "stage": self.stage,
            "in_flight": [{"run": f.run.name, "worker": f.worker, "share": f.share} for f in self.in_flight.values()],
        }

    def work_left(self, now: float) -> tuple[list[float], list[float]] | None:
        """(seconds left in each run in flight, seconds of each run not started yet) by the same cost model as the
        time left; None before the comparison is planned or while no rate is known. What a queue waits for."""
        estimate = self._estimate(now)
        if estimate is None:
            return None
        begun = self.finished | {f.index for f in self.in_flight.values()}
        flying = [estimate.run_seconds(f.index, f.share) for f in self.in_flight.values()]
        waiting = [estimate.run_seconds(i) for i in range(self.runs_total) if i not in begun]
        return flying, waiting

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left, from the slots still to process at the rates measured on finished epochs, else the
        calibrated ones (see eta.py), else (given `now`) the pace of the first batches of the runs in flight;
        shared between the workers that train this comparison's runs."""
        estimate = self._estimate(now)
        if estimate is None:
            return None
        shares = dict.fromkeys(self.finished, 1.0) | {f.index: f.share for f in self.in_flight.values()}
        return estimate.seconds_left(shares, workers=self.parallel)

    def _estimate(self, now: float | None) -> WorkEstimate | None:
        """The work estimate while the job trains, once some rate is known (measured, calibrated or, before
        either, the first batches' pace)."""
        if self.started is None or self.ended is not None or self.estimate is None:
            return None
        if self.estimate.measured or self.estimate.prior:
            return self.estimate
        pace = self._first_batches_pace(now) if now is not None else {}
        return replace(self.estimate, prior=pace) if pace else None

    def _first_batches_pace(self, now: float) -> dict[str, float]:
        """Seconds per slot of each model in flight so far: a first guess (one-off costs included, so on the high
        side) until an epoch has finished."""
        pace = {}
        for flight in self.in_flight.values():
            slots = self.estimate.slots[flight.index]
            if slots and flight.share > 0:
                pace[flight.run.model.label] = (now - flight.started) / (flight.share * slots)
        return pace
