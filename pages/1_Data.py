"""Data: upload a CSV, check how it was read, pick the columns and look at the profile."""

import streamlit as st

from dashboard import state, ui
from textclf.data.profile import profile_dataset
from textclf.data.reading import (
    ENCODINGS,
    MISSING_LABELS,
    SEPARATOR_BY_NAME,
    Dataset,
    guess_columns,
    read_table,
    separator_name,
    to_dataset,
)
from textclf.errors import DataError
from textclf.results import charts
from textclf.results.sample_size import RULE, check_test_set
from textclf.runs.config import AUTO, CompareConfig
from textclf.runs.prepare import prepare
from textclf.training.batching import DEFAULT_BUCKETS, boundaries_for

DETECT = "detect automatically"
NO_SPLIT = "(none: split at random)"
PREVIEW_ROWS = 20
FIRST_ROW_IS_DATA, KEEP_MISSING = "first_row_is_data", "keep_missing_labels"


@st.cache_data(show_spinner="Splitting and tokenizing as training will…", max_entries=4)
def describe(_dataset: Dataset, key: tuple, truncation: int | str):
    """Profile, training lengths, truncation and split notes, through the same `prepare()` as training.

    Cached on `key` (file and column choices): the dataset itself is not hashed. Raises DataError when the
    data cannot be trained on (e.g. too few rows per class for a test part), so Data says so before Train.
    """
    prepared = prepare(_dataset, CompareConfig(models=("svm",), max_len=truncation))
    profile = profile_dataset(_dataset, prepared.tokenizer, tokens=prepared.tokens)
    train_lengths = [len(prepared.tokens[i]) for i in prepared.split.train]
    test_labels = [str(label) for label in prepared.part("test")[1]]
    return profile, train_lengths, prepared.max_len, prepared.split.sizes(), prepared.split.notes, test_labels


def dataset_from_upload(upload) -> Dataset:
    """The upload parsed once per session and choice (kept in the session, never copied per rerun)."""
    left, right = st.columns(2)
    encoding = left.selectbox("Encoding", [DETECT, *ENCODINGS])
    separator = right.selectbox("Separator", [DETECT, *SEPARATOR_BY_NAME])
    reading = (None if encoding == DETECT else encoding, SEPARATOR_BY_NAME.get(separator),
               not st.session_state.get(FIRST_ROW_IS_DATA, False))
    with st.spinner("Reading the file…"):
        table = state.session_cached(state.UPLOAD_TABLE, (upload.file_id, *reading), lambda: read_table(
            upload.getvalue(), name=upload.name.rsplit(".", 1)[0], encoding=reading[0], separator=reading[1],
            header=reading[2]))
    st.caption(f"Read as {table.encoding}, {separator_name(table.separator)}-separated: "
               f"{len(table.frame)} rows, {len(table.frame.columns)} columns. Preview:")
    st.dataframe(table.frame.head(PREVIEW_ROWS), width="stretch", hide_index=True)
    offer_first_row_is_data(table)
    columns = list(table.frame.columns)
    text_guess, label_guess = guess_columns(table.frame)
    left, middle, right = st.columns(3)
    text_col = left.selectbox("Text column", columns, index=columns.index(text_guess))
    label_col = middle.selectbox("Label column", columns, index=columns.index(label_guess))
    split_col = right.selectbox("Split column (optional)", [NO_SPLIT, *columns])
    offer_missing_labels(table.frame[label_col])
    choice = (text_col, label_col, None if split_col == NO_SPLIT else split_col,
              st.session_state.get(KEEP_MISSING, False))
    return state.session_cached(state.UPLOAD_DATASET, (upload.file_id, *reading, *choice), lambda: to_dataset(
        table, text_col=choice[0], label_col=choice[1], split_col=choice[2], keep_missing_labels=choice[3]))


def offer_first_row_is_data(table) -> None:
    if table.header_warning:
        st.warning(ui.plain(f"The first line may be a data row rather than column names ({table.header_warning})."))
    if table.header_warning or st.session_state.get(FIRST_ROW_IS_DATA):
        st.checkbox("First row is data (the file has no header line)", key=FIRST_ROW_IS_DATA)


