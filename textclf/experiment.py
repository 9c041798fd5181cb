"""The comparison: one split (or k folds), one tokenization, then every (model × batching × seed × fold) run.

`run_one` is a plain function of its inputs (a `RunSpec` and the `Prepared` data), so the grid can be
dispatched by any engine; `compare` runs it in sequence and gathers a tidy table, per-epoch histories and
test predictions (which significance tests and per-length accuracy need). With cross-validation every model
is trained and tested on the same folds, so its runs pair up fold by fold.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from textclf.analysis import analyse
from textclf.batching import BATCHING_NAMES, DEFAULT_BUCKETS, EVALUATION_BATCHING, STRATEGIES
from textclf.data import Dataset
from textclf.dispatch import Backend, Batch, Listener, Sequential
from textclf.errors import TextclfError
from textclf.models import get_model_class
from textclf.models.base import TextClassifier
from textclf.models.neural import DEFAULT_MAX_LEN
from textclf.report import STILL_IMPROVING
from textclf.split import Split, fold_index, kfold_splits, split_dataset
from textclf.timing import Stopwatch, machine_load, wall_cpu_disagree
from textclf.tokenchoice import explain
from textclf.tokenize import tokenize_all
from textclf.train import ProgressCallback, StopCheck

NOT_BATCHED = "none"
AUTO = "auto"
REFIT_STAGE = "refit"
AUTO_PERCENTILE = 99
MAX_TRUNCATION = DEFAULT_MAX_LEN
RESULT_COLUMNS = [
    "model", "batching", "seed", "fold", "accuracy", "macro_f1", "seconds_per_epoch", "seconds_to_best_epoch",
    "train_seconds", "train_cpu_seconds", "refit_seconds", "cpu_seconds_per_epoch", "validation_seconds",
    "inference_seconds", "inference_cpu_seconds", "inference_padded_slots", "fit_wall_seconds", "load_per_core",
    "timing_note", "epochs_run", "best_epoch", "steps", "examples_seen", "real_tokens", "padded_slots", "padding_waste",
    "batch_shapes", "parameters", "test_texts", "model_key", "note",
]
TIMING_COLUMNS = [c for c in RESULT_COLUMNS if "seconds" in c] + ["load_per_core", "timing_note"]
RESULTS_FORMAT = 1
INTEGER_COLUMNS = ("seed", "fold", "epochs_run", "best_epoch", "steps", "examples_seen", "real_tokens", "padded_slots",
                   "batch_shapes", "parameters")


@dataclass(frozen=True)
class ModelSpec:
    """A model key from the registry plus the parameters that differ from its defaults."""

    key: str
    params: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return get_model_class(self.key).label(self.params)

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """'rnn' or 'rnn:cell=gru:pooling=attention' (values become int/float when they look like one, and a tuple
        of ints when written like 'cnn:kernel_sizes=2/3/4': a comma would split the list of models)."""
        key, *pairs = text.strip().split(":")
        params = {}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            if not sep:
                raise TextclfError(f"Model option {pair!r} in {text!r} should look like name=value.")
            params[name.strip()] = _parse_value(value.strip())
        get_model_class(key)
        return cls(key, params)


def _parse_value(value: str):
    if "/" in value and all(part.isdigit() for part in value.split("/")):
        return tuple(int(part) for part in value.split("/"))
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value.lower(), value)


@dataclass(frozen=True)
class CompareConfig:
    """Everything that defines a comparison; two equal configs on the same data give the same table."""

    models: tuple[ModelSpec, ...] = (ModelSpec("cnn"), ModelSpec("rnn"), ModelSpec("svm"), ModelSpec("knn"))
    batchings: tuple[str, ...] = ("max_length", "bucket")
    seeds: tuple[int, ...] = (0,)
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    max_len: int | str = MAX_TRUNCATION
    n_buckets: int = DEFAULT_BUCKETS
    pad_to: str = "batch"
    patience: int | None = None
    tokenizer: str = "auto"
    validation: float = 0.1
    test: float = 0.1
    split_seed: int = 0
    cv: int = 0
    device: str = "auto"
    refit: bool = False

    def __post_init__(self):
        models = tuple(ModelSpec.parse(m) if isinstance(m, str) else m for m in self.models)
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "batchings", tuple(self.batchings))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        self._check()

    def _check(self) -> None:
        unknown = [b for b in self.batchings if b not in STRATEGIES]
        if unknown:
            raise TextclfError(f"Unknown batching {', '.join(unknown)}; choose from {', '.join(STRATEGIES)}.")
        labels = [m.label for m in self.models]
        if len(set(labels)) != len(labels):
            raise TextclfError("The same model is listed twice with the same settings; list each once.")
        if not self.models or not self.seeds:
            raise TextclfError("Choose at least one model and one seed.")
        if any(get_model_class(m.key).uses_batching for m in self.models) and not self.batchings:
            raise TextclfError("Neural models need at least one batching strategy.")
        for name in ("epochs", "batch_size", "n_buckets", "patience"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise TextclfError(f"{name.replace('_', ' ')} must be at least 1.")
        if self.cv == 1 or self.cv < 0:
            raise TextclfError("Cross-validation needs at least 2 folds (or 0 for one train/validation/test split).")
        if self.max_len != AUTO and (not isinstance(self.max_len, int) or self.max_len < 1):
            raise TextclfError(f"The truncation length must be a whole number of tokens or {AUTO!r}.")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["models"] = [{"key": m.key, "params": m.params} for m in self.models]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> CompareConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["models"] = tuple(ModelSpec(m["key"], dict(m.get("params", {}))) for m in data.get("models", []))
        return cls(**values)


@dataclass(frozen=True)
class RunSpec:
    """One cell of the grid; `fold` is the cross-validation fold (1 to k), None for the single split."""

    model: ModelSpec
    batching: str
    seed: int
    fold: int | None = None

    @property
    def name(self) -> str:
        """'TextCNN · bucketed · seed 0', as progress lines and the Train page show it."""
        fold = "" if self.fold is None else f" · fold {self.fold}"
        strategy = "" if self.batching == "none" else f" · {BATCHING_NAMES.get(self.batching, self.batching)}"
        return f"{self.model.label}{strategy} · seed {self.seed}{fold}"


@dataclass
class Prepared:
    """The split (one per fold) and the tokens of every row, computed once and shared by all runs.

    Each split has its own truncation length, fitted on its own training rows.
    """

    tokens: list[list[str]]
    labels: np.ndarray
    splits: list[Split]
    tokenizer: str
    classes: list[str]
    max_lens: list[int]
    texts: Sequence[str] = ()

    @property
    def split(self) -> Split:
        """The single split (the first fold under cross-validation)."""
        return self.splits[0]

    @property
    def max_len(self) -> int:
        return self.max_lens[0]

    def fold_split(self, fold: int | None) -> Split:
        """The split of fold 1 to k, or the single split for None."""
        return self.splits[fold_index(fold)]

    def fold_max_len(self, fold: int | None) -> int:
        return self.max_lens[fold_index(fold)]

    def part(self, name: str, fold: int | None = None, *, raw: bool = False) -> tuple[list, np.ndarray]:
        """Tokens (or, with `raw`, the original texts) and labels of one part of the split."""
        index = getattr(self.fold_split(fold), name)
        docs = self.texts if raw else self.tokens
        return [docs[i] for i in index], self.labels[index]

    def test_lengths(self, fold: int | None = None) -> list[int]:
        """Token lengths of the test texts as the models see them (truncated, at least one token)."""
        max_len = self.fold_max_len(fold)
        return [max(1, min(len(self.tokens[i]), max_len)) for i in self.fold_split(fold).test]


@dataclass
class RunResult:
    """One run's results row, per-epoch history, test predictions, the fitted model and where it ran."""

    record: dict
    history: list[dict]
    predictions: list[str]
    estimator: TextClassifier | None = None
    placement: dict = field(default_factory=dict)


