"""Train: choose models, batching strategies and settings; run them in the background and watch progress."""

import contextlib
from dataclasses import replace

import streamlit as st

from dashboard import state, ui
from textclf.data.embeddings import CORPUS, EMBEDDINGS, store_vectors, uses_vectors, vectors_dimension
from textclf.errors import TextclfError
from textclf.models import get_model_class, model_titles, models_help
from textclf.models.birnn import POOLINGS
from textclf.models.neural import NeuralTextClassifier
from textclf.results import charts
from textclf.runs.calibration import Calibration, estimate_seconds
from textclf.runs.config import AUTO, MAX_TRUNCATION, CompareConfig, ModelSpec
from textclf.runs.events import Status
from textclf.runs.prepare import prepare
from textclf.runs.run_one import REFIT_STAGE
from textclf.storage.store import resolve_home
from textclf.training.batching import DEFAULT_BUCKETS, PAD_TO
from textclf.training.strategies import strategy_names

MODELS = model_titles()
MODELS_HELP = models_help()
# The form's model settings, by the name a model family lists in `form_fields`.
FORM_PARAMS = {"embed_dim": lambda values: values["embed_dim"], "cell": lambda values: values["cell"].lower(),
               "pooling": lambda values: values["pooling"]}
EMBEDDINGS_HELP = ("rand learns word embeddings from scratch; static and non-static start from word vectors, "
                   "frozen or fine-tuned; multichannel keeps both copies (Kim 2014). Every neural model trains "
                   "once per choice.")
VECTOR_SOURCES = {"word2vec on the training split": CORPUS, "a vectors file (word2vec or GloVe)": "file"}
LEARNING_RATES = {"the default (Adam 0.001)": None, "0.0005": 5e-4, "0.001": 1e-3,
                  "0.002": 2e-3, "0.005": 5e-3}
TRUNCATION = {f"auto: 99th percentile of training lengths (≤ {MAX_TRUNCATION})": AUTO, **{f"{n} tokens": n for n in
                                                                          (32, 64, 128, 256, 512, 1024)}}
LOSS_POINTS_SHOWN = 300
EMBEDDING_SIZES = [64, 128, 300]
FOLDS = {"off: one train/validation/test split": 0, "5 folds": 5, "10 folds (Kim 2014's protocol)": 10}
REFIT_HELP = ("After early stopping, each neural model is trained again from scratch on training + validation for "
              "its best number of epochs, so it learns from the same texts as SVM and kNN (which have no use for a "
              "validation part). Takes 1.5–2× the training time.")
FOLDS_HELP = ("Cross-validation trains every model on each fold and tests it on the fold left out, so every text is "
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
            "pad_to": "batch", "epochs": EPOCH_CAP, "quick_look": False, "batch_size": 64,
            "lr": next(iter(LEARNING_RATES)), "max_len": next(iter(TRUNCATION)), "embed_dim": 300,
            "n_buckets": DEFAULT_BUCKETS, "seeds": 1, "cv": next(iter(FOLDS)), "refit": False, "save_models": True,
            "embeddings": ["rand"], "vector_source": next(iter(VECTOR_SOURCES))}


