"""One run of the grid: train one model on the training part and score it on the test part, timing each phase
apart. A plain function of its inputs (a `RunSpec` and the `Prepared` data), so any back-end can execute it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from textclf.errors import TextclfError
from textclf.models import get_model_class
from textclf.models.base import TextClassifier
from textclf.models.neural import STILL_IMPROVING, best_epoch  # noqa: F401  (STILL_IMPROVING: re-exported)
from textclf.runs.comparison import RunResult
from textclf.runs.config import CompareConfig, RunSpec
from textclf.runs.prepare import Prepared
from textclf.training.loop import ProgressCallback, StopCheck
from textclf.training.timing import Stopwatch, machine_load, wall_cpu_disagree

REFIT_STAGE = "refit"


def build_estimator(run: RunSpec, config: CompareConfig, prepared: Prepared) -> TextClassifier:
    cls = get_model_class(run.model.key)
    params = {"tokenizer": prepared.tokenizer, "seed": run.seed,
              **cls.run_settings(run.batching, prepared.fold_max_len(run.fold), config), **run.model.params}
    try:
        return cls(**params)
    except TypeError as err:
        raise TextclfError(f"Model {run.model.key!r} does not take that option ({err}).") from None


def run_one(run: RunSpec, prepared: Prepared, config: CompareConfig, *, progress: ProgressCallback | None = None,
            should_stop: StopCheck | None = None) -> RunResult:
    """Train one model on the training part and evaluate it on the test part, timing each phase apart.

    The model's family says how it fits on the parts (neural models stop early on the validation part; a
    classical model has no use for it and trains on it too). With `config.refit` a model trained in epochs is
    then trained again, from scratch, on training + validation for its best epoch's number of epochs, so that
    every model learns from all the texts outside the test part; its record keeps the early-stopped run's epochs
    (learning curves, padding, seconds per epoch) and adds the refit's time to the training time."""
    estimator = build_estimator(run, config, prepared)
    raw = estimator.reads_raw_text
    train_docs, train_labels = prepared.part("train", run.fold, raw=raw)
    validation = prepared.part("validation", run.fold, raw=raw)
    load = machine_load()
    with Stopwatch() as fitting:
        estimator.fit_for_run((train_docs, train_labels), validation, progress=progress, should_stop=should_stop)
    history = estimator.history_records()
    refitting = None
    if history and config.refit and len(validation[0]):
        all_docs, all_labels = train_docs + validation[0], list(np.concatenate([train_labels, validation[1]]))
        estimator, refitting = _refit(run, config, prepared, best_epoch(history), (all_docs, all_labels), progress,
                                      should_stop)
    test_docs, test_labels = prepared.part("test", run.fold, raw=raw)
    with Stopwatch() as inference:
        predicted = estimator.predict(test_docs)
    record = _record(run, estimator, list(test_labels), predicted, history)
    record.update(inference_seconds=inference.wall, inference_cpu_seconds=inference.cpu,
                  fit_wall_seconds=fitting.wall, load_per_core=load)
    if not history:
        record.update(train_seconds=fitting.wall, train_cpu_seconds=fitting.cpu, seconds_to_best_epoch=fitting.wall)
    record.update(estimator.run_measures(test_docs))
    record.update(kept_probabilities(estimator, test_docs))
    if refitting is not None:
        record.update(refit_seconds=refitting.wall, train_seconds=record["train_seconds"] + refitting.wall,
                      train_cpu_seconds=record["train_cpu_seconds"] + refitting.cpu,
                      fit_wall_seconds=record["fit_wall_seconds"] + refitting.wall)
    record["timing_note"] = timing_note(record)
    return RunResult(record, history, [str(p) for p in predicted], estimator)


def _refit(run: RunSpec, config: CompareConfig, prepared: Prepared, epochs: int, data: tuple,
           progress: ProgressCallback | None, should_stop: StopCheck | None) -> tuple[TextClassifier, Stopwatch]:
    """A fresh model trained on training + validation for `epochs` (the early-stopped run's best); its training
    events say `stage: refit`, so a progress display does not read epoch 1 again as the run starting over."""
    estimator = build_estimator(run, config, prepared).set_params(epochs=epochs)
    tagged = (lambda event: progress(replace(event, stage=REFIT_STAGE))) if progress else None
    with Stopwatch() as refitting:
        estimator.fit(*data, validation=([], []), progress=tagged, should_stop=should_stop)
    return estimator, refitting


