"""Predict: every trained model's label and class probabilities for a text the user types, and its reasons."""

from functools import partial

import streamlit as st

from dashboard import state, ui
from dashboard.explanations import explanation_section
from textclf import charts
from textclf.bundle import bundle_bytes, load_bundle


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
        name = f"{run.record['model']} · {run.record['batching']} · seed {run.record['seed']}"
        if run.estimator is not None:
            models[name] = run.estimator
        elif path:
            models[name] = saved_model(path)
    return models


def show_predictions(models: dict, text: str) -> None:
    probabilities = {name: model.predict_proba([text])[0] for name, model in models.items()}
    classes = [str(c) for c in next(iter(models.values())).classes_]
    rows = [{"model": name, "label": classes[int(p.argmax())], "probability": float(p.max())}
            for name, p in probabilities.items()]
    st.dataframe(rows, width="stretch", hide_index=True,
                 column_config={"probability": st.column_config.NumberColumn(format="percent")})
    st.plotly_chart(charts.probability_bars(probabilities, classes), width="stretch")


def offer_download(models: dict) -> None:
    st.subheader("Download a model bundle")
    chosen = st.selectbox("Model", list(models))
    st.download_button("Download bundle", partial(bundle_bytes, models[chosen]),
                       f"{chosen.replace(' · ', '_')}.textclf", "application/zip",
                       help="written when you click, so typing texts above stays fast")


ui.page_setup("Predict")
st.title("Predict")
with ui.friendly_errors():
    if ui.need_results():
        models = trained_models()
        if not models:
            st.info("These results have no saved models. Train again with 'Save a model bundle per run' ticked.")
        else:
            text = st.text_area("Text to classify", height=120, placeholder="Type or paste a text…")
            if text.strip():
                show_predictions(models, text)
                explanation_section(models, text)
            offer_download(models)

ui.sidebar_summary()