def settings_form(saved: dict, busy: bool = False) -> dict | None:
    """The settings form; returns the submitted values (also remembered for the next visit), else None. Their
    `start` says which button submitted them: Start, or Estimate the time.

    `busy`: this session's comparison is queued or running, so Start is disabled until it has finished.
    """
    value = {**DEFAULTS, **saved}
    with st.form("settings"):
        left, right = st.columns(2)
        models = left.multiselect("Models", list(MODELS), default=value["models"], help=MODELS_HELP)
        batchings = right.multiselect("Batching strategies (neural models)", strategy_names(),
                                      default=value["batchings"],
                                      help="max_length pads every batch to the longest text; per_batch pads "
                                           "random batches to their own longest; bucket groups similar lengths.")
        cols = st.columns(5)
        cell = cols[0].radio("RNN cell", ["LSTM", "GRU"], index=["LSTM", "GRU"].index(value["cell"]), horizontal=True)
        pooling = cols[1].selectbox("RNN pooling", POOLINGS, index=POOLINGS.index(value["pooling"]))
        pad_to = cols[2].radio("Bucketed batches pad to", PAD_TO, index=PAD_TO.index(value["pad_to"]),
                               help="batch: the longest text in the batch; bound: the bucket's upper bound "
                                    "(a few fixed shapes)")
        n_buckets = cols[3].number_input("Buckets", 1, 64, value["n_buckets"])
        embed_dim = cols[4].selectbox("Embedding size", EMBEDDING_SIZES,
                                      index=EMBEDDING_SIZES.index(value["embed_dim"]), help=EMBEDDING_HELP)
        embeddings, vector_source, upload = embedding_inputs(value)
        cols = st.columns(5)
        epochs = cols[0].number_input("Epochs (max)", 1, 100, value["epochs"], help=EPOCHS_HELP)
        batch_size = cols[1].selectbox("Batch size", [16, 32, 64, 128, 256], index=[16, 32, 64, 128, 256].index(
            value["batch_size"]))
        lr = cols[2].selectbox("Learning rate", list(LEARNING_RATES), index=list(LEARNING_RATES).index(value["lr"]))
        max_len = cols[3].selectbox("Truncate texts at", list(TRUNCATION),
                                    index=list(TRUNCATION).index(value["max_len"]),
                                    help="the same truncation for every strategy, so they differ only in padding")
        seeds = cols[4].number_input("Seeds", 1, 10, value["seeds"],
                                     help="several seeds give mean ± sd, a 95 % CI and paired tests")
        left, right = st.columns([2, 3])
        cv = left.selectbox("Cross-validation", list(FOLDS), index=list(FOLDS).index(value["cv"]), help=FOLDS_HELP)
        refit = right.checkbox("Retrain neural models on training + validation", value["refit"], help=REFIT_HELP)
        save_models = right.checkbox("Save a model bundle per run (for Predict after a restart)", value["save_models"])
        quick_look = st.checkbox(f"Quick look ({QUICK_LOOK_EPOCHS} epochs, under-trained)", value["quick_look"],
                                 help=QUICK_LOOK_HELP)
        buttons = st.container(horizontal=True)  # each button as wide as its label, at any page width
        start = buttons.form_submit_button("Start training", type="primary", disabled=busy)
        if not buttons.form_submit_button("Estimate the time") and not start:
            return None
    submitted = {"models": models, "cell": cell, "pooling": pooling, "batchings": batchings, "pad_to": pad_to,
                 "epochs": int(epochs), "quick_look": quick_look, "batch_size": batch_size, "lr": lr,
                 "max_len": max_len, "n_buckets": int(n_buckets), "seeds": int(seeds), "cv": cv, "refit": refit,
                 "save_models": save_models,
                 "embed_dim": embed_dim, "embeddings": embeddings, "vector_source": vector_source,
                 "vectors": vectors_path(upload) if VECTOR_SOURCES[vector_source] != CORPUS else CORPUS}
    saved.update(submitted, truncation=TRUNCATION[max_len])
    return {**submitted, "start": start}