def prepare(dataset: Dataset, config: CompareConfig) -> Prepared:
    splits = make_splits(dataset, config)
    train = splits[0].train
    choice = explain(config.tokenizer, [dataset.texts[i] for i in train], [dataset.labels[i] for i in train])
    tokenizer = choice.name
    if choice.scores:
        splits = [replace(split, notes=[*split.notes, choice.reason]) for split in splits]
    tokens = tokenize_all(dataset.texts, tokenizer)
    truncated = [_truncate(split, tokens, config.max_len) for split in splits]
    return Prepared(tokens=tokens, labels=np.asarray(dataset.labels, dtype=object),
                    splits=[split for split, _ in truncated], tokenizer=tokenizer, classes=dataset.classes,
                    max_lens=[max_len for _, max_len in truncated], texts=dataset.texts)


def make_splits(dataset: Dataset, config: CompareConfig) -> list[Split]:
    """The one train/validation/test split, or the `config.cv` cross-validation folds."""
    if config.cv:
        return kfold_splits(dataset, config.cv, validation=config.validation, seed=config.split_seed)
    return [split_dataset(dataset, validation=config.validation, test=config.test, seed=config.split_seed)]


def _truncate(split: Split, tokens: list[list[str]], setting: int | str) -> tuple[Split, int]:
    """The split's truncation length (from its training rows), with a note when 'auto' cut some texts."""
    train_lengths = np.fromiter((len(tokens[i]) for i in split.train), dtype=np.int64, count=len(split.train))
    max_len = truncation_length(train_lengths, setting)
    notes = list(split.notes)
    if (longer := int((train_lengths > max_len).sum())) and setting == AUTO:
        unit = "token" if max_len == 1 else "tokens"
        notes.append(f"texts truncated at {max_len} {unit} (the {AUTO_PERCENTILE}th percentile of training "
                     f"lengths, at most {MAX_TRUNCATION}): {longer} training texts were longer")
    return replace(split, notes=notes), max_len