def _record(run: RunSpec, estimator: TextClassifier, truth: list, predicted: np.ndarray,
            history: list[dict]) -> dict:
    record = {
        "model": run.model.label, "model_key": run.model.key, "batching": run.batching, "seed": run.seed,
        "fold": run.fold, "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "parameters": estimator.n_parameters, "test_texts": len(truth), **estimator.fit_details(),
    }
    if history:
        record.update(_epoch_totals(history))
    record["note"] = estimator.run_note(history)
    return record


def _epoch_totals(history: list[dict]) -> dict:
    """Training-only time (all epochs, and up to the best one), validation time and padding, from the epochs."""
    best = best_epoch(history)
    real = sum(h["real_tokens"] for h in history)
    slots = sum(h["padded_slots"] for h in history)
    seconds = [h["seconds"] for h in history]
    cpu = [h.get("cpu_seconds", np.nan) for h in history]
    return {
        "train_seconds": float(sum(seconds)), "train_cpu_seconds": float(sum(cpu)),
        "seconds_per_epoch": float(np.mean(seconds)), "cpu_seconds_per_epoch": float(np.mean(cpu)),
        "seconds_to_best_epoch": float(sum(seconds[:best])),
        "validation_seconds": float(sum(h.get("val_seconds", np.nan) for h in history)),
        "epochs_run": len(history), "best_epoch": best, "steps": sum(h["steps"] for h in history),
        "examples_seen": sum(h["examples"] for h in history), "real_tokens": real, "padded_slots": slots,
        "padding_waste": 1 - real / slots, "batch_shapes": max(h["batch_shapes"] for h in history),
    }


PROBABILITY_VALUES = 50_000  # test texts × classes kept per run: at most about 400 kB of JSON in the store


def kept_probabilities(estimator: TextClassifier, test_docs) -> dict:
    """Every test text's class probabilities (4 decimals) and their classes' order, kept with the record so the
    results can draw ROC and precision-recall curves; none for a model without probabilities or a test set over
    `PROBABILITY_VALUES`. Computed after the timed prediction, so no time column counts them."""
    classes = getattr(estimator, "classes_", None)
    if classes is None or not estimator.has_probabilities or len(test_docs) * len(classes) > PROBABILITY_VALUES:
        return {}
    return {"test_probabilities": np.round(estimator.predict_proba(test_docs), 4).tolist(),
            "probability_classes": [str(c) for c in classes]}


def timing_note(record: dict) -> str:
    """A warning when training's wall and CPU time disagree by more than 25 % (a busy machine, or threads)."""
    wall, cpu = record.get("train_seconds"), record.get("train_cpu_seconds")
    if wall is None or cpu is None or not wall_cpu_disagree(wall, cpu):
        return ""
    load = record.get("load_per_core")
    busy = f", load {load:.1f} per core at the start" if load is not None else ""
    reason = "the machine was busy" if cpu < wall else "training used several threads"
    return f"wall {wall:.1f} s vs CPU {cpu:.1f} s: {reason}{busy}; compare CPU times"


@dataclass(frozen=True)
class Refusal:
    """What a run returns when its model refuses the settings or the data (a `TextclfError`, in words)."""

    message: str


def run_or_refusal(run: RunSpec, prepared: Prepared, config: CompareConfig, *, keep_model: bool = True,
                   **options) -> RunResult | Refusal:
    """`run_one`, with a refusal returned rather than raised: on a parallel back-end an exception would stop
    the runs training beside it, and every back-end must train and store the same runs.

    Without `keep_model` the fitted model stays where it trained: a worker would otherwise pickle it (an SVM's
    vocabulary and coefficients are hundreds of MB on a large data set) only for the caller to drop it."""
    try:
        result = run_one(run, prepared, config, **options)
    except TextclfError as err:
        return Refusal(str(err))
    return result if keep_model else replace(result, estimator=None)
