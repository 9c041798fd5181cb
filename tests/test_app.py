"""Each dashboard page, driven through Streamlit's AppTest (no browser)."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.state import runner as state_runner
from tests.conftest import shared_dataset
from textclf.data.demo import demo_csv, demo_dataset
from textclf.jobs.runner import JobRunner
from textclf.runs.config import CompareConfig
from textclf.storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["app.py", "pages/1_Data.py", "pages/2_Train.py", "pages/3_Compare.py", "pages/4_Predict.py",
         "pages/5_History.py"]
TINY = CompareConfig(models=("cnn:embed_dim=16:filters=8", "svm"), batchings=("max_length", "bucket"), epochs=2,
                     batch_size=16)


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test gets its own process-wide runner and store (under the test's TEXTCLF_HOME)."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()


def page(path: str, root: Path = ROOT) -> AppTest:
    """The page as the server runs it: app.py is the entry point (page links resolve against it)."""
    at = AppTest.from_file(str(root / "app.py"), default_timeout=60)
    return at if path == "app.py" else at.switch_page(path)


def assert_clean(at: AppTest) -> None:
    """No uncaught exception and no error box: pages turn exceptions into `st.error`, so both must be checked."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, f"the page shows an error box: {[e.value for e in at.error]}"


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def figure(at: AppTest, index: int) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def values(array) -> list:
    """Plotly writes numeric arrays either as lists or as typed arrays (base64 with a dtype)."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).tolist()
    return list(array)


@pytest.fixture(scope="module")
def finished_job(tmp_path_factory):
    runner = JobRunner(Store(tmp_path_factory.mktemp("home")), threads=1)
    job = runner.submit(demo_dataset(rows=200, seed=2), TINY)
    assert job.wait(timeout=180) and job.status == "done", job.error
    yield job
    runner.shutdown()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_without_data(path):
    at = page(path).run()
    assert_clean(at)


def test_uploading_a_csv_shows_the_profile():
    at = page("pages/1_Data.py").run()
    at.get("file_uploader")[0].set_value(("reviews.csv", demo_csv(300), "text/csv")).run()
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Texts"] == "300" and metrics["Classes"] == "4"
    assert at.session_state["dataset"].name == "reviews"
    lengths = figure(at, 1)
    assert lengths["layout"]["xaxis"]["title"]["text"].startswith("length in tokens")
    assert len(lengths["layout"]["shapes"]) >= 2


def test_a_bad_upload_shows_a_message_not_a_traceback():
    at = page("pages/1_Data.py").run()
    at.get("file_uploader")[0].set_value(("one.csv", b"text\nhello\nworld\n", "text/csv")).run()
    assert not at.exception
    assert [e.value for e in at.error] and all("only one column" in e.value for e in at.error)


@pytest.mark.parametrize("path", PAGES)
def test_a_page_that_fails_inside_its_error_handler_fails_the_page_check(path, tmp_path):
    """The check must catch a broken page even though the page turns the exception into a friendly message."""
    shutil.copytree(ROOT / "pages", tmp_path / "pages")
    shutil.copy(ROOT / "app.py", tmp_path / "app.py")
    assert_clean(page(path, tmp_path).run())
    target = tmp_path / path
    source = target.read_text(encoding="utf-8")
    marker = re.search(r"^with ui\.page\(.*\):\n", source, re.M)  # the frame whose body turns errors into messages
    assert marker
    target.write_text(source.replace(marker[0], marker[0] + "    raise RuntimeError('injected')\n", 1),
                      encoding="utf-8")
    with pytest.raises(AssertionError, match="error box"):
        assert_clean(page(path, tmp_path).run())


@pytest.mark.slow  # over 1.9 s: the fast subset stays under 2 minutes
def test_the_training_form_starts_a_background_job_that_produces_results():
    at = page("pages/2_Train.py")
    at.session_state["dataset"] = demo_dataset(rows=160, seed=3)
    at.run()
    at.multiselect[0].set_value(["TextCNN", "SVM"])
    at.multiselect[1].set_value(["bucket"])
    epochs = next(n for n in at.number_input if n.label == "Epochs (max)")
    epochs.set_value(1)
    next(c for c in at.checkbox if c.label.startswith("Retrain neural models")).check()
    at.button[0].click().run()
    assert_clean(at)
    job = at.session_state["job"]
    assert job.wait(timeout=120), "the job did not finish"
    assert job.status == "done", job.error
    assert job.config.refit and job.comparison().table["refit_seconds"].notna().any()
    at.run()
    assert_clean(at)
    assert any("Training finished: 2 of 2 runs" in s.value for s in at.success)


@pytest.mark.slow  # over 1.9 s: the fast subset stays under 2 minutes
def test_the_training_form_runs_cross_validation_when_asked():
    at = page("pages/2_Train.py")
    at.session_state["dataset"] = demo_dataset(rows=160, seed=3)
    at.run()
    at.multiselect[0].set_value(["SVM"])
    next(s for s in at.selectbox if s.label == "Cross-validation").set_value("5 folds")
    at.button[0].click().run()
    job = at.session_state["job"]
    assert job.wait(timeout=120) and job.status == "done", job.error
    assert job.config.cv == 5 and sorted(job.comparison().table["fold"]) == [1, 2, 3, 4, 5]
    assert job.config.refit is False
    compare = page("pages/3_Compare.py")
    compare.session_state["job"] = job
    compare.run()
    assert_clean(compare)
    assert any("5-fold cross-validation" in c.value for c in compare.caption)


def test_compare_figures_carry_the_numbers_of_the_runs(finished_job):
    at = page("pages/3_Compare.py")
    at.session_state["job"] = finished_job
    at.run()
    assert_clean(at)
    table = finished_job.comparison().table
    means = {t["name"]: t for t in figure(at, 0)["data"] if t.get("showlegend") is not False}
    cnn = table[table.model_key == "cnn"].set_index("batching")
    assert values(means["bucketed"]["x"])[0] == pytest.approx(cnn.loc["bucket", "accuracy"])
    assert values(means["classical (no batching)"]["x"])[0] == pytest.approx(
        table[table.model_key == "svm"].accuracy.iloc[0])
    assert "error_x" in means["bucketed"]
    waste = {trace["name"]: values(trace["y"]) for trace in figure(at, 2)["data"]}
    assert waste["max-length"][0] == pytest.approx(cnn.loc["max_length", "padding_waste"])
    assert any("bucketing cut padding" in m.value and "significant" in m.value for m in at.markdown)
    titles = [figure(at, i)["layout"]["title"]["text"] for i in range(len(at.get("plotly_chart")))]
    assert any(t.startswith("Accuracy by text length") for t in titles)
    matrix = next(f.value for f in at.table if "—" in f.value.astype(str).to_numpy().ravel().tolist())
    assert len(matrix.drop(index="Majority class")) == 3  # the three cells, and the baseline's row beside them
    assert len(at.get("download_button")) == 5


def test_predict_shows_every_models_label_for_a_typed_text(finished_job):
    at = page("pages/4_Predict.py")
    at.session_state["job"] = finished_job
    at.run()
    at.text_area[0].input("really bad food, would not order again")
    button(at, "Predict").click().run()
    assert_clean(at)
    assert len(figure(at, 0)["data"]) == len(finished_job.comparison().runs)
    assert len(at.get("download_button")) == 1


def test_history_lists_experiments_and_opens_one_in_compare(finished_job):
    store = Store()
    job = JobRunner(store, threads=1).submit(demo_dataset(rows=120, seed=4), CompareConfig(models=("svm",)))
    assert job.wait(timeout=60)
    at = page("pages/5_History.py").run()
    assert_clean(at)
    assert at.dataframe[0].value["status"].tolist() == ["done"]
    at.button[0].click().run()
    assert at.session_state["compare_source"] == {"kind": "experiment", "id": job.experiment_id}


def test_two_sessions_keep_their_own_data_but_share_history():
    first, second = page("pages/1_Data.py").run(), page("pages/1_Data.py").run()
    first.get("file_uploader")[0].set_value(("mine.csv", demo_csv(120), "text/csv")).run()
    second.run()
    assert first.session_state["dataset"].name == "mine"
    assert "dataset" not in second.session_state
    job = state_runner().submit(demo_dataset(rows=120, seed=5), CompareConfig(models=("svm",)))
    assert job.wait(timeout=180)
    histories = [page("pages/5_History.py").run() for _ in range(2)]
    assert [len(h.dataframe[0].value) for h in histories] == [1, 1]


def test_predict_on_an_experiment_opened_from_history_uses_its_saved_bundles():
    job = state_runner().submit(demo_dataset(rows=160, seed=6), CompareConfig(models=("svm", "knn:k=3")),
                                save_models=True)
    assert job.wait(timeout=180) and job.status == "done", job.error
    at = page("pages/4_Predict.py")
    at.session_state["compare_source"] = {"kind": "experiment", "id": job.experiment_id}
    at.run()
    at.text_area[0].input("not good at all, cold and soggy")
    button(at, "Predict").click().run()
    assert_clean(at)
    labels = at.dataframe[0].value["label"].tolist()
    expected = [run.estimator.predict(["not good at all, cold and soggy"])[0] for run in job.comparison().runs]
    assert labels == expected


@pytest.mark.slow
def test_chinese_data_works_end_to_end_through_the_pages():
    waimai = shared_dataset("waimai_10k.csv")
    data = page("pages/1_Data.py").run()
    data.get("file_uploader")[0].set_value(("waimai_10k.csv", waimai.read_bytes(), "text/csv")).run()
    assert_clean(data)
    assert {m.label: m.value for m in data.metric}["Language"] == "Chinese"
    train = page("pages/2_Train.py")
    train.session_state["dataset"] = data.session_state["dataset"]
    train.run()
    train.multiselect[0].set_value(["TextCNN", "SVM"])
    train.multiselect[1].set_value(["bucket"])
    next(n for n in train.number_input if n.label == "Epochs (max)").set_value(1)
    train.button[0].click().run()
    job = train.session_state["job"]
    assert job.wait(timeout=300) and job.status == "done", job.error
    accuracy = job.comparison().table.set_index("model")["accuracy"]
    assert accuracy["SVM"] >= 0.85 and accuracy["TextCNN"] >= 0.80
    compare = page("pages/3_Compare.py")
    compare.session_state["job"] = job
    compare.run()
    assert_clean(compare)
    assert len(compare.get("plotly_chart")) >= 5