def truncation_length(train_lengths: np.ndarray, setting: int | str) -> int:
    """The one truncation length for every strategy; 'auto' cuts only the longest 1 % of training texts."""
    if setting != AUTO:
        return int(setting)
    percentile = int(np.ceil(np.percentile(train_lengths, AUTO_PERCENTILE))) if len(train_lengths) else 1
    return max(1, min(MAX_TRUNCATION, percentile))


def plan_runs(config: CompareConfig) -> list[RunSpec]:
    """Neural models once per (fold, seed, batching); classical ones once per fold (batching does not apply)."""
    folds = list(range(1, config.cv + 1)) if config.cv else [None]
    runs = []
    for spec in config.models:
        if get_model_class(spec.key).uses_batching:
            runs += [RunSpec(spec, b, s, f) for f in folds for s in config.seeds for b in config.batchings]
        else:
            runs += [RunSpec(spec, NOT_BATCHED, config.seeds[0], f) for f in folds]
    return runs


def expected_cost(run: RunSpec) -> float:
    """A rough relative training time: with several workers the longest runs start first, so that a long
    run started last does not keep every other worker idle at the end."""
    cost = get_model_class(run.model.key).relative_cost
    return cost * (3 if run.batching == "max_length" else 1)


def build_estimator(run: RunSpec, config: CompareConfig, prepared: Prepared) -> TextClassifier:
    cls = get_model_class(run.model.key)
    params = {"tokenizer": prepared.tokenizer, "seed": run.seed}
    if cls.uses_batching:
        params.update(batching=run.batching, max_len=prepared.fold_max_len(run.fold), n_buckets=config.n_buckets,
                      pad_to=config.pad_to, device=config.device)
        chosen = {"epochs": config.epochs, "batch_size": config.batch_size, "lr": config.lr,
                  "patience": config.patience}
        params.update({name: value for name, value in chosen.items() if value is not None})
    params.update(run.model.params)
    try:
        return cls(**params)
    except TypeError as err:
        raise TextclfError(f"Model {run.model.key!r} does not take that option ({err}).") from None


