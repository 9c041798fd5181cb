"""The frame every page is drawn in (menu, access gate, friendly errors, sidebar status) and small page helpers:
progress wording, the colour key and the 'nothing here yet' hints."""

from __future__ import annotations

import html
import logging
import re
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from dashboard import access, state
from textclf.errors import TextclfError
from textclf.results.charts import BATCHING_COLOURS
from textclf.results.report import BATCHING_NAMES
from textclf.runs.events import Status

LOG = logging.getLogger("textclf.dashboard")
PAGES = {"home": "app.py", "data": "pages/1_Data.py", "train": "pages/2_Train.py", "compare": "pages/3_Compare.py",
         "predict": "pages/4_Predict.py", "history": "pages/5_History.py"}
ICONS = {"home": ":material/home:", "data": ":material/table_view:", "train": ":material/model_training:",
         "compare": ":material/bar_chart:", "predict": ":material/online_prediction:",
         "history": ":material/history:"}
POLL_SECONDS = 1.0
CONNECTION_WATCH = (Path(__file__).with_name("connection.html")).read_text(encoding="utf-8")


ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
LINE_BREAKS = re.compile(r"[\r\n\t\x0b\x0c\u2028\u2029]+")
AUTOLINK_TRIGGERS = re.compile(r"(?i)([:@]|\bwww(?=\.))")
WORD_JOINER = "\u2060"
# Characters that reorder or hide what is shown (bidirectional overrides, isolates and marks, zero-width and
# other invisible characters, control codes): a label "\u202epos" would read "sop". plain() shows their code.
# Zero-width joiners (U+200C, U+200D) stay: scripts and emoji need them.
INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e"
                       r"\u2060-\u2064\u2066-\u2069\ufeff]")


def visible(text) -> str:
    """A user's string where it is shown as plain text (widget options, table cells): characters that reorder or
    hide text are shown as their code (`\\u202e`), so a name reads as it is stored."""
    return INVISIBLE.sub(lambda found: f"\\u{ord(found.group()):04x}", str(text))


def plain(text) -> str:
    """A user's string (file, column or class name, a text, an error quoting them) as literal Markdown.

    Every page shows such strings only through this helper. Streamlit renders Markdown (links, images,
    HTML-looking tags, :colour[directives], $math$), and a label like `![x](http://host/pixel)` would make
    the browser fetch that URL. CommonMark lets any ASCII punctuation be backslash-escaped, so escaping all
    of it leaves nothing to interpret; line breaks become spaces so a name cannot start a heading or a list.
    Streamlit also turns bare URLs and e-mail addresses into links after escapes are undone, so an invisible
    word joiner follows every ':' and '@' (and 'www'), which the browser shows as nothing. Characters that
    reorder or hide text are shown as their code (`\\u202e`), so a label reads as it is stored.
    """
    text = visible(LINE_BREAKS.sub(" ", str(text)))
    text = AUTOLINK_TRIGGERS.sub(r"\1" + WORD_JOINER, text)
    return ASCII_PUNCTUATION.sub(r"\\\1", text)


def error(message) -> None:
    """An error box whose text is shown literally (messages quote labels, column and file names)."""
    st.error(plain(message))


@contextmanager
def friendly_errors():
    """Show input problems as messages and bugs as a short apology: never a traceback, never lost work."""
    try:
        yield
    except TextclfError as err:
        error(err)
    except Exception:
        LOG.exception("unexpected error in a dashboard page")
        st.error("Something unexpected went wrong on this page (the details are in the server log). "
                 "Your dataset and finished runs are kept; try again or reload the page.")


@contextmanager
def page(title: str, heading: str | None = None):
    """The frame of every page (app.py and pages/*.py), drawn here once so no page can leave a part out: the tab
    title, the access gate (a shared server asks for its token), the menu, the heading, then the page's own body
    with friendly errors, and last the sidebar status, so it reflects what the body just did.

        with ui.page("Compare"):
            ...
    """
    st.set_page_config(page_title=f"textclf · {title}", page_icon="🧪", layout="wide")
    access.require_access()
    menu()
    st.title(heading or title)
    with friendly_errors():
        yield
    sidebar_summary()


