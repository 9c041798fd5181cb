"""Train: choose models, batching strategies and settings; run them in the background and watch progress."""

import contextlib
from dataclasses import replace

import streamlit as st

from dashboard import state, ui, watch
from textclf.data.embeddings import CORPUS, EMBEDDINGS, store_vectors, uses_vectors, vectors_dimension
from textclf.errors import TextclfError
from textclf.models import get_model_class, model_titles, models_help
from textclf.models.birnn import POOLINGS
from textclf.models.neural import NeuralTextClassifier
from textclf.models.pretrained import resolve_encoder
from textclf.runs.calibration import Calibration, TimeEstimate, estimate_time
from textclf.runs.config import AUTO, MAX_TRUNCATION, CompareConfig, ModelSpec
from textclf.runs.prepare import prepare
from textclf.storage.store import resolve_home
from textclf.training.batching import DEFAULT_BUCKETS, PAD_TO
from textclf.training.strategies import strategy_names

MODELS = model_titles()
MODELS_HELP = models_help()
# The form's model settings, by the name a model family lists in `form_fields`.
FORM_PARAMS = {"embed_dim": lambda values: values["embed_dim"], "cell": lambda values: values["cell"].lower(),
               "pooling": lambda values: values["pooling"], "path": lambda values: values["encoder_path"].strip()}
EMBEDDINGS_HELP = ("rand learns word embeddings from scratch; static and non-static start from word vectors, "
                   "frozen or fine-tuned; multichannel keeps both copies (Kim 2014). Every neural model trains "
                   "once per choice.")
VECTOR_SOURCES = {"word2vec on the training split": CORPUS, "a vectors file (word2vec or GloVe)": "file"}
# "default" leaves each model its own: Adam 0.001 for the article's models, AdamW 5e-5 for fine-tuning (a rate
# a thousand times too high for a pretrained encoder is one click away otherwise).
LEARNING_RATES = {"default (each model's own)": None, "0.0005": 5e-4, "0.001": 1e-3,
                  "0.002": 2e-3, "0.005": 5e-3}
BATCH_SIZES = {"default": None, **{str(size): size for size in (16, 32, 50, 64, 128, 256)}}
BATCH_SIZE_HELP = ("default: each model's own, as on the command line: 50 texts (Kim 2014) for the article's models, "
                   "32 for fine-tuning an encoder.")
ENCODER_HELP = ("A local folder in the Hugging Face layout (config.json, tokenizer, model.safetensors), e.g. a "
                "Chinese or multilingual encoder for Chinese texts. Empty: the bundled all-MiniLM-L6-v2 (English). "
                "Nothing is downloaded.")
TRUNCATION = {f"auto (≤ {MAX_TRUNCATION})": AUTO, **{f"{n} tokens": n for n in (32, 64, 128, 256, 512, 1024)}}
TRUNCATION_HELP = (f"The same truncation for every strategy, so they differ only in padding. auto: the 99th "
                   f"percentile of the training texts' lengths, at most {MAX_TRUNCATION} tokens.")
EMBEDDING_SIZES = [64, 128, 300]
FOLDS = {"off (one split)": 0, "5 folds": 5, "10 folds (Kim 2014)": 10}
REFIT_HELP = ("After early stopping, each neural model is trained again from scratch on training + validation for "
              "its best number of epochs, so it learns from the same texts as SVM and kNN (which have no use for a "
              "validation part). Takes 1.5–2× the training time.")
FOLDS_HELP = ("Off: one train/validation/test split. Cross-validation trains every model on each fold and tests it on "
              "the fold left out, so every text is "
              "tested once and the spread over folds is reported; it takes as many times longer as there are folds.")
EMBEDDING_HELP = ("300 is Kim (2014)'s size and every model's default, as on the command line. 128 or 64 train "
                  "faster: the TextCNN's convolutions then read 128 inputs per token instead of 300, about 2.3× "
                  "less work.")
EPOCH_CAP = NeuralTextClassifier().epochs  # every neural model's own cap; early stopping usually ends sooner
QUICK_LOOK_EPOCHS = 3
QUICK_LOOK_HELP = (f"Trains each neural model for {QUICK_LOOK_EPOCHS} epochs only, whatever the cap above: a first "
                   "look in a fraction of the time. Neural models rarely converge that soon, so their accuracy "
                   "understates them and the results say so.")
EPOCHS_HELP = (f"A cap: early stopping on the validation part ends each run when it stops improving. "
               f"{EPOCH_CAP} is every model's own default, as on the command line.")
