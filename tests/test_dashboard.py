"""Issue 10: the dashboard as a data scientist expects it (menu, progress, tables, History, Predict, messages)."""

from __future__ import annotations

import io
import re
import threading
import tomllib

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import ui
from dashboard.state import runner as state_runner
from tests.test_app import ROOT, button, figure, fresh_caches, page  # noqa: F401  (fresh_caches is autouse)
from textclf.data.demo import demo_csv, demo_dataset
from textclf.results import charts
from textclf.results.report import readable_table
from textclf.runs.compare import compare
from textclf.runs.comparison import Comparison, RunResult
from textclf.runs.config import CompareConfig
from textclf.runs.events import RunStarted
from textclf.runs.prepare import prepare
from textclf.storage.store import Store

TINY_CNN = "cnn:embed_dim=8:filters=4"


def assert_no_error_box(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def shown(at: AppTest, index: int = 0) -> pd.DataFrame:
    """A dataframe as the reader sees it: the styler's display strings."""
    return displayed(at.dataframe[index])


def displayed(element) -> pd.DataFrame:
    """An st.dataframe or st.table element's display strings (its styler's)."""
    return pa.ipc.open_stream(element.proto.arrow_data.styler.display_values).read_pandas()


def sidebar_text(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def test_the_menu_names_home_and_every_page_with_an_icon():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showSidebarNavigation"] is False
    at = page("pages/3_Compare.py").run()
    menu = [link.proto for link in at.sidebar.get("page_link")]
    assert [link.label for link in menu] == ["Home", "Data", "Train", "Compare", "Predict", "History"]
    assert all(link.icon.startswith(":material/") for link in menu)


@pytest.mark.slow  # over 1.9 s: the fast subset stays under 2 minutes
def test_the_sidebar_and_the_main_area_tell_the_same_progress(small_demo):
    """The sidebar polls the job (a fragment), so it says 'run 2 of 3' when the Train page does."""
    reached, release = threading.Event(), threading.Event()

    def hold_in_second_run(event):
        if isinstance(event, RunStarted) and event.index == 1:
            reached.set()
            release.wait(timeout=60)

    job = state_runner().submit(small_demo, CompareConfig(models=("svm", "knn:k=3", "knn:k=5")),
                                on_event=hold_in_second_run)
    try:
        assert reached.wait(timeout=60)
        at = page("pages/2_Train.py")
        at.session_state["dataset"] = small_demo
        at.session_state["job"] = job
        at.run()
        assert "Training: running, run 2 of 3" in sidebar_text(at)
        assert any("running, run 2 of 3" in p.proto.text for p in at.get("progress") if p.proto.text)
        compare_page = page("pages/3_Compare.py")
        compare_page.session_state["job"] = job
        compare_page.run()
        assert "Training: running, run 2 of 3" in sidebar_text(compare_page)
    finally:
        release.set()
        job.wait(timeout=60)


def test_progress_names_every_run_training_at_once():
    progress = {"runs_done": 1, "runs_total": 6, "runs_running": 2, "eta_seconds": 70}
    assert ui.progress_text("running", progress) == "running, runs 2–3 of 6, about 1 min 10 s left"
    assert ui.progress_text("running", {**progress, "runs_running": 1}).startswith("running, run 2 of 6")


def test_data_truncates_like_training_and_refuses_untrainable_files():
    at = page("pages/1_Data.py").run()
    at.get("file_uploader")[0].set_value(("reviews.csv", demo_csv(300, seed=8), "text/csv")).run()
    assert_no_error_box(at)
    dataset = at.session_state["dataset"]
    prepared = prepare(dataset, CompareConfig(models=("svm",), max_len="auto"))  # the Train form's default
    assert prepared.max_len == 112  # all rows, not the training part, would give 134
    lengths = figure(at, 1)
    assert lengths["layout"]["xaxis"]["title"]["text"] == f"length in tokens (truncated at {prepared.max_len})"
    assert any(f"{len(prepared.split.train)} train" in s.value for s in at.success)

    tiny = page("pages/1_Data.py").run()
    tiny.get("file_uploader")[0].set_value(("three.csv", b"text,label\ngood,pos\nbad,neg\nfine,pos\n",
                                            "text/csv")).run()
    assert not tiny.exception
    assert any("cannot be used for training yet" in e.value and "at least" in e.value for e in tiny.error)
    assert "dataset" not in tiny.session_state and not tiny.success


def test_one_token_is_singular():
    at = page("pages/1_Data.py").run()
    rows = "".join(f"{word},{label}\n" for word, label in [("good", "a"), ("bad", "b")] * 30)
    at.get("file_uploader")[0].set_value(("words.csv", f"text,label\n{rows}".encode(), "text/csv")).run()
    assert_no_error_box(at)
    assert {m.label: m.value for m in at.metric}["Median length"] == "1 token"


@pytest.fixture(scope="module")
def small_comparison():
    config = CompareConfig(models=(TINY_CNN, "svm"), batchings=("max_length",), epochs=2, batch_size=16)
    return demo_dataset(rows=160, seed=8), config, compare(demo_dataset(rows=160, seed=8), config, keep_models=True)


def test_an_interrupted_experiment_is_labelled_on_compare(small_comparison):
    dataset, config, done = small_comparison
    store = Store()
    experiment = store.create_experiment(dataset, config, owner="elsewhere-host-not-this:1:1")
    store.record_prepared(experiment, done)
    store.add_run(experiment, 1, "first", done.runs[0])
    store._update(experiment, status="interrupted")
    at = page("pages/3_Compare.py")
    at.session_state["compare_source"] = {"kind": "experiment", "id": experiment}
    at.run()
    assert not at.exception and not at.error
    assert any("was interrupted" in w.value and "1 of 2 runs finished" in w.value for w in at.warning)


def test_the_results_table_reads_as_people_write_it(small_comparison):
    _, _, done = small_comparison
    csv = pd.read_csv(io.StringIO(done.table.to_csv(index=False)), dtype=str, keep_default_na=False)
    cnn = csv[csv.model == "TextCNN"].iloc[0]
    assert cnn.epochs_run == "2" and "." not in cnn.steps and csv[csv.model == "SVM"].iloc[0].steps == ""
    readable = readable_table(done.table)
    assert "model_key" not in readable and "Time per epoch (s)" in readable
    assert set(readable["Batching"]) == {"max-length", "classical (no batching)"}

    at = page("pages/3_Compare.py")
    at.session_state["job"] = _FinishedJob(done)
    at.run()
    assert_no_error_box(at)
    styled = [d for d in [*at.dataframe, *at.table] if d.proto.arrow_data.styler.display_values]  # st.table too
    table = next(t for t in map(displayed, styled) if "Epochs run" in t)
    text = table.to_string()
    assert "None" not in text and "nan" not in text.lower() and "<NA>" not in text
    assert table.loc[table["Model"] == "TextCNN", "Epochs run"].iloc[0] == "2"
    for frame in [*at.dataframe, *at.table]:
        columns = [str(c) for c in frame.value.columns]
        assert not [c for c in columns if "_" in c], f"a table shows machine column names: {columns}"
        assert "max_length" not in frame.value.to_string(), "a table shows a strategy's internal key"


class _FinishedJob:
    """Just enough of a Job for the pages: a finished comparison."""

    status, finished = "done", True

    def __init__(self, comparison: Comparison):
        self._comparison = comparison

    def comparison(self) -> Comparison:
        return self._comparison

    def progress(self) -> dict:
        runs = len(self._comparison.runs)
        return {"runs_done": runs, "runs_total": runs, "eta_seconds": None}


def test_history_shows_the_best_model_local_times_and_frees_bundle_disk(small_demo):
    job = state_runner().submit(small_demo, CompareConfig(models=("svm", "knn:k=3")), save_models=True)
    assert job.wait(timeout=60) and job.status == "done", job.error
    at = page("pages/5_History.py").run()
    assert_no_error_box(at)
    row = shown(at).iloc[0]
    best = job.comparison().table.sort_values("accuracy").iloc[-1]
    assert row["best"] == best["model"] and row["accuracy"] == f"{best['accuracy']:.1%}"
    assert row["progress"] == "2 of 2" and float(row["bundles_mb"]) >= 0
    assert "T" not in row["started"] and "+00:00" not in row["started"]
    store = Store()
    assert store.bundle_sizes()[job.experiment_id] > 0
    delete = next(b for b in at.button if b.label.startswith("Delete model bundles"))
    delete.click().run()
    assert_no_error_box(at)
    assert job.experiment_id not in store.bundle_sizes()
    assert len(store.load_comparison(job.experiment_id).runs) == 2
    assert all(b["path"] is None for b in store.experiment(job.experiment_id)["bundles"])


def test_predict_has_a_button_and_a_batch_mode_with_a_download(small_comparison):
    _, _, done = small_comparison
    at = page("pages/4_Predict.py")
    at.session_state["job"] = _FinishedJob(done)
    at.run()
    assert_no_error_box(at)
    assert button(at, "Predict").proto.type == "primary"
    texts = "text,id\n" + "".join(f"\"great food, arrived hot {i}\",{i}\n" for i in range(25))
    at.get("file_uploader")[0].set_value(("mine.csv", texts.encode(), "text/csv")).run()
    button(at, "Predict 25 texts with 2 models").click().run()
    assert_no_error_box(at)
    frame = at.session_state["batch_predictions"][1]
    assert len(frame) == 25 and list(frame.columns[:4]) == ["text", "id", "TextCNN · max-length · seed 0: label",
                                                            "TextCNN · max-length · seed 0: probability"]
    assert frame["id"].astype(str).tolist() == [str(i) for i in range(25)]
    classes = [str(c) for c in done.runs[1].estimator.classes_]
    per_class = frame[[f"SVM: probability of {c}" for c in classes]].to_numpy(dtype=float)
    assert np.allclose(per_class.sum(axis=1), 1) and np.allclose(per_class.max(axis=1), frame["SVM: probability"])
    expected = done.runs[1].estimator.predict(frame["text"].tolist())
    assert frame["SVM: label"].tolist() == [str(label) for label in expected]
    assert any(d.proto.label.startswith("Download every model") for d in at.get("download_button"))


def test_a_failed_training_says_so_in_one_sentence_per_thought():
    at = page("pages/2_Train.py")
    three = "text,label\ngood,pos\nbad,neg\nfine,pos\n"
    from textclf.data.reading import load_dataset

    at.session_state["dataset"] = load_dataset(io.BytesIO(three.encode()), name="three")
    at.run()
    at.multiselect[0].set_value(["SVM"])
    button(at, "Start training").click().run()
    job = at.session_state["job"]
    assert job.wait(timeout=60) and job.status == "failed"
    at.run()
    (message,) = [e.value.replace("\\", "").replace("\u2060", "") for e in at.error]  # as the reader sees it
    assert message.startswith("Training failed: ") and ".." not in message and message.endswith(".")
    assert ui.sentence("each part.") == "each part." and ui.sentence("each part") == "each part."


LONG = ["a very long class name number one", "another quite long class name", "the third class, long too"]


def big_comparison() -> Comparison:
    """4 models × 3 strategies × 3 seeds (made up numbers) with long class names, for the charts."""
    runs = []
    for m, model in enumerate(["TextCNN", "BiLSTM (mean)", "SVM", "kNN (k=10)"]):
        neural = m < 2
        for batching in (["max_length", "per_batch", "bucket"] if neural else ["none"]):
            for seed in range(3) if neural else [0]:
                record = {"model": model, "model_key": model.lower(), "batching": batching, "seed": seed,
                          "accuracy": 0.97 + 0.003 * m + 0.001 * seed, "macro_f1": 0.9,
                          "train_seconds": 10.0 * (m + 1) + seed, "seconds_per_epoch": 3.0 + m,
                          "inference_seconds": 0.1, "padding_waste": 0.5 if batching == "max_length" else 0.1,
                          "seconds_to_best_epoch": 5.0 * (m + 1) + seed, "test_texts": 6}
                history = [{"epoch": e, "val_accuracy": 0.9 + 0.01 * e, "train_loss": 1 / e} for e in (1, 2, 3)]
                runs.append(RunResult(record, history if neural else [], [LONG[seed % 3]] * 6))
    return Comparison(config=CompareConfig(), dataset_name="big", classes=LONG, tokenizer="words",
                      split_sizes={"train": 10, "validation": 3, "test": 6}, split_notes=[],
                      test_labels=LONG * 2, test_lengths=[5] * 6, max_len=50, runs=runs)


def test_compare_charts_stay_legible_at_four_models_three_strategies_three_seeds():
    comparison = big_comparison()
    table = comparison.table
    time = charts.time_bars(table).to_dict()["layout"]
    assert time["xaxis"]["tickangle"] == 0 and "BiLSTM<br>(mean)" in time["xaxis"]["ticktext"]
    assert "orientation" not in time.get("legend", {})
    scatter = charts.accuracy_vs_time(table).to_dict()
    assert all("text" not in trace["mode"] for trace in scatter["data"])
    legend = [t["name"] for t in scatter["data"] if t.get("showlegend", True)]
    assert legend == ["max-length", "per-batch", "bucketed", "classical (no batching)", "TextCNN", "BiLSTM (mean)",
                      "SVM", "kNN (k=10)"]
    epochs = charts.epoch_curves(comparison.runs).to_dict()
    assert epochs["layout"]["xaxis"]["dtick"] == 1 and epochs["layout"]["xaxis"]["tickformat"] == "d"
    assert sum(t["showlegend"] for t in epochs["data"]) == 6
    confusion = charts.confusion_matrix(comparison, comparison.runs[0]).to_dict()["layout"]
    assert all(len(label) <= 18 for label in confusion["xaxis"]["ticktext"])
    assert confusion["xaxis"]["tickvals"] == LONG

    at = page("pages/3_Compare.py")
    at.session_state["job"] = _FinishedJob(comparison)
    at.run()
    assert_no_error_box(at)


@pytest.mark.parametrize("path", ["app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))])
def test_every_page_is_drawn_in_the_one_frame(path):
    """Menu, access gate, error wrapper and sidebar status come from `ui.page` alone, so no page can miss one."""
    source = (ROOT / path).read_text(encoding="utf-8")
    assert len(re.findall(r"^with ui\.page\(", source, re.M)) == 1
    for part in ("set_page_config", "require_access", "page_link(path", "friendly_errors", "sidebar_summary"):
        assert part not in source, f"{path} draws {part} itself"
