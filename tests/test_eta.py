"""The time-left estimate counts work (padded slots, epochs), not the first seconds."""

from __future__ import annotations

import pytest

from textclf.models import create, get_model_class, model_keys
from textclf.models.neural import typical_best_epoch
from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig, ModelSpec, plan_runs
from textclf.runs.eta import WorkEstimate, planned_slots
from textclf.runs.prepare import prepare
from textclf.training.strategies import strategy_names

TINY = {"embed_dim": 8, "filters": 4, "hidden": 4, "latent": 4, "min_freq": 1}


def tiny_models() -> tuple[ModelSpec, ...]:
    """Every registered model trained from scratch, made as small as its settings allow. The pretrained
    encoder's models (a `path` to an encoder folder) cannot be made small: tests/test_encoder.py checks their
    plan on a tiny encoder."""
    specs = []
    for key in model_keys():
        names = get_model_class(key)._get_param_names()
        if "path" in names:
            continue
        specs.append(ModelSpec(key, {name: value for name, value in TINY.items() if name in names}))
    return tuple(specs)


def planned_and_trained(dataset, config: CompareConfig) -> list[tuple[str, int, int | None]]:
    """(run name, planned slots, slots its training processed) for every run of the comparison."""
    runs = plan_runs(config)
    planned = planned_slots(prepare(dataset, config), config, runs)
    done = {(r.record["model"], r.record["batching"], r.record["seed"]): r for r in compare(dataset, config).runs}
    trained = [done[(run.model.label, run.batching, run.seed)] for run in runs]
    return [(run.name, slots, result.record.get("padded_slots", 0) if result.history else 0)
            for run, slots, result in zip(runs, planned, trained, strict=True)]


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


@pytest.mark.slow
def test_every_model_is_planned_with_the_slots_it_trains_under_every_strategy(small_demo):
    """The plan goes through the objects training uses: HAN's two-level batches included (it was once planned
    as flat text: 6,786 slots planned against 11,640 trained), per-batch's random groups drawn as training draws
    them (same seed), so planned and trained slots agree exactly when early stopping does not cut in."""
    config = CompareConfig(models=tiny_models(), batchings=strategy_names(), seeds=(3,), epochs=2, patience=5,
                           batch_size=16, n_buckets=4)
    rows = planned_and_trained(small_demo, config)
    assert {name.split(" · ")[0] for name, *_ in rows} >= {"TextCNN", "HAN", "SVM"}
    assert [(name, planned) for name, planned, _ in rows] == [(name, trained) for name, _, trained in rows]
    han = {name: planned for name, planned, _ in rows if name.startswith("HAN")}
    assert len(han) == len(strategy_names()) and all(slots > 0 for slots in han.values())


def test_planning_leaves_a_fitted_model_as_it_was(small_demo):
    texts, labels = small_demo.texts, list(small_demo.labels)
    model = create("cnn", embed_dim=8, filters=4, epochs=1, batch_size=16).fit(texts, labels)
    before = model.predict_proba(texts[:10])
    assert model.planned_slots(model.training_lengths(texts)) == model.history_[0].padded_slots
    assert (model.predict_proba(texts[:10]) == before).all()


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


def test_a_run_is_expected_to_fill_its_expected_share_and_past_it_a_tenth_of_that_is_left():
    """Early stopping ends most runs long before the cap: time left counts the expected share of the planned
    slots, a run past its expected stop keeps a small remainder, and a finished run has none."""
    estimate = WorkEstimate(["CNN", "CNN"], [3000, 3000], expected=[1 / 6, 1 / 6])
    estimate.epoch_finished("CNN", slots=100, seconds=1.0)
    assert estimate.run_seconds(0, 0.0) == pytest.approx(5.0)
    assert estimate.run_seconds(0, 0.1) == pytest.approx(2.0)
    assert estimate.run_seconds(0, 0.5) == pytest.approx(0.5)
    assert estimate.run_seconds(0, 1.0) == 0.0
    assert estimate.seconds_left({0: 1.0}) == pytest.approx(5.0)


def test_a_neural_run_is_expected_to_stop_patience_epochs_after_the_typical_best_one():
    model = create("cnn", epochs=30, patience=2)
    best = typical_best_epoch(steps_per_epoch=200, classes=2)  # 10,000 texts in batches of 50
    assert model.expected_share(10_000, 2) == pytest.approx((best + 2) / 30)
    assert create("cnn", epochs=3, patience=5).expected_share(10_000, 2) == 1.0
    assert create("svm").expected_share(10_000, 2) == 1.0


def test_small_training_sets_and_many_classes_are_expected_to_take_more_epochs():
    """Fewer optimiser steps an epoch and more classes put the best epoch later (bench/best_epoch.py); a
    late best epoch also lengthens the wait after it, as early stopping does."""
    model = create("cnn", epochs=30, patience=2)
    assert model.expected_epochs(400, 2) > model.expected_epochs(10_000, 2) > 4
    assert model.expected_epochs(10_000, 10) > model.expected_epochs(10_000, 2)
    late = typical_best_epoch(steps_per_epoch=8, classes=10)
    assert late > 15 and model.expected_epochs(400, 10) == pytest.approx(min(30, late + 4))
