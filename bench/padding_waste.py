"""Padding waste of every batching strategy on the shared data sets (no training; a few seconds).

    python bench/padding_waste.py [--datasets mr,sms_spam,ag_news_test,waimai_10k] [--batch-size 64]

Waste = pad slots / all slots over the training part's epochs, averaged over --epochs shuffled epochs,
with the lengths `compare` trains on (its split, tokenizer and --max-len truncation).
"""

from __future__ import annotations

import argparse

import torch
from common import ALL_DATASETS, CompareConfig, dataset_path, encoded_parts, prepared

from textclf.training.batching import DEFAULT_BUCKETS, padding_stats
from textclf.training.strategies import make_strategy

SETTINGS = {  # column name -> (strategy, pad_to)
    "max_length": ("max_length", "batch"),
    "per_batch": ("per_batch", "batch"),
    "bucket": ("bucket", "batch"),
    "bucket pad_to=bound": ("bucket", "bound"),
}


def waste_row(lengths: torch.Tensor, batch_size: int, n_buckets: int, epochs: int) -> dict[str, tuple[float, int]]:
    """(mean waste, most distinct batch shapes) per setting, over `epochs` shuffled epochs."""
    row = {}
    for column, (name, pad_to) in SETTINGS.items():
        strategy = make_strategy(name, batch_size, n_buckets=n_buckets, pad_to=pad_to)
        if hasattr(strategy, "fit"):
            strategy.fit(lengths)
        generator = torch.Generator().manual_seed(0)
        stats = [padding_stats(strategy.plan(lengths, generator), lengths) for _ in range(epochs)]
        row[column] = (sum(s.waste for s in stats) / epochs, max(s.shapes for s in stats))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(ALL_DATASETS))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--buckets", type=int, default=DEFAULT_BUCKETS)
    parser.add_argument("--max-len", type=int, default=CompareConfig().max_len)
    parser.add_argument("--epochs", type=int, default=5, help="shuffled epochs to average over")
    args = parser.parse_args()
    names = args.datasets.split(",")
    for name in names:
        dataset_path(name)  # exits with a clear message before any output when a file is missing

    print(f"batch size {args.batch_size}, {args.buckets} buckets, max_len {args.max_len}, "
          f"mean of {args.epochs} epochs; cells: waste (distinct batch shapes)\n")
    print("| data set | tokenizer | train rows | mean / max length | " + " | ".join(SETTINGS) + " |")
    print("|---|---|---|---|" + "---|" * len(SETTINGS))
    for name in names:
        data = prepared(name, CompareConfig(max_len=args.max_len))
        _, parts = encoded_parts(data)
        lengths = parts["train"][0].lengths
        row = waste_row(lengths, args.batch_size, args.buckets, args.epochs)
        cells = " | ".join(f"{waste:.1%} ({shapes})" for waste, shapes in row.values())
        print(f"| {name} | {data.tokenizer} | {len(lengths)} | {lengths.double().mean():.1f} / {int(lengths.max())} "
              f"| {cells} |", flush=True)


if __name__ == "__main__":
    main()
