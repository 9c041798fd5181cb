"""The Train page defaults to the converged protocol and says, before Start, how long the comparison will take."""

from __future__ import annotations

import pytest
import streamlit as st

import textclf.runs.calibration as calibration
from tests.test_app import assert_clean, button, page
from textclf.data.demo import demo_dataset

FAKE_RATE = 1e-5


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def measured(monkeypatch):
    """A made-up rate instead of a timed training: instant, and it records which settings were measured."""
    asked = []

    def fake(spec, threads):
        asked.append((spec.key, threads))
        return FAKE_RATE

    monkeypatch.setattr(calibration, "measure_rate", fake)
    return asked


def train_page(**session):
    at = page("pages/2_Train.py")
    at.session_state["dataset"] = demo_dataset(rows=160, seed=3)
    for key, value in session.items():
        at.session_state[key] = value
    return at.run()


def estimate_lines(at) -> list[str]:
    return [i.value for i in at.info if i.value.startswith("Estimated time on this machine")]


def test_the_form_defaults_to_each_models_own_cap_and_300_dimensional_embeddings(measured):
    at = train_page()
    assert_clean(at)
    assert next(n for n in at.number_input if n.label == "Epochs (max)").value == 30
    assert next(s for s in at.selectbox if s.label == "Embedding size").value == 300
    quick = next(c for c in at.checkbox if c.label.startswith("Quick look"))
    assert quick.label == "Quick look (3 epochs, under-trained)" and not quick.value
    assert not estimate_lines(at) and measured == []  # opening the page trains nothing
    assert any("Estimate the time" in c.value for c in at.caption)


def test_estimating_calibrates_once_and_the_estimate_then_shows_at_once(measured):
    at = train_page()
    button(at, "Estimate the time").click().run()
    assert_clean(at)
    assert sorted(measured) == [("cnn", 1), ("rnn", 1)]
    (line,) = estimate_lines(at)
    assert "about" in line and "stop a few epochs after its best one" in line
    assert "if every neural run kept improving to its epoch cap, it would take up to" in line
    again = train_page()
    assert_clean(again)
    assert estimate_lines(again) == [line] and len(measured) == 2


def test_a_quick_look_whose_cap_ends_every_run_gives_no_upper_bound(measured):
    at = train_page()
    next(c for c in at.checkbox if c.label.startswith("Quick look")).check()
    button(at, "Estimate the time").click().run()
    assert_clean(at)
    (line,) = estimate_lines(at)
    assert "about" in line and "up to" not in line


@pytest.mark.slow  # over 1.9 s: the fast subset stays under 2 minutes
def test_a_started_comparison_records_its_estimate_and_a_quick_look_says_it_is_under_trained(measured):
    at = train_page()
    at.multiselect[0].set_value(["TextCNN", "SVM"])
    at.multiselect[1].set_value(["bucket"])
    next(c for c in at.checkbox if c.label.startswith("Quick look")).check()
    button(at, "Estimate the time").click().run()
    assert estimate_lines(at)
    button(at, "Start training").click().run()
    assert_clean(at)
    job = at.session_state["job"]
    assert job.wait(timeout=120) and job.status == "done", job.error
    assert job.config.quick_look and job.config.epochs == 3 and job.config.estimated_seconds > 0
    assert job.comparison().table.set_index("model").loc["TextCNN", "epochs_run"] <= 3
    at.run()
    assert any(c.value.startswith("Took ") and "estimated before Start" in c.value for c in at.caption)
    compare = page("pages/3_Compare.py")
    compare.session_state["job"] = job
    compare.run()
    assert_clean(compare)
    shown = [m.value.replace("\\", "").replace("\u2060", "") for m in compare.markdown]  # as the reader sees it
    assert any("quick look, under-trained on purpose" in text for text in shown)
    assert any(c.value.startswith("Took ") and "estimated before Start" in c.value for c in compare.caption)
    from_history = page("pages/3_Compare.py")
    from_history.session_state["compare_source"] = {"kind": "experiment", "id": job.experiment_id}
    from_history.run()
    assert_clean(from_history)
    assert any("estimated before Start: about" in c.value for c in from_history.caption)


def test_the_defaults_leave_cap_batch_size_and_learning_rate_to_each_model_as_the_command_line_does(measured):
    at = train_page()
    at.multiselect[0].set_value(["SVM"])
    button(at, "Start training").click().run()
    job = at.session_state["job"]
    assert job.wait(timeout=60) and job.status == "done", job.error
    assert job.config.epochs is None and not job.config.quick_look
    assert job.config.batch_size is None and job.config.lr is None  # 50 for Kim's models, 32 and 5e-5 fine-tuning
    assert job.config.estimated_seconds == pytest.approx(calibration.CLASSICAL_MIN_SECONDS)
