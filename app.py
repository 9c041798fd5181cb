"""Home: what the lab compares, two ways in, and the current dataset and results at a glance."""

import streamlit as st

from dashboard import state, ui
from textclf.models import model_titles
from textclf.results.report import headline

MODEL_LIST = ", ".join(f"**{title}**" for title in model_titles())

with ui.page("Home", "textclf — a text-classification lab"):
    state.attach_from_url()  # ?experiment=ID: a reload or another tab shows the same experiment
    st.markdown(
        f"Train {MODEL_LIST} on the same "
        "split of your labelled texts (English or Chinese), and see side by side their **accuracy**, **training "
        "time** and how much compute goes to **padding** when batches are padded to one maximum length or grouped "
        "into length buckets. Every padded position is masked, so batching changes speed, never what a model "
        "computes."
    )
    left, right = st.columns(2)
    if left.button("Try the demo dataset", type="primary", width="stretch"):
        state.use_demo()
        st.switch_page(ui.PAGES["train"])
    if right.button("Upload a CSV", width="stretch"):
        st.switch_page(ui.PAGES["data"])

    st.subheader("At a glance")
    data = state.dataset()
    if data is None:
        st.write("No dataset loaded yet. The demo is synthetic: delivery reviews whose class depends on "
                 "short phrases and on word order.")
    else:
        st.write(f"Dataset **{ui.plain(data.name)}**: {len(data)} texts, {len(data.classes)} classes.")
    results = state.comparison()
    if results is not None and results.runs:
        st.write(f"Latest results ({state.source_description()}):")
        for sentence in headline(results):
            st.markdown(f"- {ui.plain(sentence)}")
        st.page_link(ui.PAGES["compare"], label="Open Compare", icon=ui.ICONS["compare"])
