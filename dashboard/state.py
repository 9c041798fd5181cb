"""Where the dashboard keeps things: per-session state and the process-wide job runner and store.

Two browser tabs are two sessions, each with its own dataset and jobs; the runner and the store are shared by
the process, so one comparison trains at a time and history is common to all tabs.
"""

from __future__ import annotations

import streamlit as st

from textclf.data import Dataset
from textclf.demo import demo_dataset
from textclf.experiment import Comparison
from textclf.jobs import Job, JobRunner
from textclf.store import Store

DATASET, JOB, SOURCE, SETTINGS = "dataset", "job", "compare_source", "train_settings"


@st.cache_resource(show_spinner=False)
def runner() -> JobRunner:
    """One runner per server process; its worker uses one torch thread so pages stay responsive."""
    return JobRunner(Store(), threads=1)


def store() -> Store:
    return runner().store


def dataset() -> Dataset | None:
    return st.session_state.get(DATASET)


def set_dataset(data: Dataset) -> None:
    st.session_state[DATASET] = data


def use_demo() -> None:
    set_dataset(_demo())


@st.cache_resource(show_spinner=False)
def _demo() -> Dataset:
    return demo_dataset()


def job() -> Job | None:
    return st.session_state.get(JOB)


def set_job(new_job: Job) -> None:
    st.session_state[JOB] = new_job
    st.session_state[SOURCE] = {"kind": "job"}


def open_experiment(experiment_id: int) -> None:
    st.session_state[SOURCE] = {"kind": "experiment", "id": experiment_id}


def comparison() -> Comparison | None:
    """What Compare and Predict show: an experiment opened from History, else this session's latest job."""
    source = st.session_state.get(SOURCE, {"kind": "job"})
    if source["kind"] == "experiment":
        return store().load_comparison(source["id"])
    current = job()
    return current.comparison() if current else None


def source_description() -> str:
    source = st.session_state.get(SOURCE, {"kind": "job"})
    if source["kind"] == "experiment":
        return f"experiment #{source['id']} from History"
    current = job()
    return f"this session's comparison ({current.status})" if current else "nothing yet"


def train_settings() -> dict:
    """The training form's last values, kept under our own key so they survive switching pages."""
    return st.session_state.setdefault(SETTINGS, {})
