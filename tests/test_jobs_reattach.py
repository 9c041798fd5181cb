"""Pages reattach to the experiment the URL names (?experiment=ID): a reload or another tab is a new session,
yet shows the same comparison, live while this server trains it, else from the store with its kept dataset.

Marked slow: each runs a page or two in AppTest (a second or more each)."""

from __future__ import annotations

import threading

import pytest

from dashboard.state import runner as state_runner
from tests.test_app import assert_clean, fresh_caches, page  # noqa: F401  (fresh_caches is an autouse fixture)
from textclf.jobs.runner import JobRunner
from textclf.runs.config import CompareConfig
from textclf.storage.store import Store


@pytest.mark.slow
def test_a_new_session_on_the_train_page_of_a_running_experiment_shows_its_progress_and_cancel(small_demo):
    hold, held = threading.Event(), threading.Event()

    def wait_at_the_start(event):
        held.set()
        hold.wait(timeout=30)

    job = state_runner().submit(small_demo, CompareConfig(models=("svm", "knn:k=3")), on_event=wait_at_the_start)
    try:
        assert held.wait(timeout=60)
        at = page("pages/2_Train.py")
        at.query_params["experiment"] = str(job.experiment_id)
        at.run()
        assert_clean(at)
        assert at.session_state["job"] is job and at.session_state["dataset"] is small_demo
        assert any(h.value == f"Experiment #{job.experiment_id}" for h in at.subheader)
        assert any(e.label == "Settings for another comparison" for e in at.expander)
        next(b for b in at.button if b.label == "Cancel training").click().run()
    finally:
        hold.set()
    assert job.wait(timeout=60) and job.status == "cancelled" and job.progress()["runs_done"] == 1


@pytest.mark.slow
def test_an_experiment_trained_by_another_process_opens_from_the_store_with_its_dataset(tmp_path, small_demo):
    """Trained by a runner of its own (as `compare` in a terminal, or a server since restarted)."""
    other = JobRunner(Store())
    job = other.submit(small_demo, CompareConfig(models=("svm", "knn:k=3")))
    assert job.wait(timeout=60) and job.status == "done"
    other.shutdown()
    for path in ("pages/3_Compare.py", "pages/4_Predict.py"):
        at = page(path)
        at.query_params["experiment"] = str(job.experiment_id)
        at.run()
        assert_clean(at)
        assert at.session_state["compare_source"] == {"kind": "experiment", "id": job.experiment_id}
        assert at.session_state["dataset"].texts == small_demo.texts
    assert any(f"experiment #{job.experiment_id}" in c.value for c in at.caption) or path.endswith("Predict.py")


@pytest.mark.slow
def test_a_link_to_an_experiment_that_is_not_there_says_so_without_an_error(small_demo):
    for wanted, words in (("999", "not in the run store"), ("![x](http://example.com/p)", "not an experiment number"),
                          (str(2**70), "not in the run store")):
        at = page("pages/3_Compare.py")
        at.query_params["experiment"] = wanted
        at.run()
        assert_clean(at)
        assert any(words in w.value for w in at.warning), [w.value for w in at.warning]
        assert "compare_source" not in at.session_state
        assert "example.com" not in " ".join(w.value for w in at.warning), "the link's text is never shown"


@pytest.mark.slow
def test_train_shows_an_experiment_another_process_trains_and_cancels_it_through_the_store(small_demo):
    """Recorded as running by this test's own process (alive), as a terminal's `compare` would be."""
    store = Store()
    experiment = store.create_experiment(small_demo, CompareConfig(models=("svm", "knn:k=3")))
    store.start_experiment(experiment)
    at = page("pages/2_Train.py")
    at.query_params["experiment"] = str(experiment)
    at.run()
    assert_clean(at)
    assert any(m.value == "Running in another process: 0 of 2 runs finished." for m in at.markdown)
    next(b for b in at.button if b.label == "Cancel training").click().run()
    assert_clean(at)
    assert store.cancel_requested(experiment)


@pytest.mark.slow
def test_the_train_form_asks_only_what_applies_to_the_models_and_embeddings_chosen(small_demo):
    at = page("pages/2_Train.py")
    at.session_state["dataset"] = small_demo
    at.run()
    labels = lambda kind: {w.label for w in getattr(at, kind)}  # noqa: E731
    assert {"RNN cell"} <= labels("radio") and "RNN pooling" in labels("selectbox")
    assert "Word vectors from" not in labels("radio") and not at.get("file_uploader"), "rand needs no vectors"
    at.multiselect[0].set_value(["TextCNN", "SVM"]).run()
    assert "RNN cell" not in labels("radio") and "RNN pooling" not in labels("selectbox")
    at.multiselect[2].set_value(["rand", "static"]).run()
    assert "Word vectors from" in labels("radio") and not at.get("file_uploader"), "word2vec: no file to upload"
    at.multiselect[0].set_value(["SVM"]).run()
    assert "Embeddings (neural models)" not in labels("multiselect") and "Word vectors from" not in labels("radio")
    assert_clean(at)
