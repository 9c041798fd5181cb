"""Compare's errors you can read (issue 23 item 5): a confusion-matrix cell's texts, the normalised matrix and the
texts the models disagree on, through the page. Classical models on the demo data: seconds to train."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_app import assert_clean, figure, fresh_caches, page, values  # noqa: F401  (fresh_caches: autouse)
from tests.test_dashboard import _FinishedJob
from textclf.data.demo import demo_dataset
from textclf.results.errors import cell_texts, comparison_texts
from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig


@pytest.fixture(scope="module")
def data():
    return demo_dataset(rows=200, seed=3)


@pytest.fixture(scope="module")
def done(data):
    return compare(data, CompareConfig(models=("svm", "knn:k=1")))


def open_compare(done, data=None):
    at = page("pages/3_Compare.py")
    at.session_state["job"] = _FinishedJob(done)
    if data is not None:
        at.session_state["dataset"] = data
    return at.run()


def frame(at, key: str):
    """The texts of the chosen cell, then those the runs disagree on: the page's tables with a Text column."""
    listed = [f.value for f in at.dataframe if "Text" in f.value.columns]
    return listed[["cell_texts", "disagreements"].index(key)]


def selectbox(at, label: str):
    return next(s for s in at.selectbox if s.label == label)


@pytest.mark.slow  # over 1.9 s: the fast subset stays under 2 minutes
def test_choosing_a_cell_lists_its_texts_with_each_models_prediction(done, data):
    at = open_compare(done, data)
    assert_clean(at)
    texts = comparison_texts(done, data)
    svm = done.runs[0]
    shown = frame(at, "cell_texts")
    expected = cell_texts(done, texts, svm, selectbox(at, "True class").value, selectbox(at, "Predicted class").value)
    assert len(shown) == len(expected) > 0  # the largest error cell by default
    assert shown["Text"].tolist() == expected["Text"].tolist()
    selectbox(at, "True class").set_value("praise").run()
    selectbox(at, "Predicted class").set_value("praise").run()
    assert_clean(at)
    praised = frame(at, "cell_texts")
    assert len(praised) == cell_texts(done, texts, svm, "praise", "praise").shape[0] > 0
    assert set(praised["Text"]) <= set(texts)
    disagreed = frame(at, "disagreements")
    answers = disagreed["Answers"]  # the runs' labels in one column: "label: runs; other label: runs"
    assert all(name in text for text in answers for name in ("SVM", "kNN (k=1)"))
    assert (answers.str.count("; ") == 1).all()  # the two runs gave two different labels to every text listed


@pytest.mark.slow  # over 1.9 s: the fast subset stays under 2 minutes
def test_the_normalise_toggle_shows_each_true_classs_shares(done):
    at = open_compare(done)
    assert_clean(at)
    assert frame(at, "cell_texts")["Text"].str.startswith("test text ").all()  # no dataset in the session
    at.toggle(key="normalise").set_value(True).run()
    assert_clean(at)
    traces = [trace for i in range(len(at.get("plotly_chart"))) for trace in figure(at, i)["data"]]
    heatmap = next(trace for trace in traces if trace.get("type") == "heatmap")
    n = len(done.classes)
    shares = np.asarray(values(heatmap["z"]) if isinstance(heatmap["z"], dict) else heatmap["z"]).reshape(n, n)
    assert shares.sum(axis=1).round(9).tolist() == [1.0] * n


@pytest.mark.slow  # over 1.9 s: the fast subset stays under 2 minutes
def test_under_cross_validation_fold_ones_runs_list_their_texts_and_the_others_say_so(data):
    folds = compare(data, CompareConfig(models=("svm", "knn"), cv=3))
    at = open_compare(folds, data)
    assert_clean(at)
    listed = frame(at, "cell_texts")["Text"]
    assert len(listed) > 0 and set(listed) <= set(comparison_texts(folds, data))
    runs = selectbox(at, "Confusion matrix of run")
    later = next(i for i, run in enumerate(folds.runs) if run.record["fold"] == 2)
    runs.set_value(later).run()
    assert_clean(at)
    assert any("fold 1" in box.value for box in at.info)
    assert not [f for f in at.dataframe if "Text" in f.value.columns]


@pytest.mark.slow  # over 1.9 s: the fast subset stays under 2 minutes
def test_a_listed_text_opens_on_predict_to_be_explained(done, data):
    at = open_compare(done, data)
    assert_clean(at)
    listed = frame(at, "cell_texts")["Text"].tolist()
    selectbox(at, "A text of this cell").set_value(1).run()
    next(b for b in at.button if b.label == "Explain on Predict").click().run()
    assert at.session_state["predict_text"] == listed[1]
