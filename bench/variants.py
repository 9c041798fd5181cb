"""Test accuracy of one neural model with changed settings over several seeds (quick default-tuning runs).

    python bench/variants.py --dataset mr --model cnn --seeds 0,1,2,3 '{}' '{"embed_dim": 300}'

Each JSON object is one variant: model parameters that differ from the defaults ('{}' = the defaults). Every
run is `compare`'s own (textclf.runs.run_one.run_one on its split, bucket batching, default settings otherwise),
so a variant equals `python -m textclf compare FILE --models cnn:embed_dim=300 --batching bucket --seeds ...`.
"""

from __future__ import annotations

import argparse
import json
import statistics

import torch
from common import prepared

from textclf.runs.config import CompareConfig, ModelSpec, RunSpec
from textclf.runs.run_one import run_one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", help="JSON objects of model parameters, e.g. '{\"min_freq\": 2}'")
    parser.add_argument("--dataset", default="mr")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--batching", default="bucket")
    args = parser.parse_args()
    torch.set_num_threads(1)

    config = CompareConfig(batchings=(args.batching,))
    data = prepared(args.dataset, config)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"| {args.dataset} {args.model} variant | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |")
    print("|---|" + "---|" * (len(seeds) + 1))
    for variant in args.variants:
        params = json.loads(variant)
        accuracies = [run_one(RunSpec(ModelSpec(args.model, params), args.batching, seed), data, config)
                      .record["accuracy"] for seed in seeds]
        cells = " | ".join(f"{a:.3f}" for a in accuracies)
        print(f"| {variant} | {cells} | {statistics.mean(accuracies):.3f} |", flush=True)


if __name__ == "__main__":
    main()
