"""The hostile corpora: every CSV and bundle gets its outcome in the library, the CLI and the dashboard.

Nothing may escape as a traceback, no code may run from a file, and any name shown in the dashboard must stay
literal text (rendered with a CommonMark renderer here, in a real browser in test_browser.py).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import streamlit as st
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from dashboard.ui import plain, visible
from tests.hostile import HOSTILE_NAMES, IMAGE, LINK, TAG, Read, good_bundles, hostile_bundles, hostile_csvs
from textclf.cli import main
from textclf.data.reading import Dataset, load_dataset
from textclf.errors import BundleError, DataError
from textclf.storage.bundle import load_bundle

CSVS = hostile_csvs()
CLI_OPTIONS = {"encoding": "--encoding", "text_col": "--text-col", "label_col": "--label-col",
               "split_col": "--split-col"}
CLI_FLAGS = {("header", False): "--no-header", ("keep_missing_labels", True): "--keep-missing-labels"}
MARKDOWN = MarkdownIt("commonmark")
ACTIVE_MARKUP = re.compile(r"<(a|img|script|h[1-6]|iframe)\b")
# What Streamlit's GFM autolinking turns into links in rendered text (URLs, www. names, e-mail addresses).
AUTOLINKED = re.compile(r"(?i)(https?://|www\.|[-.\w+]@[-\w])")
ROOT = Path(__file__).resolve().parents[1]
TEXT_ELEMENTS = ("markdown", "caption", "error", "warning", "info", "success")


def test_the_corpora_are_big_enough():
    assert len(CSVS) >= 40
    assert len(hostile_bundles(**good_bundles(), marker="unused")) >= 20


@pytest.mark.parametrize("name", sorted(CSVS))
def test_every_hostile_csv_gets_its_outcome(name):
    raw, expected = CSVS[name]
    if isinstance(expected, Read):
        data = load_dataset(raw, **expected.options)
        assert (len(data), len(data.classes), data.dropped) == (expected.rows, expected.classes, expected.dropped)
        assert bool(data.warnings) == bool(expected.warning)
        if expected.warning:
            assert expected.warning in data.warnings[0]
    else:
        with pytest.raises(DataError, match=expected.pattern):
            load_dataset(raw, **expected.options)


def cli_arguments(options: dict) -> list[str]:
    arguments = []
    for key, value in options.items():
        arguments += [CLI_OPTIONS[key], value] if key in CLI_OPTIONS else [CLI_FLAGS[key, value]]
    return arguments


def test_the_cli_profiles_or_refuses_every_hostile_csv_without_a_traceback(tmp_path, capsys):
    for name, (raw, expected) in CSVS.items():
        path = tmp_path / (re.sub(r"\W+", "_", name) + ".csv")
        path.write_bytes(raw)
        code = main(["profile", str(path), *cli_arguments(expected.options)])
        out, err = capsys.readouterr()
        if isinstance(expected, Read):
            assert code == 0 and f"rows: {expected.rows}" in out, (name, err)
            assert ("warning: The first line" in err) == bool(expected.warning), name
        else:
            assert code == 2 and err.startswith("error: ") and re.search(expected.pattern, err), (name, err)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    marker = tmp_path_factory.mktemp("marker") / "code-ran"
    yield marker, hostile_bundles(**good_bundles(), marker=marker)
    assert not marker.exists(), "a bundle ran code"


def test_every_hostile_bundle_is_refused_with_its_message(bundles):
    marker, cases = bundles
    for name, (data, pattern) in cases.items():
        if pattern is None:
            assert load_bundle(data).predict(["tasty and warm"]).shape == (1,), name
            continue
        with pytest.raises(BundleError, match=pattern):
            load_bundle(data)
    assert not marker.exists()


def test_the_predict_command_refuses_every_hostile_bundle_in_one_line(bundles, tmp_path, capsys):
    marker, cases = bundles
    for name, (data, pattern) in cases.items():
        path = tmp_path / "model.textclf"
        path.write_bytes(data)
        code = main(["predict", str(path), "a warm tasty meal"])
        out, err = capsys.readouterr()
        if pattern is None:
            assert code == 0 and out, name
        else:
            assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, (name, err)
    assert not marker.exists()


# The dashboard ----------------------------------------------------------------------------------------------------

def rendered(markdown: str) -> str:
    return MARKDOWN.render(markdown)


def visible_text(markdown: str) -> str:
    """The text a reader sees (the invisible word joiners that stop autolinking left out)."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered(markdown))).replace("\u2060", "").strip()


@pytest.mark.parametrize("name", [*HOSTILE_NAMES, "mail me@example.com or www.example.com"])
def test_the_escaping_helper_renders_any_name_literally(name):
    for text in (name, f"class {name}\n# not a heading", f"{name}\n- not a list"):
        assert visible_text(plain(text)) == " ".join(text.split("\n"))
        assert not ACTIVE_MARKUP.search(rendered(plain(text)))
        assert not AUTOLINKED.search(html.unescape(re.sub(r"<[^>]+>", "", rendered(plain(text)))))