def run_one(run: RunSpec, prepared: Prepared, config: CompareConfig, *, progress: ProgressCallback | None = None,
            should_stop: StopCheck | None = None) -> RunResult:
    """Train one model on the training part and evaluate it on the test part, timing each phase apart.

    Neural models stop early on the validation part; a classical model has no use for it and trains on it
    too. With `config.refit` a neural model is then trained again, from scratch, on training + validation for
    its best epoch's number of epochs, so that every model learns from all the texts outside the test part;
    its record keeps the early-stopped run's epochs (learning curves, padding, seconds per epoch) and adds the
    refit's time to the training time."""
    estimator = build_estimator(run, config, prepared)
    raw = estimator.reads_raw_text
    train_docs, train_labels = prepared.part("train", run.fold, raw=raw)
    validation = prepared.part("validation", run.fold, raw=raw)
    all_docs, all_labels = train_docs + validation[0], list(np.concatenate([train_labels, validation[1]]))
    load = machine_load()
    with Stopwatch() as fitting:
        if estimator.uses_batching:
            estimator.fit(train_docs, list(train_labels), validation=validation, progress=progress,
                          should_stop=should_stop)
        else:
            estimator.fit(all_docs, all_labels)
    history = [h.as_dict() for h in estimator.history_] if estimator.uses_batching else []
    refitting = None
    if history and config.refit and len(validation[0]):
        estimator, refitting = _refit(run, config, prepared, _best_epoch(history), (all_docs, all_labels), progress,
                                      should_stop)
    test_docs, test_labels = prepared.part("test", run.fold, raw=raw)
    with Stopwatch() as inference:
        predicted = estimator.predict(test_docs)
    record = _record(run, estimator, list(test_labels), predicted, history)
    record.update(inference_seconds=inference.wall, inference_cpu_seconds=inference.cpu,
                  fit_wall_seconds=fitting.wall, load_per_core=load)
    if not history:
        record.update(train_seconds=fitting.wall, train_cpu_seconds=fitting.cpu, seconds_to_best_epoch=fitting.wall)
    else:
        record["inference_padded_slots"] = estimator.evaluation_slots(test_docs)
    if refitting is not None:
        record.update(refit_seconds=refitting.wall, train_seconds=record["train_seconds"] + refitting.wall,
                      train_cpu_seconds=record["train_cpu_seconds"] + refitting.cpu,
                      fit_wall_seconds=record["fit_wall_seconds"] + refitting.wall)
    record["timing_note"] = timing_note(record)
    return RunResult(record, history, [str(p) for p in predicted], estimator)


def _refit(run: RunSpec, config: CompareConfig, prepared: Prepared, epochs: int, data: tuple,
           progress: ProgressCallback | None, should_stop: StopCheck | None) -> tuple[TextClassifier, Stopwatch]:
    """A fresh model trained on training + validation for `epochs` (the early-stopped run's best); its training
    events say `stage: refit`, so a progress display does not read epoch 1 again as the run starting over."""
    estimator = build_estimator(run, config, prepared).set_params(epochs=epochs)
    tagged = (lambda event: progress({**event, "stage": REFIT_STAGE})) if progress else None
    with Stopwatch() as refitting:
        estimator.fit(*data, validation=([], []), progress=tagged, should_stop=should_stop)
    return estimator, refitting


def _record(run: RunSpec, estimator: TextClassifier, truth: list, predicted: np.ndarray,
            history: list[dict]) -> dict:
    record = {
        "model": run.model.label, "model_key": run.model.key, "batching": run.batching, "seed": run.seed,
        "fold": run.fold, "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "parameters": estimator.n_parameters, "test_texts": len(truth), **estimator.fit_details(),
    }
    if history:
        totals = _epoch_totals(history)
        record.update(totals, note=_convergence_note(history, totals["best_epoch"], estimator.epochs))
    else:
        record["note"] = "classical model: batching does not apply"
    return record


