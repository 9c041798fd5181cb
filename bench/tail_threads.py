"""Wall time of one comparison on local worker processes, its tail on one thread per run or on every core.

    python bench/tail_threads.py mr                                # the CLI's default comparison (minutes)
    python bench/tail_threads.py mr --rows 2000 --epochs 3 --embed-dim 64

The comparison is the CLI's default (TextCNN, BiLSTM, SVM, kNN × max-length and bucketed, 1 seed; neural models
at their defaults unless `--epochs` / `--embed-dim` say otherwise), on one worker process per core, first with
every run pinned to one torch thread (`tail_threads=False`), then as the local workers run it by default: once no
run is left to start, the runs in flight take the idle workers' cores (`textclf.runs.dispatch.local`). Prints
both wall times, their ratio, the threads each run ended with and whether the accuracies are the same (a run that
changed its thread count may round differently in its last bits).
"""

from __future__ import annotations

import argparse
import os
import time

from common import dataset_path, sample_rows

from textclf.data.reading import load_dataset
from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig, ModelSpec
from textclf.runs.dispatch import LocalWorkers, available_cores


def default_comparison(args) -> CompareConfig:
    neural = {"embed_dim": args.embed_dim} if args.embed_dim else {}
    return CompareConfig(models=(ModelSpec("cnn", neural), ModelSpec("rnn", neural), ModelSpec("svm"),
                                 ModelSpec("knn")), batchings=("max_length", "bucket"), epochs=args.epochs)


def timed(dataset, config, tail_threads: bool):
    workers = LocalWorkers(threads=1, tail_threads=tail_threads)
    try:
        started = time.perf_counter()
        comparison = compare(dataset, config, backend=workers)
        return time.perf_counter() - started, comparison
    finally:
        workers.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="name of a CSV in ../shared/datasets, e.g. mr")
    parser.add_argument("--rows", type=int, help="a random sample of N rows (seed 0)")
    parser.add_argument("--epochs", type=int, help="epoch cap (default: the models' own, with early stopping)")
    parser.add_argument("--embed-dim", type=int, help="neural models' embedding size (default: theirs)")
    args = parser.parse_args()
    dataset = sample_rows(load_dataset(dataset_path(args.dataset)), args.rows)
    config = default_comparison(args)
    print(f"{args.dataset}: {len(dataset)} rows; {available_cores()} cores; load average before: "
          f"{os.getloadavg()}", flush=True)
    results = {}
    for tail_threads in (False, True):
        wall, comparison = timed(dataset, config, tail_threads)
        results[tail_threads] = (wall, comparison)
        name = "tail on every core" if tail_threads else "one thread per run"
        print(f"{name}: {wall:.1f} s", flush=True)
        for run in comparison.runs:
            print(f"  {run.record['model']} · {run.record.get('batching', '')}: {run.placement['torch_threads']} "
                  f"thread(s) at the end, {run.record['train_seconds']:.1f} s training", flush=True)
    (pinned, before), (spread, after) = results[False], results[True]
    print(f"ratio tail on every core / one thread per run: {spread / pinned:.2f}")
    same = [r.record["accuracy"] for r in before.runs] == [r.record["accuracy"] for r in after.runs]
    print(f"same accuracies: {same}; load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