def assert_literal(at: AppTest) -> None:
    """No exception; every text element renders without links, images or tags; error boxes are plain text."""
    assert not at.exception, [e.value for e in at.exception]
    for kind in TEXT_ELEMENTS:
        for element in at.get(kind):
            body = element.value
            assert not ACTIVE_MARKUP.search(rendered(body)), (kind, body)
            if kind in ("error", "warning"):
                assert re.fullmatch(r"<p>[^<]*</p>\s*", rendered(body)), (kind, body)


def open_page(path: str, **session) -> AppTest:
    """A page reached from the app's entry point (so page links resolve), with `session` state preset."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    return at if path == "app.py" else at.switch_page(path).run()


@pytest.fixture
def fresh_caches():
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.mark.slow  # over 1.9 s: the fast subset stays under 2 minutes
def test_the_data_page_shows_every_hostile_csv_without_an_exception_or_live_markup(fresh_caches):
    at = open_page("pages/1_Data.py")
    outcomes = {}
    for name, (raw, _) in CSVS.items():
        at.get("file_uploader")[0].set_value((f"{name} {IMAGE}.csv", raw, "text/csv")).run()
        assert_literal(at)
        outcomes[name] = "error" if at.error else "read"
    read = {name for name, (_, expected) in CSVS.items() if isinstance(expected, Read) and not expected.options}
    assert {name for name in read if outcomes[name] != "read"} == set()


@pytest.mark.slow  # over 1.9 s: the fast subset stays under 2 minutes
def test_hostile_file_column_and_class_names_stay_literal_on_every_page(fresh_caches):
    texts = [f"warm tasty meal number {i}" if i % 2 else f"cold awful soggy food {i}" for i in range(40)]
    data = Dataset(texts=texts, labels=[TAG if i % 2 else LINK for i in range(40)], name=IMAGE,
                   text_column=IMAGE, label_column=LINK)
    train = open_page("pages/2_Train.py", dataset=data)
    train.multiselect[0].set_value(["SVM"])
    train.button[0].click().run()
    job = train.session_state["job"]
    assert job.wait(timeout=120) and job.status == "done", job.error
    for path in ("app.py", "pages/1_Data.py", "pages/2_Train.py", "pages/3_Compare.py", "pages/4_Predict.py",
                 "pages/5_History.py"):
        at = open_page(path, dataset=data, job=job)
        assert_literal(at)
        assert not at.error, (path, [e.value for e in at.error])
    shown = [visible_text(m.value) for m in at.get("caption")]
    assert any(IMAGE in text for text in shown), shown


def test_a_failed_job_quoting_hostile_names_is_shown_literally(fresh_caches):
    class FailedJob:
        status, error, finished = "failed", f"Label {LINK} broke {IMAGE}", True
        experiment_id = None

        def progress(self):
            return {"runs_done": 0, "runs_total": 1}

        def comparison(self):
            return None

    at = open_page("pages/2_Train.py", job=FailedJob(),
                   dataset=Dataset(texts=["a", "b"], labels=["x", "y"], name="tiny"))
    assert_literal(at)
    assert visible_text(at.error[0].value).startswith(f"Training failed: Label {LINK} broke {IMAGE}")


def test_an_upload_is_parsed_once_per_session_and_freed_when_removed(fresh_caches):
    """Reruns reuse the same parsed table and dataset (no copy per rerun); removing the file frees them."""
    at = open_page("pages/1_Data.py")
    at.get("file_uploader")[0].set_value(("reviews.csv", CSVS["nan-like labels"][0], "text/csv")).run()
    table, data = at.session_state["upload_table"][1], at.session_state["dataset"]
    at.run()
    assert at.session_state["upload_table"][1] is table and at.session_state["dataset"] is data
    assert any("Upload limit: 50 MB" in c.value for c in at.caption)
    keep = next(c for c in at.checkbox if c.label.startswith("Keep labels such as NaN"))
    keep.check().run()
    assert len(at.session_state["dataset"].classes) == 8
    at.get("file_uploader")[0].set_value(None).run()
    assert "upload_table" not in at.session_state and "upload_dataset" not in at.session_state


@pytest.mark.parametrize(("name", "shown"), [("\u202epos", "\\u202epos"), ("neg\u2066", "neg\\u2066"),
                                             ("a\u200bb\ufeff", "a\\u200bb\\ufeff"), ("bell\x07", "bell\\u0007")])
def test_characters_that_reorder_or_hide_text_are_shown_as_their_code(name, shown):
    assert visible_text(plain(name)) == shown
    assert visible(name) == shown, "widget options and table cells show the same"
    assert visible_text(plain("emoji 👨\u200d👩 and ZWNJ می\u200cخواهم")) == "emoji 👨\u200d👩 and ZWNJ می\u200cخواهم"