def _best_epoch(history: list[dict]) -> int:
    """The epoch whose weights early stopping kept: best validation accuracy, ties to the lower loss."""
    return max(history, key=lambda h: (h["val_accuracy"], -h.get("val_loss", 0.0)))["epoch"]


def _epoch_totals(history: list[dict]) -> dict:
    """Training-only time (all epochs, and up to the best one), validation time and padding, from the epochs."""
    best_epoch = _best_epoch(history)
    real = sum(h["real_tokens"] for h in history)
    slots = sum(h["padded_slots"] for h in history)
    seconds = [h["seconds"] for h in history]
    cpu = [h.get("cpu_seconds", np.nan) for h in history]
    return {
        "train_seconds": float(sum(seconds)), "train_cpu_seconds": float(sum(cpu)),
        "seconds_per_epoch": float(np.mean(seconds)), "cpu_seconds_per_epoch": float(np.mean(cpu)),
        "seconds_to_best_epoch": float(sum(seconds[:best_epoch])),
        "validation_seconds": float(sum(h.get("val_seconds", np.nan) for h in history)),
        "epochs_run": len(history), "best_epoch": best_epoch, "steps": sum(h["steps"] for h in history),
        "examples_seen": sum(h["examples"] for h in history), "real_tokens": real, "padded_slots": slots,
        "padding_waste": 1 - real / slots, "batch_shapes": max(h["batch_shapes"] for h in history),
    }


def timing_note(record: dict) -> str:
    """A warning when training's wall and CPU time disagree by more than 25 % (a busy machine, or threads)."""
    wall, cpu = record.get("train_seconds"), record.get("train_cpu_seconds")
    if wall is None or cpu is None or not wall_cpu_disagree(wall, cpu):
        return ""
    load = record.get("load_per_core")
    busy = f", load {load:.1f} per core at the start" if load is not None else ""
    reason = "the machine was busy" if cpu < wall else "training used several threads"
    return f"wall {wall:.1f} s vs CPU {cpu:.1f} s: {reason}{busy}; compare CPU times"


def _convergence_note(history: list[dict], best_epoch: int, epoch_cap: int) -> str:
    """A warning when the epoch cap, not early stopping, ended a model that was still improving."""
    if len(history) >= epoch_cap and best_epoch == len(history):
        return f"{STILL_IMPROVING} ({epoch_cap}): more epochs may help"
    return ""


@dataclass
class Comparison:
    """Everything a comparison produced, ready for a table, charts, a store or a JSON file."""

    config: CompareConfig
    dataset_name: str
    classes: list[str]
    tokenizer: str
    split_sizes: dict[str, int]
    split_notes: list[str]
    test_labels: list[str]
    test_lengths: list[int]
    max_len: int | None = None
    runs: list[RunResult] = field(default_factory=list)
    folds: list[dict] = field(default_factory=list)
    evaluation_batching: str = EVALUATION_BATCHING
    failures: list[dict] = field(default_factory=list)

    @property
    def table(self) -> pd.DataFrame:
        return results_table([r.record for r in self.runs])

    def test_of(self, record: dict) -> tuple[list[str], list[int]]:
        """True labels and token lengths of the test texts the run with this record was scored on."""
        if not self.folds:
            return self.test_labels, self.test_lengths
        fold = self.folds[fold_index(record.get("fold"))]
        return fold["test_labels"], fold["test_lengths"]

    def to_json(self) -> dict:
        return {
            "format": RESULTS_FORMAT, "dataset": self.dataset_name, "classes": self.classes,
            "tokenizer": self.tokenizer, "split_sizes": self.split_sizes, "split_notes": self.split_notes,
            "config": self.config.to_dict(), "test_labels": self.test_labels, "test_lengths": self.test_lengths,
            "max_len": self.max_len, "folds": self.folds, "evaluation_batching": self.evaluation_batching,
            "failures": self.failures,
            "runs": [{**r.record, "history": r.history, "test_predictions": r.predictions} for r in self.runs],
            "analysis": analyse(self),
        }

    def json_text(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=1)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.json_text(), encoding="utf-8")


