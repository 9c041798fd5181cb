"""One Start per browser session: a double click queues one comparison, and a queued one says what it waits for."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.state import runner as dashboard_runner
from textclf.data.demo import demo_dataset
from textclf.jobs.runner import JobRunner
from textclf.runs.config import CompareConfig
from textclf.runs.events import BatchDone

ROOT = Path(__file__).resolve().parents[1]
SVM = CompareConfig(models=("svm",))


@pytest.fixture
def held_runner(small_demo):
    """A runner whose first job is held at its first batch until `release` is set."""
    release = threading.Event()
    started = threading.Event()

    def hold(event):
        if isinstance(event, BatchDone):
            started.set()
            release.wait(timeout=60)

    runner = JobRunner()
    first = runner.submit(small_demo, CompareConfig(models=("cnn:embed_dim=8:filters=4",), batchings=("bucket",),
                                                    epochs=1, batch_size=16), on_event=hold, owner="first")
    assert started.wait(timeout=60)
    yield runner, first
    release.set()
    runner.shutdown()


def test_the_same_owner_gets_its_unfinished_job_back(held_runner, small_demo):
    runner, first = held_runner
    again = runner.submit(small_demo, SVM, owner="first")
    assert again is first and len(runner.jobs()) == 1
    assert runner.active_job("first") is first and runner.active_job("second") is None


def test_a_queued_job_knows_what_is_ahead_of_it(held_runner, small_demo):
    runner, first = held_runner
    second = runner.submit(small_demo, SVM, owner="second")
    third = runner.submit(small_demo, SVM, owner="third")
    assert second is not first and second.status == "queued"
    assert runner.ahead(first) == [] and runner.ahead(second) == [first] and runner.ahead(third) == [first, second]
    second.cancel()
    assert runner.ahead(third) == [first]


def test_an_owner_can_start_again_once_its_job_has_finished(small_demo):
    runner = JobRunner()
    try:
        first = runner.submit(small_demo, SVM, owner="me")
        assert first.wait(timeout=60)
        assert runner.submit(small_demo, SVM, owner="me") is not first
    finally:
        runner.shutdown()


@pytest.fixture
def fresh_runner():
    st.cache_resource.clear()
    yield
    for job in dashboard_runner().jobs():
        job.cancel()
    st.cache_resource.clear()


def train_page(data) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["dataset"] = data
    at.run()
    at.switch_page("pages/2_Train.py").run()
    at.multiselect[0].set_value(["TextCNN"]).run()  # the form then shows only what applies to a TextCNN
    next(n for n in at.number_input if n.label == "Epochs (max)").set_value(100)
    return at


def start_button(at: AppTest):
    return next(b for b in at.button if b.label == "Start training")


@pytest.mark.slow
def test_double_clicking_start_queues_one_job_and_a_second_session_waits_one_ahead(fresh_runner, monkeypatch):
    """One worker process, busy with the first session's run: the second session's run waits, and says so."""
    monkeypatch.setenv("TEXTCLF_BACKEND", "processes")
    monkeypatch.setenv("TEXTCLF_WORKERS", "1")
    data = demo_dataset(rows=400, seed=7)
    first, second = train_page(data), train_page(data)
    stale = start_button(first)  # the button as the browser still shows it when the second click lands
    stale.click().run()
    stale.click().run()
    assert not first.exception
    assert len(dashboard_runner().jobs()) == 1
    assert start_button(first).disabled and any("Start is disabled" in c.value for c in first.caption)
    start_button(second).click().run()
    assert not second.exception
    jobs = dashboard_runner().jobs()
    assert len(jobs) == 2 and jobs[1].status in ("queued", "running") and not jobs[1].progress()["runs_done"]
    deadline = time.monotonic() + 120
    while not any(info.value.startswith("Queued. 2nd in line, behind experiment #") for info in second.info):
        assert time.monotonic() < deadline, [i.value for i in second.info]
        time.sleep(0.2)
        second.run()
    assert next(b for b in second.button if b.label == "Cancel training")
    next(b for b in second.button if b.label == "Cancel training").click().run()
    assert jobs[1].wait(timeout=60) and jobs[1].status == "cancelled" and not jobs[1].progress()["runs_done"]
