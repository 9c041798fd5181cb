"""Command line: `python -m textclf compare|profile|report|runs|predict|explain ...`.

Thin: it parses arguments, calls the library and prints. Input problems arrive as `TextclfError` and are
printed as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from textclf.data.demo import demo_dataset
from textclf.data.profile import profile_dataset
from textclf.data.reading import ENCODINGS, SEPARATOR_BY_NAME, Dataset, load_dataset
from textclf.data.tokenize import TOKENIZERS
from textclf.errors import TextclfError
from textclf.explain.explanation import Explanation, explain, methods
from textclf.jobs.runner import FAILED, JobRunner
from textclf.results.analysis import comparison_json_text
from textclf.results.pairwise import matrix, pairwise_table
from textclf.results.report import aggregate, headline
from textclf.runs.comparison import Comparison, load_results
from textclf.runs.config import AUTO, MAX_TRUNCATION, CompareConfig
from textclf.runs.dispatch import BACKEND_VARIABLE, BACKENDS, PROCESSES, make_backend
from textclf.runs.run_one import REFIT_STAGE
from textclf.storage.bundle import load_bundle
from textclf.storage.store import BUNDLES, MAX_ID, Store, resolve_home
from textclf.training.batching import PAD_TO, STRATEGIES

TABLE_COLUMNS = ["model", "batching", "seed", "fold", "accuracy", "macro_f1", "seconds_per_epoch",
                 "seconds_to_best_epoch", "train_cpu_seconds", "validation_seconds", "inference_seconds", "epochs_run",
                 "padding_waste"]
LIST_COLUMNS = ["id", "status", "created", "dataset", "runs", "models"]
HOME_HELP = "folder of the run store and model bundles (default: $TEXTCLF_HOME, else ~/.textclf)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except TextclfError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m textclf", description=__doc__.splitlines()[0])
    parser.add_argument("--home", help=HOME_HELP)
    commands = parser.add_subparsers(dest="command", required=True)

    profile = commands.add_parser("profile", help="describe a labelled CSV (rows, classes, lengths, language)")
    _add_data_arguments(profile)
    profile.add_argument("--tokenizer", choices=TOKENIZERS, default="auto")
    profile.set_defaults(handler=run_profile)

    comp = commands.add_parser("compare", help="train and compare models and batching strategies on one split")
    _add_data_arguments(comp)
    _add_compare_arguments(comp)
    _add_home_argument(comp)
    comp.set_defaults(handler=run_compare)

    report = commands.add_parser("report", help="print the results table of a JSON file written by compare --out")
    report.add_argument("results", help="results JSON file")
    report.set_defaults(handler=run_report)

    _add_runs_parser(commands)

    predict = commands.add_parser("predict", help="label texts with a saved model bundle")
    predict.add_argument("bundle", help="bundle file written by compare --save-models (or downloaded)")
    predict.add_argument("texts", nargs="+", metavar="TEXT", help="one or more texts to label")
    predict.set_defaults(handler=run_predict)
    _add_explain_parser(commands)
    return parser


def _add_explain_parser(commands) -> None:
    explain_parser = commands.add_parser("explain", help="why a saved model labels a text as it does")
    explain_parser.add_argument("bundle", help="bundle file written by compare --save-models (or downloaded)")
    explain_parser.add_argument("text", help="the text to explain")
    explain_parser.add_argument("--method", default=None,
                                help="explanation method (default: the model's own; 'all' for every one it has)")
    explain_parser.add_argument("--top", type=int, default=8, help="how many n-grams/features/neighbours to list")
    explain_parser.add_argument("--json", action="store_true", help="print the explanations as JSON")
    explain_parser.set_defaults(handler=run_explain)


def _add_home_argument(parser: argparse.ArgumentParser) -> None:
    """--home after the subcommand too; SUPPRESS keeps a value given before it from being reset."""
    parser.add_argument("--home", default=argparse.SUPPRESS, help=HOME_HELP)


def _add_runs_parser(commands) -> None:
    runs = commands.add_parser("runs", help="list, show, export or delete the experiments in the run store")
    actions = runs.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every stored experiment with its status, newest first")
    listing.set_defaults(handler=run_runs_list)
    show = actions.add_parser("show", help="one experiment's settings, results table and bundles")
    show.set_defaults(handler=run_runs_show)
    export = actions.add_parser("export", help="one experiment's results as CSV (the table) or JSON (everything)")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--out", help="write to this file instead of printing")
    export.set_defaults(handler=run_runs_export)
    delete = actions.add_parser("delete", help="delete an experiment, its runs and its bundle files")
    delete.set_defaults(handler=run_runs_delete)
    for action in (show, export, delete):
        action.add_argument("id", type=_experiment_id, help="experiment id (see runs list)")
    for action in (listing, show, export, delete):
        _add_home_argument(action)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="CSV/TSV file with a text column and a label column")
    parser.add_argument("--demo", action="store_true", help="use the built-in synthetic demo dataset instead")
    parser.add_argument("--text-col", help="name of the text column (guessed when left out)")
    parser.add_argument("--label-col", help="name of the label column (guessed when left out)")
    parser.add_argument("--split-col", help="column with train/validation/test per row (random split otherwise)")
    parser.add_argument("--encoding", help=f"file encoding, e.g. {', '.join(ENCODINGS)} (detected otherwise)")
    parser.add_argument("--sep", choices=sorted(SEPARATOR_BY_NAME), help="separator (detected otherwise)")
    parser.add_argument("--no-header", action="store_true",
                        help="the first line is data, not column names (columns are then 'column 1', 'column 2'...)")
    parser.add_argument("--keep-missing-labels", action="store_true",
                        help="keep rows labelled NaN, NA, null or None as a class of their own (dropped otherwise)")


def _add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = CompareConfig()
    parser.add_argument("--models", default="cnn,rnn,svm,knn",
                        help="comma-separated models (cnn, rnn, han, rcnn, clstm, svm, knn), options after colons, "
                             "e.g. cnn:embedding=multichannel,rnn:cell=gru:pooling=attention,han")
    parser.add_argument("--batching", default=",".join(defaults.batchings),
                        help=f"comma-separated strategies from {', '.join(STRATEGIES)}")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    parser.add_argument("--epochs", type=int, default=defaults.epochs,
                        help="epoch cap (default: each model's own, 30; early stopping usually ends sooner)")
    parser.add_argument("--patience", type=int, default=defaults.patience,
                        help="stop after this many epochs in a row in which validation accuracy did not rise and "
                             "validation loss did not fall (default: each model's own, 5)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help="default: each model's own, 50 (Kim 2014)")
    parser.add_argument("--lr", type=float, help="learning rate for the neural models' optimiser (default: 0.001 "
                                                 "for Adam, 1.0 for Adadelta; see README)")
    parser.add_argument("--max-len", type=_truncation, default=defaults.max_len,
                        help=f"truncation length in tokens (default {MAX_TRUNCATION}), or 'auto' (99th percentile of "
                             f"training lengths, ≤ {MAX_TRUNCATION})")
    parser.add_argument("--buckets", type=int, default=defaults.n_buckets, help="number of length buckets")
    parser.add_argument("--pad-to", choices=PAD_TO, default=defaults.pad_to,
                        help="bucketed batches pad to the batch's longest text or to the bucket bound")
    parser.add_argument("--tokenizer", choices=TOKENIZERS, default=defaults.tokenizer)
    parser.add_argument("--split-seed", type=int, default=defaults.split_seed)
    parser.add_argument("--cv", type=int, default=defaults.cv, metavar="K",
                        help="K-fold cross-validation (every model on the same stratified folds; 0: one split)")
    parser.add_argument("--device", default=defaults.device, help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--refit", action="store_true",
                        help="after early stopping, train each neural model again on training + validation for its "
                             "best number of epochs, so it learns from the same texts as the classical models "
                             "(1.5–2× the training time)")
    parser.add_argument("--backend", choices=BACKENDS, default=os.environ.get(BACKEND_VARIABLE) or PROCESSES,
                        help="where runs train: worker processes, one per core (the default, unless "
                             f"${BACKEND_VARIABLE} names another), or one after another in this process "
                             "(sequential, for debugging)")
    parser.add_argument("--workers", type=int, help="number of worker processes (default: one per core)")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="train on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://host:8786")
    parser.add_argument("--threads", type=int,
                        help="torch intra-op threads per run (default: 1 per worker; torch's choice when sequential)")
    parser.add_argument("--out", help="write every run (with history and test predictions) to this JSON file")
    parser.add_argument("--no-store", action="store_true", help="do not record the comparison in the run store")
    parser.add_argument("--save-models", action="store_true",
                        help="save each trained model as a bundle under <home>/bundles/ as soon as it finishes")


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


def _truncation(text: str) -> int | str:
    if text == AUTO:
        return AUTO
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of tokens or 'auto', not {text!r}") from None


def _experiment_id(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 0 < number <= MAX_ID:
        raise argparse.ArgumentTypeError(f"expected an experiment id (a whole number from 1, see runs list), "
                                         f"not {text[:40]!r}")
    return number


def writable_file(path: str | None, option: str) -> None:
    """Refuse an output path whose folder is missing before any work is done, not after training."""
    if path is None:
        return
    folder = Path(path).expanduser().parent
    if not folder.is_dir():
        raise TextclfError(f"The folder {folder} for {option} does not exist; create it or choose another path.")
    if Path(path).is_dir():
        raise TextclfError(f"{path} is a folder; give {option} a file name, e.g. {Path(path) / 'results.json'}.")


def write_text(path: str, text: str, option: str) -> None:
    try:
        Path(path).expanduser().write_text(text, encoding="utf-8")
    except OSError as err:
        raise TextclfError(f"Cannot write {path} ({err.strerror}); choose another path for {option}.") from None


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
    backend = make_backend(args.backend, cluster=args.cluster, workers=args.workers, threads=threads)
    print(f"training on {backend.describe()}", flush=True)
    runner = JobRunner(store, save_models=args.save_models, bundles_dir=bundles_dir, backend=backend)
    job = runner.submit(dataset, config, on_event=_print_event)
    try:
        job.wait()
    finally:
        runner.shutdown()
    if job.status == FAILED:
        raise TextclfError(job.error)
    comparison = job.comparison()
    print_table(comparison)
    if store:
        print(f"recorded as experiment {job.experiment_id} in {store.path}")
    if args.out:
        write_text(args.out, comparison_json_text(comparison), "--out")
        print(f"results written to {args.out}")
    return 0


def _print_event(event: dict) -> None:
    if event["event"] == "run_start":
        print(f"[{event['number']}/{event['total']}] {event['run']} on {event['worker']}", flush=True)
    elif event["event"] == "run_failed":
        then = "retrying it on another worker" if event["retrying"] else "not retried"
        print(f"  {event['run']} failed: {event['reason']}; {then}", flush=True)
    elif event["event"] == "epoch":
        print(_epoch_line(event), flush=True)
    elif event["event"] == "run_done" and event["bundle"]:
        print(f"  model saved to {event['bundle']}", flush=True)


def _epoch_line(event: dict) -> str:
    """One finished epoch; a refit's epochs have no validation part, so they say what they are instead."""
    checked = ("retraining on training + validation" if event.get("stage") == REFIT_STAGE
               else f"validation accuracy {event['val_accuracy']:.3f}")
    return (f"  {event['run']}, epoch {event['epoch']}/{event['epochs']}: loss {event['train_loss']:.3f}, {checked}, "
            f"{event['seconds']:.1f} s, padding waste {event['padding_waste']:.1%}")