def results_table(records: Sequence[dict]) -> pd.DataFrame:
    """One row per run, the columns in a stable order; counts stay whole numbers (blank where they do not apply)."""
    frame = pd.DataFrame(list(records))
    frame = frame.reindex(columns=RESULT_COLUMNS + [c for c in frame.columns if c not in RESULT_COLUMNS])
    return frame.astype({column: "Int64" for column in INTEGER_COLUMNS})


def load_results(path: str | Path) -> Comparison:
    """Read a JSON file written by `Comparison.save` (or `compare --out`) back into a `Comparison`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise TextclfError(f"{path} is not a text file, so not a textclf results file (compare --out writes "
                           "one).") from None
    except (OSError, ValueError, RecursionError) as err:
        raise TextclfError(f"Cannot read results from {path}: {err}.") from None
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT:
        raise TextclfError(f"{path} is not a textclf results file.")
    try:
        return comparison_from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise TextclfError(f"{path} is a damaged textclf results file ({type(err).__name__}: {err}).") from None


def comparison_from_json(data: dict) -> Comparison:
    runs = []
    for raw in data["runs"]:
        record = {k: v for k, v in raw.items() if k not in ("history", "test_predictions")}
        runs.append(RunResult(record, raw.get("history", []), raw.get("test_predictions", [])))
    return Comparison(
        config=CompareConfig.from_dict(data["config"]), dataset_name=data["dataset"], classes=data["classes"],
        tokenizer=data["tokenizer"], split_sizes=data["split_sizes"], split_notes=data.get("split_notes", []),
        test_labels=data["test_labels"], test_lengths=data.get("test_lengths", []), max_len=data.get("max_len"),
        runs=runs, folds=data.get("folds", []), evaluation_batching=data.get("evaluation_batching", "not recorded"),
        failures=data.get("failures", []),
    )


RunCallback = Callable[[RunSpec, RunResult], None]
StartCallback = Callable[[RunSpec, int, int, str], None]
FailureCallback = Callable[[RunSpec, str, bool], None]
PreparedCallback = Callable[[Prepared, Comparison], None]


def compare(dataset: Dataset, config: CompareConfig | None = None, *, progress: ProgressCallback | None = None,
            should_stop: StopCheck | None = None, on_run_start: StartCallback | None = None,
            on_run_done: RunCallback | None = None, keep_models: bool = False,
            on_prepared: PreparedCallback | None = None, on_run_failed: FailureCallback | None = None,
            backend: Backend | None = None, key: str | None = None) -> Comparison:
    """Run the whole grid on one split, on `backend` (this thread by default); the runs come back in plan order.

    `on_run_done` sees each run as soon as it finishes (to store it), in the calling process whatever the
    back-end; its fitted model comes with it only with `keep_models`. `should_stop` is checked between batches
    and between runs (classical models have no batches); when it says stop, `Cancelled` is raised and the runs
    finished so far have already reached `on_run_done`.
    A run lost with its worker reaches `on_run_failed` (and is retried once); the others go on. So does a run
    whose model refuses its settings or data (not retried): the other runs still train and are stored, and
    then `TextclfError` is raised with the refusal.
    """
    config = config or CompareConfig()
    prepared = prepare(dataset, config)
    comparison = new_comparison(dataset.name, prepared, config)
    if on_prepared:
        on_prepared(prepared, comparison)
    runs = plan_runs(config)
    collector = _Collector(runs, progress, on_run_start, on_run_done, on_run_failed, keep_models)
    work = run_or_refusal if keep_models else partial(run_or_refusal, keep_model=False)
    batch = Batch(work, runs, _what_runs_read(prepared, runs), config, collector, should_stop,
                  costs=[expected_cost(r) for r in runs])
    if key:
        batch.key = key
    (backend or Sequential()).run(batch)
    if collector.refusals:
        raise TextclfError(" ".join(dict.fromkeys(collector.refusals)))
    comparison.runs = [collector.results[i] for i in sorted(collector.results)]
    comparison.failures = collector.failures
    return comparison


def _what_runs_read(prepared: Prepared, runs: Sequence[RunSpec]) -> Prepared:
    """The prepared data without the raw texts unless a model reads them: a worker gets one copy of the rows,
    not two."""
    if any(get_model_class(run.model.key).reads_raw_text for run in runs):
        return prepared
    return replace(prepared, texts=())


@dataclass(frozen=True)
class Refusal:
    """What a run returns when its model refuses the settings or the data (a `TextclfError`, in words)."""

    message: str


def run_or_refusal(run: RunSpec, prepared: Prepared, config: CompareConfig, *, keep_model: bool = True,
                   **options) -> RunResult | Refusal:
    """`run_one`, with a refusal returned rather than raised: on a parallel back-end an exception would stop
    the runs training beside it, and every back-end must train and store the same runs.

    Without `keep_model` the fitted model stays where it trained: a worker would otherwise pickle it (an SVM's
    vocabulary and coefficients are hundreds of MB on a large data set) only for the caller to drop it."""
    try:
        result = run_one(run, prepared, config, **options)
    except TextclfError as err:
        return Refusal(str(err))
    return result if keep_model else replace(result, estimator=None)


class _Collector(Listener):
    """Turns a back-end's indexed reports into the comparison's callbacks (named runs, events tagged by run)."""

    def __init__(self, runs: list[RunSpec], progress, on_start, on_done, on_failed, keep_models: bool):
        self.runs, self.progress, self.on_start, self.on_done, self.on_failed = runs, progress, on_start, on_done, \
            on_failed
        self.keep_models = keep_models
        self.results: dict[int, RunResult] = {}
        self.failures: list[dict] = []
        self.refusals: list[str] = []

    def started(self, index: int, worker: str) -> None:
        if self.on_start:
            self.on_start(self.runs[index], index + 1, len(self.runs), worker)

    def event(self, index: int, event: dict) -> None:
        if self.progress:
            self.progress({**event, "run": self.runs[index].name})

    def finished(self, index: int, result: RunResult | Refusal, info: dict) -> None:
        if isinstance(result, Refusal):
            self.refusals.append(result.message)
            self.failed(index, result.message, retrying=False)
            return
        result = replace(result, placement=info)
        if self.on_done:
            self.on_done(self.runs[index], result)
        self.results[index] = result if self.keep_models else replace(result, estimator=None)

    def failed(self, index: int, reason: str, retrying: bool) -> None:
        self.failures.append({"run": self.runs[index].name, "reason": reason, "retried": retrying})
        if self.on_failed:
            self.on_failed(self.runs[index], reason, retrying)


def new_comparison(dataset_name: str, prepared: Prepared, config: CompareConfig) -> Comparison:
    """The comparison's header: the (first) split's sizes and test texts, and under cross-validation each fold's."""
    folds = [_fold_header(prepared, fold) for fold in range(1, config.cv + 1)] if config.cv else []
    first = folds[0] if folds else _fold_header(prepared, None)
    return Comparison(
        config=config, dataset_name=dataset_name, classes=prepared.classes, tokenizer=prepared.tokenizer,
        split_sizes=first["split_sizes"], split_notes=list(prepared.split.notes), test_labels=first["test_labels"],
        test_lengths=first["test_lengths"], max_len=first["max_len"], folds=folds,
    )


def _fold_header(prepared: Prepared, fold: int | None) -> dict:
    _, test_labels = prepared.part("test", fold)
    return {"split_sizes": prepared.fold_split(fold).sizes(), "test_labels": [str(v) for v in test_labels],
            "test_lengths": prepared.test_lengths(fold), "max_len": prepared.fold_max_len(fold)}