DEFAULTS = {"models": ["TextCNN", "BiRNN", "SVM", "kNN"], "cell": "LSTM", "pooling": "mean",
            "batchings": ["max_length", "bucket"],
            "pad_to": "batch", "epochs": EPOCH_CAP, "quick_look": False, "batch_size": next(iter(BATCH_SIZES)),
            "lr": next(iter(LEARNING_RATES)), "max_len": next(iter(TRUNCATION)), "embed_dim": 300,
            "n_buckets": DEFAULT_BUCKETS, "seeds": 1, "cv": next(iter(FOLDS)), "refit": False, "save_models": True,
            "embeddings": ["rand"], "vector_source": next(iter(VECTOR_SOURCES)), "vectors": CORPUS,
            "encoder_path": ""}


def what_to_train(saved: dict) -> dict:
    """Models, batching strategies and embeddings, answered at once (outside the form) so that the form below
    shows only the settings that apply to them; remembered for the next visit."""
    value = {**DEFAULTS, **saved}
    chosen = {"models": _live(st.multiselect, "Models", list(MODELS), "models", value, help=MODELS_HELP)}
    left, right = st.columns(2)
    chosen["batchings"] = _live(left.multiselect, "Batching strategies (neural models)", strategy_names(),
                                "batchings", value, help="max_length pads every batch to the longest text; "
                                                         "per_batch pads random batches to their own longest; "
                                                         "bucket groups similar lengths.")
    fields = {field for name in chosen["models"] for field in get_model_class(MODELS[name]).form_fields}
    chosen["embeddings"] = (_live(right.multiselect, "Embeddings (neural models)", EMBEDDINGS, "embeddings", value,
                                  help=EMBEDDINGS_HELP) if "embedding" in fields else value["embeddings"])
    embeddings = chosen["embeddings"] if "embedding" in fields else []
    chosen["vector_source"] = vector_source(value, embeddings)
    saved.update(chosen)
    return {**chosen, "fields": fields, "needs_vectors": any(uses_vectors(mode) for mode in embeddings)}


def _live(widget, label: str, options: list, name: str, value: dict, **kwargs):
    """A widget that reruns the page when changed, starting from the remembered value (widget state is dropped
    when the page is left, the remembered value is not)."""
    key = f"train_{name}"
    if key not in st.session_state:
        st.session_state[key] = [v for v in value[name] if v in options]
    return widget(label, options, key=key, **kwargs)


def settings_form(saved: dict, chosen: dict, busy: bool = False) -> dict | None:
    """The settings form; returns the submitted values (also remembered for the next visit), else None. Their
    `start` says which button submitted them: Start, or Estimate the time. Only settings that apply to the
    `chosen` models and embeddings are shown (the others keep their remembered values).

    `busy`: this session's comparison is queued or running, so Start is disabled until it has finished.
    """
    value, fields = {**DEFAULTS, **saved}, chosen["fields"]
    with st.form("settings"):
        cell, pooling = value["cell"], value["pooling"]
        if "cell" in fields:
            left, right = st.columns(2)
            cell = left.radio("RNN cell", ["LSTM", "GRU"], index=["LSTM", "GRU"].index(value["cell"]), horizontal=True)
            pooling = right.selectbox("RNN pooling", POOLINGS, index=POOLINGS.index(value["pooling"]))
        cols = st.columns(4)
        epochs = cols[0].number_input("Epochs (max)", 1, 100, value["epochs"], help=EPOCHS_HELP)
        batch_size = cols[1].selectbox("Batch size", list(BATCH_SIZES), index=list(BATCH_SIZES).index(
            value["batch_size"]), help=BATCH_SIZE_HELP)
        seeds = cols[2].number_input("Seeds", 1, 10, value["seeds"],
                                     help="several seeds give mean ± sd, a 95 % CI and paired tests")
        embed_dim = cols[3].selectbox("Embedding size", EMBEDDING_SIZES,
                                      index=EMBEDDING_SIZES.index(value["embed_dim"]), help=EMBEDDING_HELP)
        left, right = st.columns(2)
        lr = left.selectbox("Learning rate", list(LEARNING_RATES), index=list(LEARNING_RATES).index(value["lr"]))
        max_len = right.selectbox("Truncate texts at", list(TRUNCATION), index=list(TRUNCATION).index(value["max_len"]),
                                  help=TRUNCATION_HELP)
        left, right = st.columns(2)
        pad_to = left.radio("Bucketed batches pad to", PAD_TO, index=PAD_TO.index(value["pad_to"]), horizontal=True,
                            help="batch: the longest text in the batch; bound: the bucket's upper bound "
                                 "(a few fixed shapes)")
        n_buckets = right.number_input("Buckets", 1, 64, value["n_buckets"])
        upload = vector_upload(chosen)
        encoder_path = (st.text_input("Encoder folder (pretrained models)", value["encoder_path"], help=ENCODER_HELP,
                                      placeholder="the bundled all-MiniLM-L6-v2") if "path" in fields
                        else value["encoder_path"])
        cv = st.columns(2)[0].selectbox("Cross-validation", list(FOLDS), index=list(FOLDS).index(value["cv"]),
                                        help=FOLDS_HELP)
        refit = st.checkbox("Retrain neural models on training + validation", value["refit"], help=REFIT_HELP)
        save_models = st.checkbox("Save a model bundle per run (for Predict after a restart)", value["save_models"])
        quick_look = st.checkbox(f"Quick look ({QUICK_LOOK_EPOCHS} epochs, under-trained)", value["quick_look"],
                                 help=QUICK_LOOK_HELP)
        buttons = st.container(horizontal=True)  # each button as wide as its label, at any page width
        start = buttons.form_submit_button("Start training", type="primary", disabled=busy)
        if not buttons.form_submit_button("Estimate the time") and not start:
            return None
    submitted = {"models": chosen["models"], "cell": cell, "pooling": pooling, "batchings": chosen["batchings"],
                 "pad_to": pad_to, "epochs": int(epochs), "quick_look": quick_look, "batch_size": batch_size, "lr": lr,
                 "max_len": max_len, "n_buckets": int(n_buckets), "seeds": int(seeds), "cv": cv, "refit": refit,
                 "save_models": save_models, "embed_dim": embed_dim, "embeddings": chosen["embeddings"],
                 "vector_source": chosen["vector_source"], "encoder_path": encoder_path,
                 "vectors": vectors_path(upload) if VECTOR_SOURCES[chosen["vector_source"]] != CORPUS else CORPUS}
    saved.update(submitted, truncation=TRUNCATION[max_len])
    return {**submitted, "start": start}


