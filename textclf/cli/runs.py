"""`runs list|show|export|delete|cancel` on the run store, and `report` on a results file."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from textclf.cli.output import print_table, writable_file, write_text
from textclf.runs.comparison import load_results
from textclf.storage.store import Store

LIST_COLUMNS = ["id", "status", "created", "dataset", "runs", "models"]


def run_report(args: argparse.Namespace) -> int:
    print_table(load_results(args.results))
    return 0


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


def run_runs_cancel(args: argparse.Namespace) -> int:
    """Ask the process training the experiment (a dashboard, a `compare` in another terminal) to stop before its
    next batch; the runs it finished stay stored."""
    store = Store(args.home)
    status = store.request_cancel(args.id)
    print(f"asked experiment {args.id} ({status}) to stop before its next batch; its finished runs are kept "
          f"(python -m textclf runs show {args.id})")
    return 0
