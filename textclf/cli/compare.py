"""`compare` and `profile`: read a data set, then train through the job runner (or describe the data)."""

from __future__ import annotations

import argparse
import sys
from functools import partial

from textclf.cli.output import print_table, writable_file, write_text
from textclf.data.demo import demo_dataset
from textclf.data.profile import profile_dataset
from textclf.data.reading import SEPARATOR_BY_NAME, Dataset, load_dataset
from textclf.errors import TextclfError
from textclf.jobs.runner import JobRunner
from textclf.results.analysis import comparison_json_text
from textclf.runs.config import CompareConfig, plan_runs
from textclf.runs.dispatch import make_backend
from textclf.runs.events import EpochDone, RunEvent, RunFailed, RunFinished, RunStarted, Status
from textclf.runs.run_one import REFIT_STAGE
from textclf.storage.store import BUNDLES, Store, resolve_home


def read_dataset(args: argparse.Namespace) -> Dataset:
    if args.demo == bool(args.file):
        raise TextclfError("Give either a CSV file or --demo (one of the two).")
    if args.demo:
        return demo_dataset()
    dataset = load_dataset(args.file, text_col=args.text_col, label_col=args.label_col, split_col=args.split_col,
                           encoding=args.encoding, separator=SEPARATOR_BY_NAME.get(args.sep),
                           header=not args.no_header, keep_missing_labels=args.keep_missing_labels)
    for warning in dataset.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return dataset


def run_profile(args: argparse.Namespace) -> int:
    dataset = read_dataset(args)
    print(f"{dataset.name}: text column {dataset.text_column!r}, label column {dataset.label_column!r}")
    for line in profile_dataset(dataset, args.tokenizer).lines():
        print("  " + line)
    return 0


def config_from_args(args: argparse.Namespace) -> CompareConfig:
    return CompareConfig(
        models=tuple(_split_list(args.models)), batchings=tuple(_split_list(args.batching)),
        seeds=tuple(_int_list(args.seeds)), epochs=args.epochs, patience=args.patience,
        batch_size=args.batch_size, lr=args.lr, max_len=args.max_len, n_buckets=args.buckets,
        pad_to=args.pad_to, tokenizer=args.tokenizer, split_seed=args.split_seed, cv=args.cv,
        device=args.device, refit=args.refit,
    )


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in _split_list(text)]
    except ValueError:
        raise TextclfError(f"Seeds must be whole numbers separated by commas, not {text!r}.") from None


def run_compare(args: argparse.Namespace) -> int:
    """Train through the dashboard's job runner and store; Ctrl-C cancels and keeps the finished runs."""
    writable_file(args.out, "--out")
    dataset = read_dataset(args)
    config = config_from_args(args)
    store = None if args.no_store else Store(args.home)
    bundles_dir = resolve_home(args.home) / BUNDLES if args.save_models and not store else None
    threads = args.threads or (None if args.backend == "sequential" and not args.cluster else 1)
    backend = make_backend(args.backend, cluster=args.cluster, workers=args.workers, threads=threads,
                           tail_threads=args.tail_threads)
    print(f"training on {backend.describe()}", flush=True)
    runner = JobRunner(store, save_models=args.save_models, bundles_dir=bundles_dir, backend=backend)
    job = runner.submit(dataset, config, on_event=partial(print_event, total=len(plan_runs(config))))
    try:
        job.wait()
    finally:
        runner.shutdown()
    if job.status == Status.FAILED:
        raise TextclfError(job.error)
    comparison = job.comparison()
    print_table(comparison)
    if store:
        print(f"recorded as experiment {job.experiment_id} in {store.path}")
    if args.out:
        write_text(args.out, comparison_json_text(comparison), "--out")
        print(f"results written to {args.out}")
    return 0


def print_event(event: RunEvent, total: int) -> None:
    """A run starting, failing or saved, and each finished epoch, as a line (`total`: runs in the plan)."""
    if isinstance(event, RunStarted):
        print(f"[{event.index + 1}/{total}] {event.run} on {event.worker}", flush=True)
    elif isinstance(event, RunFailed):
        then = "retrying it on another worker" if event.retrying else "not retried"
        print(f"  {event.run} failed: {event.reason}; {then}", flush=True)
    elif isinstance(event, EpochDone):
        print(epoch_line(event), flush=True)
    elif isinstance(event, RunFinished) and event.bundle:
        print(f"  model saved to {event.bundle}", flush=True)


def epoch_line(event: EpochDone) -> str:
    """One finished epoch; a refit's epochs have no validation part, so they say what they are instead."""
    record = event.record
    checked = ("retraining on training + validation" if event.stage == REFIT_STAGE
               else f"validation accuracy {record.val_accuracy:.3f}")
    return (f"  {event.run}, epoch {event.epoch}/{event.epochs}: loss {record.train_loss:.3f}, {checked}, "
            f"{record.seconds:.1f} s, padding waste {record.padding_waste:.1%}")
