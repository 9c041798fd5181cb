"""Time left in a comparison, estimated from the work done rather than from the first seconds.

A neural run's time is close to proportional to the padded token slots it processes (epochs × slots per
epoch), at a rate that depends on the model: so the whole plan is counted in slots before anything trains,
by each run's own estimator (its family plans the epochs with the strategy, lengths and seed it trains with,
so a hierarchical model is planned on two levels as it trains), the rate is measured on finished epochs only
(the first batches carry one-off costs and mislead), and no estimate is given until one epoch has finished.
Classical runs take seconds; they count at the time the finished ones took. Early stopping usually ends a
neural run long before its cap, so a run is expected to fill only its family's expected share of the planned
slots (`expected_shares`: for a neural run, the epochs up to its typical best one for a training set of this size
and this many classes, plus the wait after it); the planned slots themselves, every epoch to the cap, are the
upper bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from textclf.errors import TextclfError
from textclf.models.base import TextClassifier
from textclf.runs.config import CompareConfig, RunSpec
from textclf.runs.prepare import Prepared
from textclf.runs.run_one import build_estimator

PAST_EXPECTED_SHARE = 0.1


def planned_slots(prepared: Prepared, config: CompareConfig, runs: Sequence[RunSpec]) -> list[int]:
    """Padded slots each run would process over all its epochs (0 for a run not trained in batches).

    Epochs and batch size are the ones the run's estimator will use (the model's own defaults where the
    comparison leaves them unset), so the plan matches what training does. A run whose settings the model
    refuses counts as no work: it is reported when the comparison ends, after the other runs have trained.
    Runs that read the same lengths, or plan the same epochs, share the work (see the families' keys)."""
    lengths, slots = {}, {}
    planned = []
    for run in runs:
        try:
            estimator = build_estimator(run, config, prepared)
            planned.append(_run_slots(estimator, run, prepared, lengths, slots))
        except TextclfError:
            planned.append(0)
    return planned


def expected_shares(prepared: Prepared, config: CompareConfig, runs: Sequence[RunSpec]) -> list[float]:
    """The share (0–1) of each run's planned slots it typically fills before early stopping ends it."""
    shares = []
    for run in runs:
        try:
            training_texts = len(prepared.fold_split(run.fold).train)
            shares.append(build_estimator(run, config, prepared).expected_share(training_texts,
                                                                                len(prepared.classes)))
        except TextclfError:
            shares.append(1.0)
    return shares


def _run_slots(estimator: TextClassifier, run: RunSpec, prepared: Prepared, lengths: dict, slots: dict) -> int:
    length_key = (run.fold, estimator.lengths_key())
    if length_key not in lengths:
        docs, _ = prepared.part("train", run.fold, raw=estimator.reads_raw_text)
        lengths[length_key] = estimator.training_lengths(docs)
    slot_key = (run.fold, estimator.slots_key())
    if slot_key not in slots:
        slots[slot_key] = estimator.planned_slots(lengths[length_key])
    return slots[slot_key]


@dataclass
class WorkEstimate:
    """The planned slots of every run and the seconds per slot measured so far, per model."""

    models: list[str]
    slots: list[int]
    measured: dict[str, list[float]] = field(default_factory=dict)
    classical_seconds: list[float] = field(default_factory=list)
    prior: dict[str, float] = field(default_factory=dict)  # calibrated seconds per slot, by model, until measured
    expected: list[float] | None = None  # each run's expected share of its planned slots (None: all of them)

    def epoch_finished(self, model: str, slots: int, seconds: float) -> None:
        seconds_and_slots = self.measured.setdefault(model, [0.0, 0])
        seconds_and_slots[0] += seconds
        seconds_and_slots[1] += slots

    def run_finished(self, index: int, seconds: float) -> None:
        if self.slots[index] == 0:
            self.classical_seconds.append(seconds)

    def seconds_left(self, shares_done: Mapping[int, float], workers: int = 1) -> float | None:
        """Seconds for the work left, given each run's share (0–1) of its planned work done (finished runs 1,
        runs not started yet left out). Several workers share the work left, but it cannot end sooner than its
        largest run left takes. Before any epoch has finished, only calibrated rates (`prior`) give one."""
        if not self.measured and not self.prior:
            return None
        left = [self.run_seconds(index, shares_done.get(index, 0.0)) for index in range(len(self.slots))]
        return max(sum(left) / max(1, workers), max(left, default=0.0))

    def run_seconds(self, index: int, share_done: float = 0.0) -> float:
        """Seconds left in run `index` once `share_done` of it is done: its slots at its model's measured rate,
        else its calibrated rate, else the rate measured over every model so far; classical runs at the time the
        finished ones took (a finished run, share 1, has none left)."""
        if share_done >= 1.0:
            return 0.0
        if self.slots[index] == 0:
            return (1.0 - share_done) * (float(np.mean(self.classical_seconds)) if self.classical_seconds else 0.0)
        expected = self.expected[index] if self.expected else 1.0
        # A run past its expected stop ends within a few epochs; a tenth of its expected work stands for them.
        share_left = max(expected - share_done, expected * PAST_EXPECTED_SHARE)
        seconds, measured_slots = self.measured.get(self.models[index], (0.0, 0))
        if measured_slots:
            rate = seconds / measured_slots
        elif self.models[index] in self.prior:
            rate = self.prior[self.models[index]]
        elif self.measured:
            rate = sum(s for s, _ in self.measured.values()) / max(1, sum(n for _, n in self.measured.values()))
        else:
            rate = float(np.mean(list(self.prior.values())))
        return share_left * self.slots[index] * rate