def menu() -> None:
    """The menu drawn by hand, to name Home and give each page an icon. Streamlit's automatic one (from `pages/`)
    is hidden by .streamlit/config.toml; a server started outside the checkout misses that file, so the option is
    also set here (checked in Chromium: such a server then shows only this menu, from its first page on)."""
    if st.get_option("client.showSidebarNavigation"):
        st.set_option("client.showSidebarNavigation", False)
    with st.sidebar:
        for key, path in PAGES.items():
            st.page_link(path, label=key.capitalize(), icon=ICONS[key])
        st.html(CONNECTION_WATCH, unsafe_allow_javascript=True)


def sidebar_summary() -> None:
    """The session's dataset and training status; called last, so it reflects what the page just did."""
    data, current = state.dataset(), state.job()
    with st.sidebar:
        st.divider()
        st.caption("Dataset: " + (f"**{plain(data.name)}** ({len(data)} texts)" if data else "none yet"))
        if current:
            training_status(current)


def training_status(job) -> None:
    """The job's status in the sidebar, polled while it trains so it moves with the main area on every page."""

    polling = not job.finished

    @st.fragment(run_every=POLL_SECONDS if polling else None)
    def status():
        progress = job.progress()
        waiting = state.place_text(job)  # the same words as the main area's
        st.caption(f"Queued: {plain(waiting)}" if waiting else f"Training: {progress_text(job.status, progress)}")
        if not job.finished:
            st.progress(progress_fraction(progress))
        elif polling:
            st.rerun()

    status()


def progress_text(status: str, progress: dict) -> str:
    """'running, run 4 of 6, about 1 min 10 s left' ('runs 3–4 of 6' while two train at once), or how many runs a
    finished job completed."""
    done, total = progress["runs_done"], progress["runs_total"]
    if status == Status.QUEUED:
        return f"queued, {total} {plural(total, 'run')}"
    if status != Status.RUNNING:
        return f"{status}, {done} of {total} {plural(total, 'run')} finished"
    running = progress.get("runs_running", 0)
    if running > 1:  # a parallel back-end trains several runs of one comparison at once
        text = f"running, runs {done + 1}–{min(done + running, total)} of {total}"
    else:
        text = f"running, run {min(done + 1, total)} of {total}"
    if progress.get("eta_seconds") is not None:
        text += f", about {duration(progress['eta_seconds'])} left"
    return text


def progress_fraction(progress: dict) -> float:
    """Share of runs done, counting the current run's epochs and batches (between 0 and 1)."""
    total = max(progress["runs_total"], 1)
    within = 0.0
    if progress.get("epochs") and progress.get("batches"):
        within = ((progress["epoch"] - 1) + progress["batch"] / progress["batches"]) / progress["epochs"]
    return min((progress["runs_done"] + within) / total, 1.0)


def duration(seconds: float) -> str:
    """A duration as people say it: '45 s', '3 min 20 s', '1 h 5 min'."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def estimate_line(estimated: float | None, took: float | None) -> str | None:
    """'Took 4 min 10 s; estimated before Start: about 4 min 40 s.', once both are known."""
    if not estimated or took is None:
        return None
    return f"Took {duration(took)}; estimated before Start: about {duration(estimated)}."


def plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def sentence(text: str) -> str:
    """`text` ending in exactly one full stop (messages from the library already end in one)."""
    text = str(text).rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def batching_key(batchings) -> None:
    """One colour key for all the charts below it (each strategy has the same colour in every chart)."""
    items = "".join(
        f'<span style="margin-right:1.4em;white-space:nowrap"><span style="display:inline-block;width:0.9em;'
        f'height:0.9em;border-radius:2px;vertical-align:-0.1em;margin-right:0.4em;background:'
        f'{BATCHING_COLOURS.get(b, "#999")}"></span>{html.escape(BATCHING_NAMES.get(b, b))}</span>'
        for b in batchings)
    st.html(f'<div style="font-size:0.9rem">Colours: {items}</div>')


def need_dataset() -> bool:
    """True when a dataset is loaded; otherwise point the user at the Data page."""
    if state.dataset() is not None:
        return True
    st.info("No dataset yet. Load the built-in demo or upload a CSV first.")
    left, right = st.columns(2)
    if left.button("Use the demo dataset", key="need_demo"):
        state.use_demo()
        st.rerun()
    right.page_link(PAGES["data"], label="Upload a CSV on the Data page", icon=ICONS["data"])
    return False


def need_results() -> bool:
    if state.comparison() is not None:
        return True
    st.info("No results yet. Train a comparison first, or open a past experiment from History.")
    st.page_link(PAGES["train"], label="Go to Train", icon=ICONS["train"])
    st.page_link(PAGES["history"], label="Open History", icon=ICONS["history"])
    return False
