"""Data: upload a CSV, check how it was read, pick the columns and look at the profile."""

import streamlit as st

from dashboard import state, ui
from textclf import charts
from textclf.batching import DEFAULT_BUCKETS, boundaries_for
from textclf.data import ENCODINGS, SEPARATOR_BY_NAME, Dataset, guess_columns, read_table, separator_name, to_dataset
from textclf.experiment import AUTO, truncation_length
from textclf.profile import profile_dataset, token_lengths
from textclf.tokenize import resolve, tokenize_all

DETECT = "detect automatically"
NO_SPLIT = "(none: split at random)"


@st.cache_data(show_spinner="Reading the file…", max_entries=4)
def read(raw: bytes, name: str, encoding: str | None, separator: str | None):
    return read_table(raw, encoding=encoding, separator=separator, name=name)


@st.cache_data(show_spinner="Tokenizing…", max_entries=4)
def describe(_dataset: Dataset, key: tuple):
    """Profile and token lengths, cached on `key` (file and column choices): the dataset itself is not hashed."""
    tokenizer = resolve("auto", _dataset.texts)
    tokens = tokenize_all(_dataset.texts, tokenizer)
    profile = profile_dataset(_dataset, tokenizer, tokens=tokens)
    return profile, token_lengths(tokens)


def dataset_from_upload(upload) -> Dataset:
    left, right = st.columns(2)
    encoding = left.selectbox("Encoding", [DETECT, *ENCODINGS])
    separator = right.selectbox("Separator", [DETECT, *SEPARATOR_BY_NAME])
    table = read(upload.getvalue(), upload.name.rsplit(".", 1)[0], None if encoding == DETECT else encoding,
                 SEPARATOR_BY_NAME.get(separator))
    st.caption(f"Read as {table.encoding}, {separator_name(table.separator)}-separated: "
               f"{len(table.frame)} rows, {len(table.frame.columns)} columns. Preview:")
    st.dataframe(table.frame.head(20), width="stretch", hide_index=True)
    columns = list(table.frame.columns)
    text_guess, label_guess = guess_columns(table.frame)
    left, middle, right = st.columns(3)
    text_col = left.selectbox("Text column", columns, index=columns.index(text_guess))
    label_col = middle.selectbox("Label column", columns, index=columns.index(label_guess))
    split_col = right.selectbox("Split column (optional)", [NO_SPLIT, *columns])
    return to_dataset(table, text_col=text_col, label_col=label_col,
                      split_col=None if split_col == NO_SPLIT else split_col)


def show_profile(data: Dataset) -> None:
    st.success(f"**{ui.plain(data.name)}** is the dataset for training: {len(data)} texts, "
               f"{len(data.classes)} classes.")
    if data.dropped:
        st.warning("Rows dropped: " + ", ".join(f"{n} {reason}" for reason, n in data.dropped.items()) + ".")
    profile, lengths = describe(data, (data.name, len(data), data.text_column, data.label_column, data.texts[0]))
    cols = st.columns(5)
    cols[0].metric("Texts", profile.rows)
    cols[1].metric("Classes", len(profile.classes))
    cols[2].metric("Median length", f"{profile.length_median:.0f} tokens")
    cols[3].metric("Vocabulary", f"{profile.vocabulary:,}")
    cols[4].metric("Language", {"zh": "Chinese", "en": "English"}[profile.language],
                   help=f"tokenizer: {profile.tokenizer}")
    st.caption(" · ".join(profile.lines()[3:]))
    settings = state.train_settings()
    max_len = truncation_length(lengths, settings.get("truncation", AUTO))
    n_buckets = settings.get("n_buckets", DEFAULT_BUCKETS)
    left, right = st.columns(2)
    left.plotly_chart(charts.class_counts(profile), width="stretch")
    right.plotly_chart(charts.length_histogram(lengths, boundaries_for(lengths, max_len, n_buckets), max_len),
                       width="stretch")


ui.page_setup("Data")
st.title("Data")
st.write("A CSV or TSV file with one text per row and a column of labels. The encoding and the separator are "
         "detected; override them if the preview looks wrong.")

with ui.friendly_errors():
    upload = st.file_uploader("Upload a labelled CSV", type=["csv", "tsv", "txt"],
                              key=f"upload_{st.session_state.get('upload_generation', 0)}")
    if st.button("Use the built-in demo dataset"):
        state.use_demo()
        st.session_state["upload_generation"] = st.session_state.get("upload_generation", 0) + 1
        st.rerun()
    if upload is not None:
        state.set_dataset(dataset_from_upload(upload))
    if state.dataset() is None:
        st.info("Upload a file, or use the demo dataset, to see its profile here.")
    else:
        show_profile(state.dataset())
        st.page_link(ui.PAGES["train"], label="Next: train the models", icon="🏋️")

ui.sidebar_summary()
