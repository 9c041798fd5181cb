"""A comparison on the GPU against the CPU, when a CUDA device is present (exits with a message otherwise).

    python bench/gpu.py mr --epochs 3

Runs the same grid (TextCNN and BiLSTM by default, × max_length and bucket) with `device="cuda"` and with `device="cpu"`
(all CPU threads), sequentially in this process so the device is not shared, and prints seconds per epoch
per run on each device, the ratio, and whether the accuracies agree (GPU kernels are not bit-identical to the
CPU's, so small differences are expected and reported, not hidden). Nothing in textclf requires a GPU:
`device="auto"` uses CUDA only when torch finds it.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from common import dataset_path

from textclf.data.reading import load_dataset
from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig
from textclf.runs.dispatch import Sequential


def timed(dataset, config: CompareConfig) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    comparison = compare(dataset, config, backend=Sequential())
    return time.perf_counter() - started, [r.record for r in comparison.runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="name of a CSV in ../shared/datasets, e.g. mr")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--models", default="cnn,rnn", help="as in compare, e.g. cnn:lr=0.002,rnn")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this benchmark needs a GPU machine (nothing else in textclf does)")
    dataset = load_dataset(dataset_path(args.dataset))
    results = {}
    for device in ("cuda", "cpu"):
        config = CompareConfig(models=tuple(args.models.split(",")), batchings=("max_length", "bucket"),
                               epochs=args.epochs, patience=args.epochs, device=device)
        results[device] = timed(dataset, config)
        print(f"{device}: {results[device][0]:.1f} s wall", flush=True)
    print(f"GPU: {torch.cuda.get_device_name(0)}; CPU threads: {torch.get_num_threads()}")
    print("run                              s/epoch cuda   s/epoch cpu   cpu/cuda   accuracy cuda / cpu")
    for gpu, cpu in zip(results["cuda"][1], results["cpu"][1], strict=True):
        name = f"{gpu['model']} · {gpu['batching']}"
        print(f"{name:<32} {gpu['seconds_per_epoch']:12.2f} {cpu['seconds_per_epoch']:13.2f} "
              f"{cpu['seconds_per_epoch'] / gpu['seconds_per_epoch']:10.1f}   "
              f"{gpu['accuracy']:.4f} / {cpu['accuracy']:.4f}")


if __name__ == "__main__":
    main()
