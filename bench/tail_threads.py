"""Wall time of one comparison on local worker processes, its tail on one thread per run or on every core.

    python bench/tail_threads.py mr                                # the CLI's default comparison (minutes)
    python bench/tail_threads.py mr --rows 2000 --epochs 3 --embed-dim 64
    python bench/tail_threads.py --steps                           # one training step, 1 thread or every core

The comparison is the CLI's default (TextCNN, BiLSTM, SVM, kNN × max-length and bucketed, 1 seed; neural models
at their defaults unless `--epochs` / `--embed-dim` say otherwise), on one worker process per core, first with
every run pinned to one torch thread (the default), then with `tail_threads=True` (`compare --tail-threads`): once no
run is left to start, the runs in flight take the idle workers' cores (`textclf.runs.dispatch.local`). Prints
both wall times, their ratio, the threads each run ended with and whether the accuracies are the same (a run that
changed its thread count may round differently in its last bits).

`--steps` times what a second thread does for one run: a TextCNN and a BiLSTM training step (bench/precision.py's,
fp32, batch 50 × 32 and × 256 tokens) on 1 thread and on every core, interleaved, median of 5, wall and CPU
seconds; on a machine whose cores other processes use, more threads wait for them instead of helping.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from common import dataset_path, sample_rows
from precision import MODELS, one_batch, training_step

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


def step_times(name: str, length: int, threads: tuple[int, ...], reps: int = 5) -> dict:
    """Median wall and CPU seconds of one fp32 training step per thread count, interleaved after a warm-up."""
    module, optimizer, data, labels, max_slots = one_batch(name, length)
    times = {count: ([], []) for count in threads}
    for count in [*threads, *threads * reps]:
        torch.set_num_threads(count)
        cpu = time.process_time()
        wall = training_step(module, optimizer, data, labels, max_slots, "fp32")
        times[count][0].append(wall)
        times[count][1].append(time.process_time() - cpu)
    return {count: (statistics.median(w[1:]), statistics.median(c[1:])) for count, (w, c) in times.items()}


def run_steps() -> None:
    threads = (1, available_cores())
    counts = f"{threads[0]} / {threads[1]} threads"
    print(f"{available_cores()} cores; load average before: {os.getloadavg()}\n")
    print(f"| model | tokens | wall s, {counts} | CPU s, {counts} | wall {threads[1]} / {threads[0]} |")
    print("|---|---|---|---|---|")
    for name in MODELS:
        for length in (32, 256):
            result = step_times(name, length, threads)
            (wall_one, cpu_one), (wall_all, cpu_all) = result[threads[0]], result[threads[1]]
            print(f"| {name} | {length} | {wall_one:.3f} / {wall_all:.3f} | {cpu_one:.3f} / {cpu_all:.3f} | "
                  f"{wall_all / wall_one:.2f}× |", flush=True)
    print(f"\nload average after: {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", help="name of a CSV in ../shared/datasets, e.g. mr")
    parser.add_argument("--steps", action="store_true", help="time one training step on 1 thread and every core")
    parser.add_argument("--rows", type=int, help="a random sample of N rows (seed 0)")
    parser.add_argument("--epochs", type=int, help="epoch cap (default: the models' own, with early stopping)")
    parser.add_argument("--embed-dim", type=int, help="neural models' embedding size (default: theirs)")
    args = parser.parse_args()
    if args.steps or not args.dataset:
        return run_steps()
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