def run_report(args: argparse.Namespace) -> int:
    print_table(load_results(args.results))
    return 0


def print_table(comparison: Comparison) -> None:
    sizes = comparison.split_sizes
    folds = f"{len(comparison.folds)}-fold cross-validation, fold 1: " if comparison.folds else ""
    print(f"\n{comparison.dataset_name}: {folds}train {sizes['train']}, validation {sizes['validation']}, "
          f"test {sizes['test']}; tokenizer {comparison.tokenizer}")
    for note in comparison.split_notes:
        print(f"note: {note}")
    for failure in comparison.failures:
        print(f"note: {failure['run']} failed ({failure['reason']})"
              + ("; it was retried" if failure["retried"] else "; it was not retried"))
    columns = TABLE_COLUMNS if comparison.folds else [c for c in TABLE_COLUMNS if c != "fold"]
    table = comparison.table[columns]
    whole = [c for c in table.columns if isinstance(table[c].dtype, pd.Int64Dtype)]
    table = table.astype({c: object for c in whole}).fillna({c: "–" for c in whole})
    with pd.option_context("display.width", 160, "display.max_columns", None):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–"))
        print_summary(comparison)


def print_summary(comparison: Comparison) -> None:
    """Mean ± sd and 95 % CI per (model, batching), the pairwise tests and the headline sentences."""
    summary = aggregate(comparison.table)
    if summary.empty:
        return
    unit = "folds" if comparison.folds else "seeds"
    print(f"\nmean ± sd over {unit} [95 % CI]; times are training only, in seconds:")
    print(summary_lines(summary).to_string(index=False))
    pairs = pairwise_table(comparison)
    if len(pairs):
        print(f"\npairwise: row − column accuracy in points ± 95 % CI half-width ({', '.join(pairs['test'].unique())}, "
              "Holm-adjusted p; * significant):")
        print(matrix(pairs).to_string())
    print()
    for sentence in headline(comparison, pairs):
        print(f"- {sentence}")
    print(f"evaluation batching (validation and test, every strategy): {comparison.evaluation_batching}")


