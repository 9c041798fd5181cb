"""The Predict page's 'Why?' section: every model's reasons for the typed text, side by side.

Kept apart from the page so the page only calls `explanation_section`. All HTML comes from
`textclf.explain.highlight`, which escapes the user's text; class names and model names are escaped here too.
"""

from __future__ import annotations

import streamlit as st

from dashboard import state, ui
from textclf.data.split import split_dataset
from textclf.errors import TextclfError
from textclf.explain.explanation import Explanation, explain, methods
from textclf.explain.highlight import class_table_frame, details_table, highlight_html, legend_html, top_tokens_table

OWN, GRADIENTS = "Each model's own way", "Integrated gradients (neural models)"
COLUMNS = 2
CLASS_TABLES = "explain_class_tables"


def explanation_section(models: dict, text: str) -> None:
    """Explanations of `text` by every model, two per row, then the per-class tables on request."""
    st.subheader("Why? Each model's reasons")
    choice = st.radio("Explain by", (OWN, GRADIENTS), horizontal=True, key="explain_by",
                      help="Integrated gradients credits each word of a neural model's input with its share of "
                           "the decision (Captum, all-pad baseline); SVM and kNN always show their own reasons.")
    names = list(models)
    for row_start in range(0, len(names), COLUMNS):
        columns = st.columns(COLUMNS)
        for column, name in zip(columns, names[row_start:row_start + COLUMNS], strict=False):
            with column, st.container(border=True):
                _explain_one(name, models[name], text, GRADIENTS if choice == GRADIENTS else OWN)
    _class_tables(models)


def _explain_one(name: str, model, text: str, choice: str) -> None:
    offered = methods(model)
    method = "integrated_gradients" if choice == GRADIENTS and "integrated_gradients" in offered else offered[0]
    st.markdown(f"**{ui.plain(name)}**")
    try:
        explanation = explain(model, text, method)
    except TextclfError as err:
        st.info(str(err))
        return
    except Exception:
        ui.LOG.exception("explaining %s failed", name)
        st.warning("This model's explanation failed (the details are in the server log); the others are shown.")
        return
    _show(explanation, text)


def _show(explanation: Explanation, text: str) -> None:
    probability = "" if explanation.probability is None else f" ({explanation.probability:.0%})"
    st.caption(f"Predicted **{ui.plain(explanation.predicted)}**{probability} · {ui.plain(explanation.title)}")
    st.html(legend_html(explanation.method) + highlight_html(explanation, text))
    table = details_table(explanation)
    st.dataframe(top_tokens_table(explanation) if table is None else table, hide_index=True, width="stretch")
    for note in explanation.notes:
        st.caption(ui.plain(note))


def _class_tables(models: dict) -> None:
    """Per class, what each model relies on over its training set (computed once per session on request)."""
    if not st.toggle("Show what each model relies on per class (over the training set)", key="explain_tables"):
        return
    docs, labels = _training_part()
    cache = st.session_state.setdefault(CLASS_TABLES, {})
    shown = False
    for name, model in models.items():
        key = (name, id(model))
        if key not in cache:
            with st.spinner(f"Summarising {name} over the training set…"):
                cache[key] = model.class_table(docs, labels)
        if cache[key]:
            shown = True
            st.markdown(f"**{ui.plain(name)}** — {cache[key][0]['measure']} per class")
            st.dataframe(class_table_frame(cache[key]), width="stretch")
    if not shown:
        st.info("None of these models has a per-class summary here. The TextCNN's and the SVM's need the training "
                "texts: load the same dataset on the Data page.")


def _training_part():
    """The training texts and labels of the shown comparison, rebuilt from the session's dataset (same split)."""
    comparison, dataset = state.comparison(), state.dataset()
    if comparison is None or dataset is None or dataset.name != comparison.dataset_name:
        return None, None
    config = comparison.config
    split = split_dataset(dataset, validation=config.validation, test=config.test, seed=config.split_seed)
    return [dataset.texts[i] for i in split.train], [dataset.labels[i] for i in split.train]
