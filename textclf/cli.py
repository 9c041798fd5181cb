"""Command line: `python -m textclf compare|profile|report ...`.

Thin: it parses arguments, calls the library and prints. Input problems arrive as `TextclfError` and are
printed as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pandas as pd

from textclf.batching import PAD_TO, STRATEGIES
from textclf.data import ENCODINGS, SEPARATOR_BY_NAME, Dataset, load_dataset
from textclf.demo import demo_dataset
from textclf.errors import TextclfError
from textclf.experiment import CompareConfig, Comparison, RunSpec, compare, load_results
from textclf.profile import profile_dataset
from textclf.tokenize import TOKENIZERS

TABLE_COLUMNS = ["model", "batching", "seed", "accuracy", "macro_f1", "train_seconds", "seconds_per_epoch",
                 "epochs_run", "padding_waste", "steps"]


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
    commands = parser.add_subparsers(dest="command", required=True)

    profile = commands.add_parser("profile", help="describe a labelled CSV (rows, classes, lengths, language)")
    _add_data_arguments(profile)
    profile.add_argument("--tokenizer", choices=TOKENIZERS, default="auto")
    profile.set_defaults(handler=run_profile)

    comp = commands.add_parser("compare", help="train and compare models and batching strategies on one split")
    _add_data_arguments(comp)
    _add_compare_arguments(comp)
    comp.set_defaults(handler=run_compare)

    report = commands.add_parser("report", help="print the results table of a JSON file written by compare --out")
    report.add_argument("results", help="results JSON file")
    report.set_defaults(handler=run_report)
    return parser


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="CSV/TSV file with a text column and a label column")
    parser.add_argument("--demo", action="store_true", help="use the built-in synthetic demo dataset instead")
    parser.add_argument("--text-col", help="name of the text column (guessed when left out)")
    parser.add_argument("--label-col", help="name of the label column (guessed when left out)")
    parser.add_argument("--split-col", help="column with train/validation/test per row (random split otherwise)")
    parser.add_argument("--encoding", help=f"file encoding, e.g. {', '.join(ENCODINGS)} (detected otherwise)")
    parser.add_argument("--sep", choices=sorted(SEPARATOR_BY_NAME), help="separator (detected otherwise)")


def _add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = CompareConfig()
    parser.add_argument("--models", default="cnn,rnn,svm,knn",
                        help="comma-separated models, options after colons, e.g. cnn,rnn:cell=gru:pooling=attention")
    parser.add_argument("--batching", default=",".join(defaults.batchings),
                        help=f"comma-separated strategies from {', '.join(STRATEGIES)}")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--patience", type=int, default=defaults.patience,
                        help="stop after this many epochs without a better validation accuracy")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, help="learning rate (default: each model's own, CNN 2e-3, RNN 1e-3)")
    parser.add_argument("--max-len", type=int, default=defaults.max_len, help="truncation length in tokens")
    parser.add_argument("--buckets", type=int, default=defaults.n_buckets, help="number of length buckets")
    parser.add_argument("--pad-to", choices=PAD_TO, default=defaults.pad_to,
                        help="bucketed batches pad to the batch's longest text or to the bucket bound")
    parser.add_argument("--tokenizer", choices=TOKENIZERS, default=defaults.tokenizer)
    parser.add_argument("--split-seed", type=int, default=defaults.split_seed)
    parser.add_argument("--device", default=defaults.device, help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--out", help="write every run (with history and test predictions) to this JSON file")


def read_dataset(args: argparse.Namespace) -> Dataset:
    if args.demo == bool(args.file):
        raise TextclfError("Give either a CSV file or --demo (one of the two).")
    if args.demo:
        return demo_dataset()
    return load_dataset(args.file, text_col=args.text_col, label_col=args.label_col, split_col=args.split_col,
                        encoding=args.encoding, separator=SEPARATOR_BY_NAME.get(args.sep))


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
        pad_to=args.pad_to, tokenizer=args.tokenizer, split_seed=args.split_seed, device=args.device,
    )


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in _split_list(text)]
    except ValueError:
        raise TextclfError(f"Seeds must be whole numbers separated by commas, not {text!r}.") from None


def run_compare(args: argparse.Namespace) -> int:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    dataset = read_dataset(args)
    config = config_from_args(args)
    comparison = compare(dataset, config, progress=_print_epoch, on_run_start=_print_run_start)
    print_table(comparison)
    if args.out:
        comparison.save(args.out)
        print(f"results written to {args.out}")
    return 0


def _print_run_start(run: RunSpec, number: int, total: int) -> None:
    print(f"[{number}/{total}] {run.name}", flush=True)


def _print_epoch(event: dict) -> None:
    if event["event"] == "epoch":
        print(f"  epoch {event['epoch']}/{event['epochs']}: loss {event['train_loss']:.3f}, "
              f"validation accuracy {event['val_accuracy']:.3f}, {event['seconds']:.1f} s, "
              f"padding waste {event['padding_waste']:.1%}", flush=True)


def run_report(args: argparse.Namespace) -> int:
    print_table(load_results(args.results))
    return 0


def print_table(comparison: Comparison) -> None:
    sizes = comparison.split_sizes
    print(f"\n{comparison.dataset_name}: train {sizes['train']}, validation {sizes['validation']}, "
          f"test {sizes['test']}; tokenizer {comparison.tokenizer}")
    for note in comparison.split_notes:
        print(f"note: {note}")
    table = comparison.table[TABLE_COLUMNS]
    with pd.option_context("display.width", 160, "display.max_columns", None):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–"))