def summary_lines(summary: pd.DataFrame) -> pd.DataFrame:
    shown = summary[["model", "batching", "runs"]].copy()
    for measure in ("accuracy", "macro_f1"):
        shown[measure] = [_mean_sd_ci(row, measure) for _, row in summary.iterrows()]
    for measure in ("seconds_per_epoch", "seconds_to_best_epoch"):
        shown[measure] = [f"{m:.2f} ± {sd:.2f}" if pd.notna(m) else "–"
                          for m, sd in zip(summary[f"{measure}_mean"], summary[f"{measure}_sd"], strict=True)]
    return shown


def _mean_sd_ci(row: pd.Series, measure: str) -> str:
    ci = f" [{row[f'{measure}_ci_low']:.3f}, {row[f'{measure}_ci_high']:.3f}]" if pd.notna(
        row[f"{measure}_ci_low"]) else ""
    return f"{row[f'{measure}_mean']:.3f} ± {row[f'{measure}_sd']:.3f}{ci}"


def run_runs_list(args: argparse.Namespace) -> int:
    store = Store(args.home)
    rows = store.list_experiments()
    if not rows:
        print(f"no experiments stored in {store.home}")
        return 0
    table = pd.DataFrame(rows)
    table["runs"] = [f"{done}/{total}" for done, total in zip(table.runs, table.total_runs, strict=True)]
    table["models"] = table.models.map(", ".join)
    print(table[LIST_COLUMNS].to_string(index=False))
    return 0


