"""Small page helpers: friendly errors, the sidebar summary and the 'nothing here yet' hints."""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager

import streamlit as st

from dashboard import access, state
from textclf.errors import TextclfError

LOG = logging.getLogger("textclf.dashboard")
PAGES = {"data": "pages/1_Data.py", "train": "pages/2_Train.py", "compare": "pages/3_Compare.py",
         "predict": "pages/4_Predict.py", "history": "pages/5_History.py"}


ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
LINE_BREAKS = re.compile(r"[\r\n\t\x0b\x0c\u2028\u2029]+")
AUTOLINK_TRIGGERS = re.compile(r"(?i)([:@]|\bwww(?=\.))")
WORD_JOINER = "\u2060"


def plain(text) -> str:
    """A user's string (file, column or class name, a text, an error quoting them) as literal Markdown.

    Every page shows such strings only through this helper. Streamlit renders Markdown (links, images,
    HTML-looking tags, :colour[directives], $math$), and a label like `![x](http://host/pixel)` would make
    the browser fetch that URL. CommonMark lets any ASCII punctuation be backslash-escaped, so escaping all
    of it leaves nothing to interpret; line breaks become spaces so a name cannot start a heading or a list.
    Streamlit also turns bare URLs and e-mail addresses into links after escapes are undone, so an invisible
    word joiner follows every ':' and '@' (and 'www'), which the browser shows as nothing.
    """
    text = AUTOLINK_TRIGGERS.sub(r"\1" + WORD_JOINER, LINE_BREAKS.sub(" ", str(text)))
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


def page_setup(title: str) -> None:
    """Every page starts here: its title, then the access check (a shared server asks for its token)."""
    st.set_page_config(page_title=f"textclf · {title}", page_icon="🧪", layout="wide")
    access.require_access()


def sidebar_summary() -> None:
    """The session's dataset and training status; called last, so it reflects what the page just did."""
    data, current = state.dataset(), state.job()
    with st.sidebar:
        st.caption("Dataset: " + (f"**{plain(data.name)}** ({len(data)} texts)" if data else "none yet"))
        if current:
            progress = current.progress()
            st.caption(f"Training: {current.status}, {progress['runs_done']} of {progress['runs_total']} runs")


def need_dataset() -> bool:
    """True when a dataset is loaded; otherwise point the user at the Data page."""
    if state.dataset() is not None:
        return True
    st.info("No dataset yet. Load the built-in demo or upload a CSV first.")
    left, right = st.columns(2)
    if left.button("Use the demo dataset", key="need_demo"):
        state.use_demo()
        st.rerun()
    right.page_link(PAGES["data"], label="Upload a CSV on the Data page", icon="📄")
    return False


def need_results() -> bool:
    if state.comparison() is not None:
        return True
    st.info("No results yet. Train a comparison first, or open a past experiment from History.")
    st.page_link(PAGES["train"], label="Go to Train", icon="🏋️")
    st.page_link(PAGES["history"], label="Open History", icon="🗂️")
    return False
