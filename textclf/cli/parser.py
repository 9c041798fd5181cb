"""The command line's arguments: one sub-command per handler, its options and their help."""

from __future__ import annotations

import argparse
import os

from textclf.cli.bundles import run_explain, run_predict
from textclf.cli.compare import run_compare, run_profile
from textclf.cli.runs import (
    run_report,
    run_runs_cancel,
    run_runs_delete,
    run_runs_export,
    run_runs_list,
    run_runs_show,
)
from textclf.data.reading import ENCODINGS, SEPARATOR_BY_NAME
from textclf.data.tokenize import TOKENIZERS
from textclf.models import model_keys
from textclf.runs.config import AUTO, MAX_TRUNCATION, CompareConfig
from textclf.runs.dispatch import BACKEND_VARIABLE, BACKENDS, PROCESSES
from textclf.storage.store import MAX_ID
from textclf.training.batching import PAD_TO
from textclf.training.strategies import strategy_names

DESCRIPTION = "Command line: `python -m textclf compare|profile|report|runs|predict|explain ...`."
HOME_HELP = "folder of the run store and model bundles (default: $TEXTCLF_HOME, else ~/.textclf)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m textclf", description=DESCRIPTION)
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
    runs = commands.add_parser("runs", help="list, show, export, delete or cancel the experiments in the run store")
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
    cancel = actions.add_parser("cancel", help="stop a queued or running experiment, whichever process trains it "
                                               "(its finished runs are kept)")
    cancel.set_defaults(handler=run_runs_cancel)
    for action in (show, export, delete, cancel):
        action.add_argument("id", type=_experiment_id, help="experiment id (see runs list)")
    for action in (listing, show, export, delete, cancel):
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
                        help=f"comma-separated models ({', '.join(model_keys())}), options after colons, "
                             "e.g. cnn:embedding=multichannel,rnn:cell=gru:pooling=attention,han")
    parser.add_argument("--batching", default=",".join(defaults.batchings),
                        help=f"comma-separated strategies from {', '.join(strategy_names())}")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    parser.add_argument("--epochs", type=int, default=defaults.epochs,
                        help="epoch cap (default: each model's own, 30; early stopping usually ends sooner)")
    parser.add_argument("--patience", type=int, default=defaults.patience,
                        help="stop after this many epochs in a row in which validation accuracy did not rise and "
                             "validation loss did not fall by 0.001 below its lowest, or a fifth of the epoch of the "
                             "last progress when that is more (default: each model's own, 2)")
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
    parser.add_argument("--tail-threads", action="store_true",
                        help="when fewer runs are left than workers, give them the idle cores' torch threads (faster "
                             "tail; results may then differ in the last bits from one-thread runs)")
    parser.add_argument("--out", help="write every run (with history and test predictions) to this JSON file")
    parser.add_argument("--no-store", action="store_true", help="do not record the comparison in the run store")
    parser.add_argument("--save-models", action="store_true",
                        help="save each trained model as a bundle under <home>/bundles/ as soon as it finishes")


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
