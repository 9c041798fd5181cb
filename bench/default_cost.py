"""CPU cost of issue 8's neural default changes: one training epoch, earlier defaults against current ones.

    python bench/default_cost.py --dataset mr --reps 2
    python bench/default_cost.py --dataset mr --models cnn --reps 2 --against wide=false

Earlier defaults: TextCNN filters 2, 3, 5, batches of 64, torch's N(0, 1) embeddings, no max-norm, no
clipping; BiLSTM batches of 64, no clipping. Current: the library defaults. Same split, vocabulary and bucketed
batching; epochs alternate between the two settings (rep 1: earlier, current; rep 2: the same), and each
is timed with the process's CPU clock, which other processes on the machine barely change. The epoch count
is the other half of the cost: see `epochs_run` in the accuracy tables (cap 30 and patience 5 now, 10 and 3
before). `--against NAME=VALUE,...` times the current defaults against the current defaults with those settings
changed instead (for example the narrow convolution, `wide=false`, or the earlier truncation, `max_len=256`).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from common import prepared

from textclf.data.vocab import Vocabulary, encode
from textclf.models import create
from textclf.runs.config import ModelSpec
from textclf.training.loop import TrainSettings, seed_everything, train_module

EARLIER = {"cnn": {"kernel_sizes": (2, 3, 5), "batch_size": 64, "max_norm": None, "clip_norm": None, "wide": False},
           "rnn": {"batch_size": 64, "clip_norm": None}}


def epoch_cpu_seconds(key: str, params: dict, data, earlier: bool) -> float:
    estimator = create(key, **params)
    tokens, labels = data.part("train")
    val_tokens, val_labels = data.part("validation")
    estimator.tokenizer_ = data.tokenizer
    vocab = Vocabulary.fit(tokens, min_freq=estimator.min_freq)
    train, val = encode(tokens, vocab, estimator.max_len), encode(val_tokens, vocab, estimator.max_len)
    y = torch.from_numpy(estimator._encode_labels(list(labels)))
    y_val = torch.from_numpy(estimator._label_ids(list(val_labels)))
    seed_everything(0)
    module = estimator.build_module(len(vocab), len(estimator.classes_))
    if earlier:
        torch.nn.init.normal_(module.embedding.weight)
    strategy = estimator.build_strategy()
    strategy.fit(train.lengths)
    settings = TrainSettings(epochs=1, lr=estimator.default_lrs["adam"], clip_norm=estimator.clip_norm,
                             max_slots=estimator.max_training_slots)
    started = time.process_time()
    train_module(module, train, y, val, y_val, strategy, settings, device=torch.device("cpu"))
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mr")
    parser.add_argument("--models", default="cnn,rnn")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--against", help="NAME=VALUE,... : the current defaults with these changed, instead of "
                                          "the earlier defaults")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = prepared(args.dataset)
    baseline = f"current defaults with {args.against}" if args.against else "earlier defaults"
    print(f"| {args.dataset} model | {baseline}, CPU s / epoch | current defaults | ratio |")
    print("|---|---|---|---|")
    for key in args.models.split(","):
        times = {"earlier": [], "current": []}
        against = ModelSpec.parse(f"{key}:" + args.against.replace(",", ":")).params if args.against else None
        for _ in range(args.reps):
            times["earlier"].append(epoch_cpu_seconds(key, against or EARLIER[key], data, earlier=against is None))
            times["current"].append(epoch_cpu_seconds(key, {}, data, earlier=False))
        before, now = statistics.median(times["earlier"]), statistics.median(times["current"])
        print(f"| {key} | {before:.1f} | {now:.1f} | {now / before:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