def vector_source(value: dict, embeddings: list[str]) -> str:
    """Where word vectors come from, asked (outside the form, so the upload below follows it at once) only when an
    embedding mode chosen starts from vectors (rand learns its embeddings: nothing to ask)."""
    if not any(uses_vectors(mode) for mode in embeddings):
        return value["vector_source"]
    sources = list(VECTOR_SOURCES)
    key = "train_vector_source"
    if key not in st.session_state:
        st.session_state[key] = value["vector_source"]
    return st.radio("Word vectors from", sources, key=key, horizontal=True,
                    help="for static, non-static and multichannel embeddings: word2vec learns from the training "
                         "texts only (nothing is downloaded); a file sets the embedding size to its dimension")


def vector_upload(chosen: dict):
    """The vectors file, asked only when the vectors are to come from a file."""
    if not chosen["needs_vectors"] or VECTOR_SOURCES[chosen["vector_source"]] == CORPUS:
        return None
    return st.file_uploader("Vectors file (word2vec or GloVe)", type=["txt", "vec", "bin"],
                            help="word2vec text or binary, or GloVe text; words one per line with their numbers")


def vectors_path(upload) -> str | None:
    """The uploaded vectors file, kept in the textclf folder; None when none was chosen."""
    if upload is None:
        return None
    return str(store_vectors(upload.getvalue(), upload.name, resolve_home() / "vectors"))


def config_from(values: dict) -> CompareConfig:
    if not values["embeddings"]:
        raise TextclfError("Choose at least one kind of embeddings for the neural models (rand learns them).")
    specs = []
    for name in values["models"]:
        key = MODELS[name]
        fields = get_model_class(key).form_fields
        params = {field: FORM_PARAMS[field](values) for field in fields if field in FORM_PARAMS}
        params = {name: value for name, value in params.items() if value != ""}  # an empty folder: the default
        if "path" in params:
            resolve_encoder(params["path"])  # a folder that is not an encoder is named now, not after Start
        modes = values["embeddings"] if "embedding" in fields else ["rand"]
        specs += [ModelSpec(key, {**params, **embedding_params(mode, values)}) for mode in modes]
    return CompareConfig(models=tuple(specs), batchings=tuple(values["batchings"]), seeds=tuple(range(values["seeds"])),
                         epochs=epoch_setting(values), batch_size=BATCH_SIZES[values["batch_size"]],
                         lr=LEARNING_RATES[values["lr"]], max_len=TRUNCATION[values["max_len"]],
                         n_buckets=values["n_buckets"], pad_to=values["pad_to"],
                         cv=FOLDS[values["cv"]], refit=values.get("refit", False),
                         quick_look=values.get("quick_look", False))


