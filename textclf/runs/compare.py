"""The comparison: one split (or k folds), one tokenization, then every (model x batching x seed x fold) run on
a back-end, gathered into a `Comparison` in plan order. With cross-validation every model is trained and
tested on the same folds, so its runs pair up fold by fold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial

from textclf.data.reading import Dataset
from textclf.errors import TextclfError
from textclf.models import get_model_class
from textclf.runs.comparison import Comparison, RunResult
from textclf.runs.config import CompareConfig, RunSpec, expected_cost, plan_runs
from textclf.runs.dispatch import Backend, Batch, Sequential
from textclf.runs.events import Listener, RunEvent, RunFailed, RunFinished, StopCheck, ignore
from textclf.runs.prepare import Prepared, prepare
from textclf.runs.run_one import Refusal, run_or_refusal

PreparedCallback = Callable[[Prepared, Comparison], None]


def compare(dataset: Dataset, config: CompareConfig | None = None, *, listener: Listener | None = None,
            should_stop: StopCheck | None = None, keep_models: bool = False,
            on_prepared: PreparedCallback | None = None, backend: Backend | None = None,
            key: str | None = None) -> Comparison:
    """Run the whole grid on one split, on `backend` (this thread by default); the runs come back in plan order.

    `listener` hears every run event (`textclf.runs.events`), each named after its run, in the calling process
    whatever the back-end: a finished run as soon as it finishes (to store it), its fitted model with it only
    with `keep_models`. `should_stop` is checked between batches and between runs (classical models have no
    batches); when it says stop, `Cancelled` is raised and the runs finished so far have already been heard.
    A run lost with its worker is heard as failed (and is retried once); the others go on. So is a run whose
    model refuses its settings or data (not retried): the other runs still train and are stored, and then
    `TextclfError` is raised with the refusal.
    """
    config = config or CompareConfig()
    prepared = prepare(dataset, config)
    comparison = new_comparison(dataset.name, prepared, config)
    if on_prepared:
        on_prepared(prepared, comparison)
    runs = plan_runs(config)
    collector = _Collector(runs, listener or ignore, keep_models)
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


class _Collector:
    """Between a back-end and the caller's listener: names each event after its run, turns a model's refusal
    into a failed run, and keeps the results (with where each trained) and the failures."""

    def __init__(self, runs: list[RunSpec], listener: Listener, keep_models: bool):
        self.runs, self.listener, self.keep_models = runs, listener, keep_models
        self.results: dict[int, RunResult] = {}
        self.failures: list[dict] = []
        self.refusals: list[str] = []

    def __call__(self, event: RunEvent) -> None:
        event = replace(event, run=self.runs[event.index].name)
        if isinstance(event, RunFinished) and isinstance(event.result, Refusal):
            self.refusals.append(event.result.message)
            event = RunFailed(index=event.index, run=event.run, reason=event.result.message)
        elif isinstance(event, RunFinished):
            result = replace(event.result, placement=event.placement)
            event = replace(event, result=result)
            self.results[event.index] = result if self.keep_models else replace(result, estimator=None)
        if isinstance(event, RunFailed):
            self.failures.append({"run": event.run, "reason": event.reason, "retried": event.retrying})
        self.listener(event)


def new_comparison(dataset_name: str, prepared: Prepared, config: CompareConfig) -> Comparison:
    """The comparison's header: the (first) split's sizes, training class counts (for the majority baseline) and
    test texts, and under cross-validation each fold's."""
    folds = [_fold_header(prepared, fold) for fold in range(1, config.cv + 1)] if config.cv else []
    first = folds[0] if folds else _fold_header(prepared, None)
    return Comparison(
        config=config, dataset_name=dataset_name, classes=prepared.classes, tokenizer=prepared.tokenizer,
        split_sizes=first["split_sizes"], split_notes=list(prepared.split.notes), test_labels=first["test_labels"],
        test_lengths=first["test_lengths"], max_len=first["max_len"], folds=folds,
        train_class_counts=first["train_class_counts"],
    )


def _fold_header(prepared: Prepared, fold: int | None) -> dict:
    _, test_labels = prepared.part("test", fold)
    _, train_labels = prepared.part("train", fold)
    return {"split_sizes": prepared.fold_split(fold).sizes(), "test_labels": [str(v) for v in test_labels],
            "train_class_counts": dict(Counter(str(v) for v in train_labels)),
            "test_lengths": prepared.test_lengths(fold), "max_len": prepared.fold_max_len(fold)}
