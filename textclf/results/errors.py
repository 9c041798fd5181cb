"""Errors you can read: the test texts behind a confusion-matrix cell, and those the models disagree on.

A comparison keeps its test labels and every run's predictions but not the texts (the store holds results, not
data), so the texts are rebuilt from the dataset with the comparison's own split, and only when that split gives
the very labels the comparison was scored on. Under cross-validation the texts are those of fold 1, and only the
runs scored on them are listed."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sklearn.metrics import confusion_matrix

from textclf.data.reading import Dataset
from textclf.data.split import fold_index
from textclf.errors import DataError
from textclf.results.pairwise import cell_name
from textclf.results.report import run_label
from textclf.runs.comparison import Comparison, RunResult
from textclf.runs.prepare import make_splits

TEXT, TRUTH, RIGHT = "Text", "True class", "Models right"


def comparison_texts(comparison: Comparison, dataset: Dataset | None) -> list[str] | None:
    """The texts of the comparison's (first) test set, or None when `dataset` is not the data it was run on."""
    if dataset is None or dataset.name != comparison.dataset_name:
        return None
    try:
        test = make_splits(dataset, comparison.config)[0].test
    except DataError:  # the data cannot be split as the comparison's was: not its dataset
        return None
    if [str(dataset.labels[i]) for i in test] != [str(label) for label in comparison.test_labels]:
        return None
    return [dataset.texts[i] for i in test]


def shared_runs(comparison: Comparison) -> list[RunResult]:
    """The runs scored on the first test set (all of them, or fold 1's under cross-validation)."""
    return [run for run in comparison.runs if fold_index(run.record.get("fold")) == 0
            and len(run.predictions) == len(comparison.test_labels)]


def confusion_table(comparison: Comparison, run: RunResult, *, normalise: bool = False) -> pd.DataFrame:
    """True class (rows) by predicted class (columns): counts, or each row's share of its true class."""
    truth, _ = comparison.test_of(run.record)
    values = confusion_matrix(truth, run.predictions, labels=comparison.classes,
                              normalize="true" if normalise else None)
    return pd.DataFrame(values, index=comparison.classes, columns=comparison.classes)


def largest_error(comparison: Comparison, run: RunResult) -> tuple[str, str]:
    """The (true, predicted) cell with the most mistakes, or the first class's diagonal when there are none."""
    counts = confusion_table(comparison, run)
    mistakes = counts.stack()
    mistakes = mistakes[[true != predicted for true, predicted in mistakes.index]]
    if mistakes.empty or mistakes.max() == 0:
        return comparison.classes[0], comparison.classes[0]
    return mistakes.idxmax()


def predictions_frame(comparison: Comparison, texts: Sequence[str] | None) -> pd.DataFrame:
    """One row per text of the first test set: the text (its number when the texts are not at hand), its true
    class, how many runs got it right, and each run's prediction."""
    runs = shared_runs(comparison)
    truth = [str(label) for label in comparison.test_labels]
    frame = pd.DataFrame({TEXT: list(texts) if texts is not None else [f"test text {i + 1}" for i in range(len(truth))],
                          TRUTH: truth})
    for run in runs:
        frame[run_label(run.record)] = [str(label) for label in run.predictions]
    frame[RIGHT] = sum((frame[run_label(run.record)] == frame[TRUTH]).astype(int) for run in runs) if runs else 0
    return frame


def cell_texts(comparison: Comparison, texts: Sequence[str] | None, run: RunResult, true_class: str,
               predicted_class: str) -> pd.DataFrame:
    """The test texts of class `true_class` that `run` labelled `predicted_class`, with every run's prediction."""
    frame = predictions_frame(comparison, texts)
    chosen = frame[run_label(run.record)]
    return frame[(frame[TRUTH] == str(true_class)) & (chosen == str(predicted_class))].reset_index(drop=True)


def disagreements(comparison: Comparison, texts: Sequence[str] | None) -> pd.DataFrame:
    """The test texts on which the runs do not all give the same label, the most contested first."""
    frame = predictions_frame(comparison, texts)
    labels = frame[[run_label(run.record) for run in shared_runs(comparison)]]
    if labels.shape[1] < 2:
        return frame.iloc[0:0]
    split = frame[labels.nunique(axis=1) > 1]
    return split.sort_values(RIGHT, kind="stable").reset_index(drop=True)


ANSWERS = "Answers"


def compact(frame: pd.DataFrame, runs: Sequence[RunResult]) -> pd.DataFrame:
    """`predictions_frame` rows with the runs' labels gathered into one column, the most given label first:
    'negative: TextCNN ×4, SVM; neutral: BiLSTM · bucketed ×2, kNN (k=3)' (a model whose runs all agree is
    named once, ×4 counting its runs). One short column however many runs there are, so the table fits the page."""
    columns = [run_label(run.record) for run in runs]
    models = [run.record["model"] for run in runs]
    cells = [cell_name((run.record["model"], run.record["batching"])) for run in runs]
    answers = [_answers(row, models, cells) for row in frame[columns].itertuples(index=False)] if len(frame) else []
    return pd.DataFrame({TEXT: frame[TEXT], TRUTH: frame[TRUTH], RIGHT: frame[RIGHT], ANSWERS: answers})


def _answers(labels: Sequence[str], models: Sequence[str], cells: Sequence[str]) -> str:
    labels = [str(label) for label in labels]
    agreed = {model for model in models if len({lb for lb, m in zip(labels, models, strict=True) if m == model}) == 1}
    given: dict[str, dict[str, int]] = {}
    for label, model, cell in zip(labels, models, cells, strict=True):
        counts = given.setdefault(label, {})
        name = model if model in agreed else cell
        counts[name] = counts.get(name, 0) + 1
    ordered = sorted(given.items(), key=lambda item: -sum(item[1].values()))
    return "; ".join(f"{label}: " + ", ".join(name + (f" ×{n}" if n > 1 else "") for name, n in counts.items())
                     for label, counts in ordered)
