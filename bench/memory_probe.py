"""Where a comparison's memory goes: resident and peak memory after each phase, in one process.

    nice -n 10 python bench/memory_probe.py ../shared/datasets/online_shopping_10_cats.csv --rows 15700

Phases: imports, reading the CSV, splitting and tokenizing (`prepare`), then one run each of SVM, TextCNN and
BiLSTM (1 epoch, bucketed, 1 thread), as the scale table runs them. Prints MB; the peak only ever grows, so
the phase where it jumps is where the memory goes.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource

import torch
from common import sample_rows

from textclf.data.reading import load_dataset
from textclf.runs.config import CompareConfig, RunSpec
from textclf.runs.prepare import prepare
from textclf.runs.run_one import run_one


def current_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(phase: str) -> None:
    gc.collect()
    print(f"{phase:<34} now {current_mb():7.0f} MB   peak {peak_mb():7.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--rows", type=int, help="a random sample of N rows (seed 0)")
    parser.add_argument("--models", default="svm,cnn,rnn")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report("imports (torch, sklearn, textclf)")
    dataset = sample_rows(load_dataset(args.csv), args.rows)
    report(f"read {len(dataset)} rows")
    config = CompareConfig(models=tuple(args.models.split(",")), batchings=("bucket",), epochs=1)
    prepared = prepare(dataset, config)
    report("split + tokens (prepare)")
    for spec in config.models:
        result = run_one(RunSpec(spec, "bucket", 0), prepared, config)
        report(f"after {result.record['model']}")
        del result
        report(f"after {spec.key} released")


if __name__ == "__main__":
    main()