def run_runs_show(args: argparse.Namespace) -> int:
    store = Store(args.home)
    info = store.experiment(args.id)
    print(f"experiment {info['id']}: {info['status']}; dataset {info['dataset']}; runs {info['runs']}/"
          f"{info['total_runs']}; created {info['created']}, finished {info['finished'] or '–'}")
    if info["error"]:
        print(f"error: {info['error']}")
    comparison = store.load_comparison(args.id)
    if comparison.runs:
        print_table(comparison)
    for bundle in info["bundles"]:
        if bundle["path"]:
            print(f"bundle of {bundle['run']}: {bundle['path']}")
    return 0


def run_runs_export(args: argparse.Namespace) -> int:
    writable_file(args.out, "--out")
    text = Store(args.home).export_experiment(args.id, args.format)
    if args.out:
        write_text(args.out, text, "--out")
        print(f"experiment {args.id} written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def run_runs_delete(args: argparse.Namespace) -> int:
    Store(args.home).delete_experiment(args.id)
    print(f"deleted experiment {args.id}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    bundle = load_bundle(args.bundle)
    labels = bundle.predict(args.texts)
    probabilities = bundle.predict_proba(args.texts) if bundle.has_probabilities else [None] * len(labels)
    for text, label, row in zip(args.texts, labels, probabilities, strict=True):
        print(f"{label}\t{text}")
        if row is not None:
            ranked = sorted(zip(bundle.classes, row, strict=True), key=lambda pair: -pair[1])
            print("  " + "  ".join(f"{name} {p:.3f}" for name, p in ranked))
    return 0


def run_explain(args: argparse.Namespace) -> int:
    bundle = load_bundle(args.bundle)
    chosen = methods(bundle) if args.method == "all" else [args.method]
    explanations = [explain(bundle, args.text, method) for method in chosen]
    if args.json:
        print(json.dumps([e.as_dict() for e in explanations], ensure_ascii=False, indent=1))
        return 0
    for explanation in explanations:
        print_explanation(explanation, args.top)
    return 0


def print_explanation(explanation: Explanation, top: int) -> None:
    probability = "" if explanation.probability is None else f" ({explanation.probability:.3f})"
    print(f"{explanation.model} — {explanation.title}")
    print(f"predicted: {explanation.predicted}{probability}")
    print("  " + " ".join(token if weight is None else f"{token}[{weight:+.2f}]"
                          for token, weight in zip(explanation.tokens, explanation.weights, strict=True)))
    for kind, rows in explanation.details.items():
        if isinstance(rows, list) and rows:
            print(f"{kind}:")
            for row in rows[:top]:
                print("  " + ", ".join(f"{name} {_plain_value(value)}" for name, value in row.items()))
    for note in explanation.notes:
        print(f"note: {note}")
    print()


def _plain_value(value) -> str:
    return f"{value:+.3f}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)
