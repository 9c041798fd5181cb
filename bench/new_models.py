"""HAN, RCNN and C-LSTM under max-length and bucketed batching on long documents (issue 11's benchmark).

    python bench/new_models.py DATASET [--rows N] [--epochs E]

Runs `compare` (split 80/10/10, split seed 0, seed 0, truncation 256 tokens, batch 32, 64-dimensional random
embeddings, one torch thread) on ../shared/datasets/DATASET.csv, or on a stratified sample of N rows of it
(seed 0), and writes bench/results/new_models_DATASET.json; prints accuracy, seconds per epoch and padding waste.
"""

import argparse
from pathlib import Path

import pandas as pd
import torch
from common import DATASETS as DATA
from summary import summary

from textclf.data.reading import Dataset, load_dataset
from textclf.results.analysis import save_comparison
from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig
from textclf.runs.events import RunFinished

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = ("han:embed_dim=64", "rcnn:embed_dim=64", "clstm:embed_dim=64")


def sample(dataset: Dataset, rows: int | None) -> Dataset:
    """A stratified, seeded sample (every class keeps its share), or the whole set."""
    if not rows or rows >= len(dataset):
        return dataset
    frame = pd.DataFrame({"text": dataset.texts, "label": dataset.labels})
    share = rows / len(frame)
    kept = frame.groupby("label", group_keys=False).sample(frac=share, random_state=0).sort_index()
    return Dataset(texts=kept["text"].tolist(), labels=kept["label"].tolist(), name=f"{dataset.name}[{len(kept)}]")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = sample(load_dataset(DATA / f"{args.dataset}.csv"), args.rows)
    config = CompareConfig(models=MODELS, batchings=("max_length", "bucket"), epochs=args.epochs, batch_size=32,
                           max_len=256)
    out = RESULTS / f"new_models_{args.dataset}.json"
    comparison = compare(dataset, config, listener=lambda event: isinstance(event, RunFinished) and print(
        event.run, event.result.record["accuracy"], flush=True))
    save_comparison(comparison, out)
    print(f"{dataset.name}: {len(dataset)} rows")
    print(summary(str(out)))


if __name__ == "__main__":
    main()