def embedding_inputs(value: dict) -> tuple:
    cols = st.columns([2, 2, 3])
    embeddings = cols[0].multiselect("Embeddings (neural models)", EMBEDDINGS, default=value["embeddings"],
                                     help=EMBEDDINGS_HELP)
    source = cols[1].radio("Word vectors from", list(VECTOR_SOURCES),
                           index=list(VECTOR_SOURCES).index(value["vector_source"]),
                           help="word2vec learns from the training texts only (nothing is downloaded); a file "
                                "sets the embedding size to its dimension")
    upload = cols[2].file_uploader("Vectors file", type=["txt", "vec", "bin"],
                                   help="word2vec text or binary, or GloVe text; words one per line with their "
                                        "numbers")
    return embeddings, source, upload


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
        modes = values["embeddings"] if "embedding" in fields else ["rand"]
        specs += [ModelSpec(key, {**params, **embedding_params(mode, values)}) for mode in modes]
    return CompareConfig(models=tuple(specs), batchings=tuple(values["batchings"]), seeds=tuple(range(values["seeds"])),
                         epochs=epoch_setting(values), batch_size=values["batch_size"], lr=LEARNING_RATES[values["lr"]],
                         max_len=TRUNCATION[values["max_len"]], n_buckets=values["n_buckets"], pad_to=values["pad_to"],
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
        seconds = comparison_estimate(data, config, measured)
    if seconds is not None:
        st.info(f"Estimated time on this machine: about {ui.duration(seconds)} at most. An upper bound: it counts "
                "every epoch up to the cap, and early stopping usually ends the neural runs sooner. After changing "
                "a setting, Estimate the time again.")
    return seconds


@st.cache_resource(show_spinner=False, max_entries=4)
def _calibration(home: str) -> Calibration:
    return Calibration.in_home(home)


def calibration() -> Calibration:
    """The kept seconds per slot of this machine (one torch thread per run, as the dashboard's workers train)."""
    return _calibration(str(resolve_home()))


def comparison_estimate(data, config: CompareConfig, measured: Calibration) -> float | None:
    """Planned slots × measured rates, on the split and tokens the comparison will train on (kept per session)."""
    key = (id(data), config.tokenizer, config.validation, config.test, config.split_seed, config.cv, config.max_len)
    try:
        prepared = state.session_cached("train_estimate_data", key, lambda: prepare(data, config))
        return estimate_seconds(prepared, config, measured, workers=state.runner().backend.workers)
    except (TextclfError, ValueError):
        return None  # the same problem stops the comparison, and Start says why


def show_job(job) -> None:
    """Live progress while the job runs (polled every half second), the outcome once it has finished."""

    @st.fragment(run_every=ui.POLL_SECONDS if not job.finished else None)
    def live():
        progress = job.progress()
        if job.finished:
            st.rerun()
        if job.status == Status.QUEUED:
            ahead = state.runner().ahead(job)
            st.info(ui.queue_line(len(ahead), ahead[0].progress() if ahead else None))
        elif (waiting := ui.waiting_line(progress)) and not progress["runs_done"]:
            st.info(waiting)
        else:
            st.progress(ui.progress_fraction(progress), text=f"Training {ui.progress_text(job.status, progress)}")
            if waiting:
                st.info(waiting)
            else:
                st.write(_status_line(progress))
        if progress["losses"]:
            steps, losses = zip(*progress["losses"][:: max(1, len(progress["losses"]) // LOSS_POINTS_SHOWN)],
                                strict=True)
            st.plotly_chart(charts.loss_curve(steps, losses), width="stretch", key="live_loss")
        if st.button("Cancel training", key="cancel"):
            job.cancel()

    if job.finished:
        _outcome(job)
    else:
        live()


def _status_line(progress: dict) -> str:
    parts = [f"**{progress['run']}**" if progress.get("run") else "preparing the split and tokens…"]
    if progress.get("runs_running", 0) > 1:
        parts.append(f"{progress['runs_running']} runs training at once")
    if progress.get("stage") == REFIT_STAGE:
        parts.append("retraining on training + validation")
    if progress.get("epoch"):
        parts.append(f"epoch {progress['epoch']} of {progress['epochs']}, "
                     f"batch {progress['batch']} of {progress['batches']}")
    if progress.get("loss") is not None:
        parts.append(f"loss {progress['loss']:.3f}")
    if progress.get("run") and progress.get("eta_seconds") is None:
        parts.append("time left: estimated once the first epoch has finished")
    return " · ".join(parts)


def _outcome(job) -> None:
    progress = job.progress()
    done, total = progress["runs_done"], progress["runs_total"]
    message = f"{done} of {total} {ui.plural(total, 'run')} finished"
    kept = f" {message}; {'it is' if done == 1 else 'they are'} kept." if done else f" {message}."
    if job.status == Status.DONE:
        st.success(f"Training finished: {message}.")
        if line := ui.estimate_line(job.config.estimated_seconds, job.wall_seconds):
            st.caption(line)
    elif job.status == Status.FAILED:
        ui.error(f"Training failed: {ui.sentence(job.error)}{kept}")
    else:
        st.warning(f"Training {job.status}:{kept}")
    if progress["runs_done"]:
        st.page_link(ui.PAGES["compare"], label="See the results on Compare", icon=ui.ICONS["compare"])


with ui.page("Train"):
    if ui.need_dataset():
        data = state.dataset()
        st.write(f"Dataset **{ui.plain(data.name)}**: {len(data)} texts, {len(data.classes)} classes. Training runs "
                 "in the background: you can switch pages or open another tab meanwhile.")
        busy = state.busy_job()
        if busy is not None:
            st.caption(f"Start is disabled while this session's comparison is {busy.status}; cancel it below or "
                       "wait for it to finish.")
        values = settings_form(state.train_settings(), busy=busy is not None)
        starting = values is not None and values["start"]
        estimate = show_estimate(data, values or {**DEFAULTS, **state.train_settings()},
                                 calibrate=values is not None and not starting)
        if starting:
            state.start_job(data, replace(config_from(values), estimated_seconds=estimate),
                            save_models=values["save_models"])
            st.rerun()
        if state.job() is not None:
            show_job(state.job())
