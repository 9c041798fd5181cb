"""The scale table: rows → seconds per epoch and peak memory per worker (1 epoch, bucketed, 1 torch thread).

    nice -n 10 python bench/scale.py online_shopping_10_cats --rows 15700,31400,62800

For each size, a random sample of that many rows (seed 0; all rows when the size is the whole file) is
compared with SVM + TextCNN + BiLSTM, one epoch, bucketed batching, on ONE fresh worker process with one torch
thread (so each run has a core and the worker's peak memory is the largest any of the three runs needed).
Prints one markdown row per size: wall time, seconds per epoch of each neural model, the worker's peak
resident memory (and the peak so far when each run finished, in that order: the run that raised it is where
the memory goes), and the coordinator's (this process: the data, its split and tokens) peak.
"""

from __future__ import annotations

import argparse
import os
import time

from common import dataset_path, sample_rows

from textclf.data.reading import load_dataset
from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig, plan_runs
from textclf.runs.dispatch import LocalWorkers, peak_memory_mb
from textclf.runs.events import RunFinished

NAMES = {"svm": "SVM", "cnn": "TextCNN", "rnn": "BiLSTM"}


def measure(dataset, rows: int, models: tuple[str, ...]) -> str:
    data = sample_rows(dataset, rows)
    config = CompareConfig(models=models, batchings=("bucket",), epochs=1)
    workers = LocalWorkers(1, threads=1)
    finished = []  # (model, worker's peak so far), in the order the runs finished
    runs = plan_runs(config)

    def note_peak(event) -> None:
        if isinstance(event, RunFinished):
            key = runs[event.index].model.key
            finished.append((NAMES.get(key, key), event.placement["peak_memory_mb"] / 1024))

    started = time.perf_counter()
    try:
        comparison = compare(data, config, backend=workers, listener=note_peak)
    finally:
        workers.close()
    wall = time.perf_counter() - started
    per_epoch = {r.record["model_key"]: r.record.get("seconds_per_epoch") for r in comparison.runs}
    seconds = {key: f"{per_epoch[key]:.0f} s" if per_epoch.get(key) else "–" for key in ("cnn", "rnn")}
    order = " / ".join(f"{name} {peak:.2f}" for name, peak in finished)
    return (f"| {len(data):,} | {wall:.0f} s | {seconds['cnn']} | {seconds['rnn']} | "
            f"{max(peak for _, peak in finished):.2f} GB (after {order}) | {peak_memory_mb() / 1024:.2f} GB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="name of a CSV in ../shared/datasets")
    parser.add_argument("--rows", default="15700,31400,62800", help="comma-separated sample sizes")
    parser.add_argument("--models", default="svm,cnn,rnn", help="the models compared (svm, cnn, rnn)")
    args = parser.parse_args()
    dataset = load_dataset(dataset_path(args.dataset))
    print(f"{args.dataset}: {len(dataset)} rows; load average before: {os.getloadavg()}", flush=True)
    print("| rows | wall (SVM + TextCNN + BiLSTM) | TextCNN s/epoch | BiLSTM s/epoch | "
          "peak per worker (so far, as each run finished) | coordinator peak |\n|---|---|---|---|---|---|", flush=True)
    for rows in (int(r) for r in args.rows.split(",")):
        print(measure(dataset, rows, tuple(args.models.split(","))), flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
