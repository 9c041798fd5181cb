"""Predict: every trained model's label, probabilities and reasons for a typed text, or labels for a whole CSV."""

from functools import partial

import streamlit as st

from dashboard import state, ui
from dashboard.explanations import explanation_section
from textclf.data.reading import guess_columns, read_table
from textclf.results import charts
from textclf.results.csv_safety import csv_text
from textclf.results.predictions import predictions_table
from textclf.results.report import run_label
from textclf.storage.bundle import bundle_bytes, load_bundle

BATCH_PREVIEW_ROWS = 20


@st.cache_resource(show_spinner="Loading the saved model…", max_entries=16)
def saved_model(path: str):
    """The estimator inside a saved bundle (loaded safely: no code runs from the file)."""
    return load_bundle(path).estimator


def trained_models() -> dict:
    """Run name → a model with predict_proba: this session's live models, else the bundles saved on disk."""
    comparison = state.comparison()
    source = st.session_state.get(state.SOURCE, {"kind": "job"})
    paths = [None] * len(comparison.runs)
    if source["kind"] == "experiment":
        paths = [str(b["path"]) if b["path"] else None for b in state.store().experiment(source["id"])["bundles"]]
    models = {}
    for run, path in zip(comparison.runs, paths, strict=False):
        name = run_label(run.record)
        if run.estimator is not None:
            models[name] = run.estimator
        elif path:
            models[name] = saved_model(path)
    return models


def show_predictions(models: dict, text: str) -> None:
    probabilities = {name: model.predict_proba([text])[0] for name, model in models.items()}
    classes = [str(c) for c in next(iter(models.values())).classes_]
    rows = [{"model": name, "label": classes[int(p.argmax())], "probability": 100 * float(p.max())}
            for name, p in probabilities.items()]
    st.dataframe(rows, width="stretch", hide_index=True,  # one decimal, as every rate in the lab
                 column_config={"probability": st.column_config.NumberColumn(format="%.1f%%")})
    st.plotly_chart(charts.probability_bars(probabilities, classes), width="stretch")


def one_text(models: dict) -> None:
    with st.form("one_text"):
        text = st.text_area("Text to classify", height=120, placeholder="Type or paste a text…")
        submitted = st.form_submit_button("Predict", type="primary", icon=":material/play_arrow:")
    if submitted:
        st.session_state["predict_text"] = text
    if submitted and not text.strip():
        st.warning("Type a text first.")
    elif st.session_state.get("predict_text", "").strip():
        show_predictions(models, st.session_state["predict_text"])
        explanation_section(models, st.session_state["predict_text"])


def many_texts(models: dict) -> None:
    """Batch mode: a CSV of texts in; out, as a download, every column of it and each model's label and class
    probabilities per row."""
    upload = st.file_uploader("A CSV of texts (one per row; its other columns, such as an ID, are kept)",
                              type=["csv", "tsv", "txt"], key="batch_upload")
    if upload is None:
        return
    table = read_batch(upload.getvalue(), upload.name)
    columns = list(table.frame.columns)
    text_column = st.selectbox("Text column", columns, index=columns.index(guess_columns(table.frame)[0])
                               if len(columns) > 1 else 0)
    texts = table.frame[text_column].fillna("").astype(str).tolist()
    if st.button(f"Predict {len(texts)} {ui.plural(len(texts), 'text')} with {len(models)} "
                 f"{ui.plural(len(models), 'model')}", type="primary"):
        with st.spinner("Predicting…"):
            st.session_state["batch_predictions"] = (upload.name, predictions_table(models, texts, table.frame))
    done = st.session_state.get("batch_predictions")
    if done and done[0] == upload.name:
        frame = done[1]
        st.caption(f"The first {min(BATCH_PREVIEW_ROWS, len(frame))} of {len(frame)} rows:")
        st.dataframe(frame.head(BATCH_PREVIEW_ROWS).style.format(
            {c: "{:.1%}" for c in frame.columns[len(table.frame.columns):] if ": probability" in c}, na_rep="–"),
            width="stretch", hide_index=True)
        st.download_button("Download every model's predictions (CSV)", csv_text(frame),
                           f"{upload.name.rsplit('.', 1)[0]}-predictions.csv", "text/csv", type="primary")


@st.cache_data(show_spinner="Reading the file…", max_entries=2)
def read_batch(raw: bytes, name: str):
    return read_table(raw, name=name.rsplit(".", 1)[0])


def offer_download(models: dict) -> None:
    st.subheader("Download a model bundle")
    chosen = st.selectbox("Model", list(models))
    st.download_button("Download bundle", partial(bundle_bytes, models[chosen]),
                       f"{chosen.replace(' · ', '_')}.textclf", "application/zip",
                       help="written when you click, so typing texts above stays fast")


with ui.page("Predict"):
    state.attach_from_url()  # ?experiment=ID: a reload or another tab shows the same experiment
    if ui.need_results():
        models = trained_models()
        if not models:
            st.info("These results have no saved models. Train again with 'Save a model bundle per run' ticked.")
        else:
            single, batch = st.tabs(["One text", "A CSV of texts"])
            with single:
                one_text(models)
            with batch:
                many_texts(models)
            offer_download(models)