def offer_missing_labels(labels) -> None:
    """Labels like NaN or null are dropped as missing unless the user says they are a class."""
    if labels.str.strip().str.lower().isin(MISSING_LABELS).any():
        st.checkbox("Keep labels such as NaN, NA, null or None as a class (they are dropped as missing otherwise)",
                    key=KEEP_MISSING)


def trainable(data: Dataset) -> tuple | None:
    """What `describe` found, or None after saying why this data cannot be trained on."""
    settings = state.train_settings()
    key = (data.name, len(data), data.text_column, data.label_column, data.texts[0], data.split is not None)
    try:
        return describe(data, key, settings.get("truncation", AUTO))
    except DataError as err:
        st.error(f"**{ui.plain(data.name)}** cannot be used for training yet: {ui.plain(err)}", icon=":material/block:")
        return None


def small_data_warning(data: Dataset, test_labels: list[str]) -> None:
    """Said before training: a test set under the small-data rule cannot tell the models apart."""
    check = check_test_set(test_labels, data.classes)
    if check.enough:
        return
    pooled = check_test_set([str(label) for label in data.labels], data.classes)
    advice = ("Choose cross-validation on the Train page (every text is then tested once) or label more texts."
              if pooled.enough else "Even cross-validation, which tests every text once, would leave too few: "
              "label more texts.")
    st.warning(f"Too little data to judge the models: {ui.plain(check.problems())}. Compare will show the numbers "
               f"but name no winner (the rule: {RULE}). {advice}", icon=":material/warning:")


def show_profile(data: Dataset, described: tuple) -> None:
    profile, train_lengths, max_len, sizes, notes, test_labels = described
    st.success(f"**{ui.plain(data.name)}** is the dataset for training: {len(data)} texts, "
               f"{len(data.classes)} classes; split {sizes['train']} train, {sizes['validation']} validation, "
               f"{sizes['test']} test.")
    if data.dropped:
        st.warning(ui.plain("Rows dropped: " + ", ".join(f"{n} {reason}" for reason, n in data.dropped.items()) + "."))
    for note in notes:
        st.caption(f"Note: {ui.sentence(ui.plain(note))}")
    small_data_warning(data, test_labels)
    cols = st.columns(5)
    cols[0].metric("Texts", profile.rows)
    cols[1].metric("Classes", len(profile.classes))
    median = round(profile.length_median)
    cols[2].metric("Median length", f"{median} {ui.plural(median, 'token')}")
    cols[3].metric("Vocabulary", f"{profile.vocabulary:,}")
    cols[4].metric("Language", {"zh": "Chinese", "en": "English"}[profile.language],
                   help=f"tokenizer: {profile.tokenizer}")
    st.caption(" · ".join(profile.lines()[3:]))
    n_buckets = state.train_settings().get("n_buckets", DEFAULT_BUCKETS)
    left, right = st.columns(2)
    left.plotly_chart(charts.class_counts(profile), width="stretch")
    right.plotly_chart(charts.length_histogram(train_lengths, boundaries_for(train_lengths, max_len, n_buckets),
                                               max_len), width="stretch")


with ui.page("Data"):
    st.write("A CSV or TSV file with one text per row and a column of labels. The encoding and the separator are "
             "detected; override them if the preview looks wrong.")
    upload = st.file_uploader("Upload a labelled CSV", type=["csv", "tsv", "txt"],
                              key=f"upload_{st.session_state.get('upload_generation', 0)}")
    st.caption(f"Upload limit: {st.get_option('server.maxUploadSize')} MB per file; the file is kept for this "
               "browser session only.")
    if st.button("Use the built-in demo dataset"):
        state.use_demo()
        st.session_state["upload_generation"] = st.session_state.get("upload_generation", 0) + 1
        st.rerun()
    if upload is None:
        state.forget_upload()
    candidate = dataset_from_upload(upload) if upload is not None else state.dataset()
    described = trainable(candidate) if candidate is not None else None
    if described is not None:
        state.set_dataset(candidate)
        show_profile(candidate, described)
        st.page_link(ui.PAGES["train"], label="Next: train the models", icon=ui.ICONS["train"])
    elif candidate is None:
        st.info("Upload a file, or use the demo dataset, to see its profile here.")
