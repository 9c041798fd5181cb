"""The test texts behind a confusion-matrix cell and those the models disagree on (issue 23 item 5)."""

from __future__ import annotations

import pytest

from textclf.data.demo import demo_dataset
from textclf.data.reading import Dataset
from textclf.results.errors import (
    RIGHT,
    TEXT,
    TRUTH,
    cell_texts,
    comparison_texts,
    confusion_table,
    disagreements,
    largest_error,
    shared_runs,
)
from textclf.results.report import run_label
from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig


@pytest.fixture(scope="module")
def data() -> Dataset:
    return demo_dataset(rows=200, seed=3)


@pytest.fixture(scope="module")
def done(data):
    return compare(data, CompareConfig(models=("svm", "knn:k=1")))


def test_the_texts_are_rebuilt_from_the_dataset_with_the_comparisons_split(data, done):
    texts = comparison_texts(done, data)
    assert len(texts) == len(done.test_labels)
    by_text = dict(zip(data.texts, data.labels, strict=False))
    assert [str(by_text[t]) for t in texts] == done.test_labels


def test_other_data_gives_no_texts(data, done):
    assert comparison_texts(done, None) is None
    assert comparison_texts(done, demo_dataset(rows=200, seed=4)) is None  # same name, other rows


def test_a_cell_lists_the_texts_its_run_put_there_with_every_runs_prediction(data, done):
    texts = comparison_texts(done, data)
    svm = done.runs[0]
    true_class, predicted = largest_error(done, svm)
    counts = confusion_table(done, svm)
    listed = cell_texts(done, texts, svm, true_class, predicted)
    assert len(listed) == counts.loc[true_class, predicted]
    assert (listed[TRUTH] == true_class).all() and (listed[run_label(svm.record)] == predicted).all()
    assert set(listed[TEXT]) <= set(texts)
    assert {run_label(r.record) for r in done.runs} <= set(listed.columns)


def test_the_normalised_matrix_gives_each_true_class_its_share(done):
    shares = confusion_table(done, done.runs[1], normalise=True)
    counts = confusion_table(done, done.runs[1])
    assert shares.sum(axis=1).round(9).tolist() == [1.0] * len(done.classes)
    first = done.classes[0]
    assert shares.loc[first, first] == pytest.approx(counts.loc[first, first] / counts.loc[first].sum())


def test_disagreements_are_the_texts_the_runs_label_differently(data, done):
    texts = comparison_texts(done, data)
    split = disagreements(done, texts)
    svm, knn = (run_label(r.record) for r in done.runs)
    assert (split[svm] != split[knn]).all()
    expected = sum(a != b for a, b in zip(done.runs[0].predictions, done.runs[1].predictions, strict=True))
    assert 0 < len(split) == expected
    assert split[RIGHT].is_monotonic_increasing


def test_without_texts_rows_are_numbered_and_cross_validation_keeps_fold_one(data):
    folds = compare(data, CompareConfig(models=("svm", "knn"), cv=3))
    assert len(shared_runs(folds)) == 2 and all(r.record["fold"] == 1 for r in shared_runs(folds))
    assert comparison_texts(folds, data) is not None
    numbered = disagreements(folds, None)
    assert all(text.startswith("test text ") for text in numbered[TEXT])
