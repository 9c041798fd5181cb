"""The time-left estimate counts work (padded slots, epochs), not the first seconds."""

from __future__ import annotations

import pytest

from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig, plan_runs
from textclf.runs.eta import WorkEstimate, planned_slots
from textclf.runs.prepare import prepare


def test_planned_slots_match_what_training_processes(small_demo):
    config = CompareConfig(models=("cnn:embed_dim=8:filters=4", "svm"), batchings=("max_length", "bucket"),
                           epochs=2, patience=5, batch_size=16)
    runs = plan_runs(config)
    planned = planned_slots(prepare(small_demo, config), config, runs)
    done = compare(small_demo, config)
    processed = {r.record["batching"]: r.record["padded_slots"] for r in done.runs if r.history}
    by_batching = dict(zip([r.batching for r in runs], planned, strict=True))
    assert by_batching["max_length"] == processed["max_length"]
    assert by_batching["bucket"] == pytest.approx(processed["bucket"], rel=0.05)
    assert by_batching["none"] == 0
    assert by_batching["bucket"] < by_batching["max_length"]


def test_no_estimate_before_an_epoch_has_finished():
    estimate = WorkEstimate(["CNN", "CNN"], [1000, 1000])
    assert estimate.seconds_left({0: 0.01}) is None


def test_the_estimate_weighs_each_run_by_its_slots_and_its_models_rate():
    """Bucketed runs have fewer slots; an untimed model is priced at the overall rate; classical at its time."""
    estimate = WorkEstimate(["CNN", "CNN", "RNN", "SVM", "kNN"], [1000, 400, 1000, 0, 0])
    estimate.epoch_finished("CNN", slots=500, seconds=5.0)
    assert estimate.seconds_left({0: 0.5}) == pytest.approx(5 + 4 + 10)
    estimate.run_finished(0, 10.0)
    estimate.epoch_finished("CNN", slots=400, seconds=4.0)
    estimate.run_finished(1, 4.0)
    estimate.epoch_finished("RNN", slots=500, seconds=20.0)
    assert estimate.seconds_left({0: 1.0, 1: 1.0, 2: 0.5}) == pytest.approx(20.0)
    estimate.run_finished(2, 40.0)
    estimate.run_finished(3, 2.0)
    assert estimate.seconds_left(dict.fromkeys(range(4), 1.0)) == pytest.approx(2.0)


def test_several_workers_share_the_work_left_but_not_below_its_largest_run():
    """Runs finish out of plan order on parallel back-ends: what is left is counted by run, not by position."""
    estimate = WorkEstimate(["CNN", "CNN", "CNN", "CNN"], [1000, 1000, 1000, 4000])
    estimate.epoch_finished("CNN", slots=1000, seconds=10.0)
    assert estimate.seconds_left({1: 1.0, 3: 0.5}, workers=2) == pytest.approx((10 + 10 + 20) / 2)
    assert estimate.seconds_left({0: 1.0, 1: 1.0, 2: 1.0}, workers=2) == pytest.approx(40.0)
    assert estimate.seconds_left({}, workers=1) == pytest.approx(70.0)
