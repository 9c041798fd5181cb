"""What a comparison produced: one record per run with its history and test predictions, the split's header,
and the JSON form it is saved and loaded in."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from textclf.data.split import fold_index
from textclf.errors import TextclfError
from textclf.models.base import TextClassifier
from textclf.runs.config import CompareConfig
from textclf.training.batching import EVALUATION_BATCHING

RESULT_COLUMNS = [
    "model", "batching", "seed", "fold", "accuracy", "macro_f1", "seconds_per_epoch", "seconds_to_best_epoch",
    "train_seconds", "train_cpu_seconds", "refit_seconds", "cpu_seconds_per_epoch", "validation_seconds",
    "inference_seconds", "inference_cpu_seconds", "inference_padded_slots", "fit_wall_seconds", "load_per_core",
    "timing_note", "epochs_run", "best_epoch", "steps", "examples_seen", "real_tokens", "padded_slots", "padding_waste",
    "batch_shapes", "parameters", "test_texts", "model_key", "note",
]


TIMING_COLUMNS = [c for c in RESULT_COLUMNS if "seconds" in c] + ["load_per_core", "timing_note"]


RESULTS_FORMAT = 1


INTEGER_COLUMNS = ("seed", "fold", "epochs_run", "best_epoch", "steps", "examples_seen", "real_tokens", "padded_slots",
                   "batch_shapes", "parameters")


@dataclass
class RunResult:
    """One run's results row, per-epoch history, test predictions, the fitted model and where it ran."""

    record: dict
    history: list[dict]
    predictions: list[str]
    estimator: TextClassifier | None = None
    placement: dict = field(default_factory=dict)


@dataclass
class Comparison:
    """Everything a comparison produced, ready for a table, charts, a store or a JSON file."""

    config: CompareConfig
    dataset_name: str
    classes: list[str]
    tokenizer: str
    split_sizes: dict[str, int]
    split_notes: list[str]
    test_labels: list[str]
    test_lengths: list[int]
    max_len: int | None = None
    runs: list[RunResult] = field(default_factory=list)
    folds: list[dict] = field(default_factory=list)
    evaluation_batching: str = EVALUATION_BATCHING
    failures: list[dict] = field(default_factory=list)
    train_class_counts: dict[str, int] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        return results_table([r.record for r in self.runs])

    def test_of(self, record: dict) -> tuple[list[str], list[int]]:
        """True labels and token lengths of the test texts the run with this record was scored on."""
        if not self.folds:
            return self.test_labels, self.test_lengths
        fold = self.folds[fold_index(record.get("fold"))]
        return fold["test_labels"], fold["test_lengths"]

    def to_json(self) -> dict:
        return {
            "format": RESULTS_FORMAT, "dataset": self.dataset_name, "classes": self.classes,
            "tokenizer": self.tokenizer, "split_sizes": self.split_sizes, "split_notes": self.split_notes,
            "config": self.config.to_dict(), "test_labels": self.test_labels, "test_lengths": self.test_lengths,
            "max_len": self.max_len, "folds": self.folds, "evaluation_batching": self.evaluation_batching,
            "failures": self.failures, "train_class_counts": self.train_class_counts,
            "runs": [{**r.record, "history": r.history, "test_predictions": r.predictions} for r in self.runs],
        }



PER_TEXT_KEYS = ("test_probabilities", "probability_classes")  # kept in a record, not a column of the table


def results_table(records: Sequence[dict]) -> pd.DataFrame:
    """One row per run, the columns in a stable order; counts stay whole numbers (blank where they do not apply)."""
    frame = pd.DataFrame([{k: v for k, v in record.items() if k not in PER_TEXT_KEYS} for record in records])
    frame = frame.reindex(columns=RESULT_COLUMNS + [c for c in frame.columns if c not in RESULT_COLUMNS])
    return frame.astype({column: "Int64" for column in INTEGER_COLUMNS})


def load_results(path: str | Path) -> Comparison:
    """Read a JSON file written by `Comparison.save` (or `compare --out`) back into a `Comparison`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise TextclfError(f"{path} is not a text file, so not a textclf results file (compare --out writes "
                           "one).") from None
    except (OSError, ValueError, RecursionError) as err:
        raise TextclfError(f"Cannot read results from {path}: {err}.") from None
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT:
        raise TextclfError(f"{path} is not a textclf results file.")
    try:
        return comparison_from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise TextclfError(f"{path} is a damaged textclf results file ({type(err).__name__}: {err}).") from None


def comparison_from_json(data: dict) -> Comparison:
    runs = []
    for raw in data["runs"]:
        record = {k: v for k, v in raw.items() if k not in ("history", "test_predictions")}
        runs.append(RunResult(record, raw.get("history", []), raw.get("test_predictions", [])))
    return Comparison(
        config=CompareConfig.from_dict(data["config"]), dataset_name=data["dataset"], classes=data["classes"],
        tokenizer=data["tokenizer"], split_sizes=data["split_sizes"], split_notes=data.get("split_notes", []),
        test_labels=data["test_labels"], test_lengths=data.get("test_lengths", []), max_len=data.get("max_len"),
        runs=runs, folds=data.get("folds", []), evaluation_batching=data.get("evaluation_batching", "not recorded"),
        failures=data.get("failures", []), train_class_counts=data.get("train_class_counts", {}),
    )