def epoch_setting(values: dict) -> int | None:
    """The quick look's few epochs; None (each model's own cap, as on the command line) for the default cap."""
    if values.get("quick_look"):
        return QUICK_LOOK_EPOCHS
    return None if values["epochs"] == EPOCH_CAP else values["epochs"]


def embedding_params(mode: str, values: dict) -> dict:
    """Parameters for one embedding mode: none for rand; the vectors source (and its size) otherwise."""
    if not uses_vectors(mode):
        return {}
    if values["vectors"] is None:
        raise TextclfError(f"The {mode} embeddings need word vectors: choose a vectors file, or word2vec on the "
                           "training split.")
    if values["vectors"] == CORPUS:
        return {"embedding": mode}
    return {"embedding": mode, "vectors": values["vectors"], "embed_dim": vectors_dimension(values["vectors"])}


def show_estimate(data, values: dict, calibrate: bool) -> float | None:
    """The whole comparison's time on this machine, shown before Start; None when it cannot be told yet.

    Without kept measurements for every neural setting it waits for `calibrate` (Estimate the time), so that
    opening the page never trains anything."""
    try:
        config = config_from(values)
    except TextclfError:
        return None
    measured = calibration()
    missing = measured.missing(config.models)
    if missing and not calibrate:
        st.caption("Estimate the time to see how long this comparison will take on this machine (the first time "
                   "calibrates it: a short timed training per model, a few seconds each, kept for later).")
        return None
    calibrating = st.spinner(f"Calibrating this machine for the estimate: a short timed training of {len(missing)} "
                             f"{ui.plural(len(missing), 'model')}, a few seconds each (once)…", show_time=True)
    with calibrating if missing else contextlib.nullcontext():
        estimate = comparison_estimate(data, config, measured)
    if estimate is None:
        return None
    st.info(f"Estimated time on this machine: about {ui.duration(estimate.typical)}. It expects each neural run to "
            f"stop a few epochs after its best one, as early stopping usually does{_at_most(estimate)}. After "
            "changing a setting, Estimate the time again.")
    return estimate.typical


def _at_most(estimate: TimeEstimate) -> str:
    """The upper bound, where it differs enough from the estimate to be worth saying."""
    if not estimate.cap_matters:
        return ""
    return f"; if every neural run kept improving to its epoch cap, it would take up to {ui.duration(estimate.at_most)}"


@st.cache_resource(show_spinner=False, max_entries=4)
def _calibration(home: str) -> Calibration:
    return Calibration.in_home(home)


def calibration() -> Calibration:
    """The kept seconds per slot of this machine (one torch thread per run, as the dashboard's workers train)."""
    return _calibration(str(resolve_home()))


def comparison_estimate(data, config: CompareConfig, measured: Calibration) -> TimeEstimate | None:
    """Planned slots × measured rates, on the split and tokens the comparison will train on (kept per session)."""
    key = (id(data), config.tokenizer, config.validation, config.test, config.split_seed, config.cv, config.max_len)
    try:
        prepared = state.session_cached("train_estimate_data", key, lambda: prepare(data, config))
        return estimate_time(prepared, config, measured, workers=state.runner().backend.workers)
    except (TextclfError, ValueError):
        return None  # the same problem stops the comparison, and Start says why


with ui.page("Train"):
    state.attach_from_url()
    if ui.need_dataset():
        data = state.dataset()
        current = state.job() if state.shown_source()["kind"] == "job" else None
        in_flight = current is not None and not current.finished
        if current is not None:
            watch.progress_panel(current)
        elif (stored := state.shown_experiment()) is not None:
            watch.stored_panel(stored)
        st.write(f"Dataset **{ui.plain(data.name)}**: {len(data)} texts, {len(data.classes)} classes. Training runs "
                 "in the background: you can switch pages, reload, or open another tab meanwhile.")
        busy = state.busy_job()
        label = "Settings for another comparison" if in_flight else "Settings"
        with st.expander(label, expanded=not in_flight, icon=":material/tune:"):
            if busy is not None:
                st.caption(f"Start is disabled until this session's comparison (experiment #{busy.experiment_id}) has "
                           "finished; cancel it above or wait for it.")
            chosen = what_to_train(state.train_settings())
            values = settings_form(state.train_settings(), chosen, busy=busy is not None)
            starting = values is not None and values["start"]
            estimate = show_estimate(data, values or {**DEFAULTS, **state.train_settings()},
                                     calibrate=values is not None and not starting)
        if starting:
            state.start_job(data, replace(config_from(values), estimated_seconds=estimate),
                            save_models=values["save_models"])
            st.rerun()
