"""Compare: accuracy, training time and padding waste side by side, per model and batching strategy."""

import streamlit as st

from dashboard import state, ui
from textclf import charts
from textclf.experiment import Comparison
from textclf.report import headline


def show(comparison: Comparison) -> None:
    table = comparison.table
    for sentence in headline(table):
        st.markdown(f"- {sentence}")
    left, middle, right = st.columns(3)
    left.plotly_chart(charts.accuracy_bars(table), width="stretch", key="accuracy")
    middle.plotly_chart(charts.time_bars(table), width="stretch", key="time")
    right.plotly_chart(charts.waste_bars(table), width="stretch", key="waste")
    left, right = st.columns(2)
    left.plotly_chart(charts.accuracy_vs_time(table), width="stretch", key="scatter")
    right.plotly_chart(charts.epoch_curves(comparison.runs), width="stretch", key="epochs")

    names = [f"{r.record['model']} · {r.record['batching']} · seed {r.record['seed']}" for r in comparison.runs]
    chosen = st.selectbox("Confusion matrix of run", range(len(names)), format_func=names.__getitem__)
    st.plotly_chart(charts.confusion_matrix(comparison, comparison.runs[chosen]), width="content", key="confusion")

    st.subheader("All runs")
    st.dataframe(table, width="stretch", hide_index=True)
    left, right = st.columns(2)
    left.download_button("Download the table (CSV)", table.to_csv(index=False), "textclf-results.csv", "text/csv")
    right.download_button("Download everything (JSON)", comparison.json_text, "textclf-results.json",
                          "application/json")


ui.page_setup("Compare")
st.title("Compare")
with ui.friendly_errors():
    if ui.need_results():
        comparison = state.comparison()
        truncation = f", truncated at {comparison.max_len} tokens" if comparison.max_len else ""
        st.caption(f"Showing {state.source_description()}: dataset **{ui.plain(comparison.dataset_name)}**, "
                   f"{len(comparison.runs)} runs, test set of {comparison.split_sizes['test']} texts, "
                   f"tokenizer {comparison.tokenizer}{truncation}. " + " ".join(
                       f"Note: {ui.plain(note)}." for note in comparison.split_notes))
        if comparison.runs:
            show(comparison)
        else:
            st.info("The first run is still training; results appear here as soon as it finishes.")

ui.sidebar_summary()
