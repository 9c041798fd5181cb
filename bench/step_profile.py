"""Where a training step's time goes (forward, backward, Adam step), per strategy, plain vs fused Adam.

    python bench/step_profile.py --dataset mr --models cnn,rnn --batches 40 --reps 3

One thread. The forward and backward shrink with the padded slots; the optimizer step does not (Adam updates
the whole embedding table every step), so a slow step caps bucketing's speed-up well below the slots ratio.
textclf.training.loop.make_optimizer uses torch's fused Adam; `plain` is torch.optim.Adam's default (unfused on CPU).
Every (strategy, optimizer) pair runs the same batches, interleaved, for --reps rounds; medians per batch.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from common import CompareConfig, encoded_parts, prepared
from torch.nn import functional as F

from textclf.models import create
from textclf.training.loop import make_optimizer, seed_everything
from textclf.training.strategies import make_strategy, strategy_names

OPTIMIZERS = {"plain": lambda module, lr: torch.optim.Adam(module.parameters(), lr=lr), "fused": make_optimizer}


def timed_steps(module, optimizer, train, labels, plan) -> dict[str, list[float]]:
    times = {"forward": [], "backward": [], "step": []}
    module.train()
    for batch in plan:
        ids, lengths = train.batch(batch.index, batch.padded_length)
        started = time.perf_counter()
        optimizer.zero_grad()
        loss = F.cross_entropy(module(ids, lengths), labels[batch.index])
        forward = time.perf_counter()
        loss.backward()
        backward = time.perf_counter()
        optimizer.step()
        loss.item()
        done = time.perf_counter()
        times["forward"].append(forward - started)
        times["backward"].append(backward - forward)
        times["step"].append(done - backward)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mr")
    parser.add_argument("--models", default="cnn,rnn")
    parser.add_argument("--batches", type=int, default=40, help="batches per strategy and round")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    config = CompareConfig(batch_size=64)
    data = prepared(args.dataset, config)
    vocab, parts = encoded_parts(data)
    train, train_labels = parts["train"]
    labels = torch.tensor([data.classes.index(v) for v in train_labels])
    print(f"{args.dataset}, batch size {config.batch_size}, 1 thread, median ms per batch over "
          f"{args.reps} × {args.batches} batches\n")
    print("| model | strategy | Adam | forward | backward | step | total |")
    print("|---|---|---|---|---|---|---|")
    for key in args.models.split(","):
        estimator = create(key)
        lr = estimator.learning_rate()
        runs = {}
        for name in strategy_names():
            strategy = make_strategy(name, config.batch_size)
            if hasattr(strategy, "fit"):
                strategy.fit(train.lengths)
            for kind, make in OPTIMIZERS.items():
                seed_everything(0)
                module = estimator.build_module(len(vocab), len(data.classes))
                runs[name, kind] = (strategy, module, make(module, lr), {"forward": [], "backward": [], "step": []})
        for rep in range(args.reps):
            for strategy, module, optimizer, times in runs.values():
                plan = strategy.plan(train.lengths, torch.Generator().manual_seed(rep))[:args.batches]
                for part, values in timed_steps(module, optimizer, train, labels, plan).items():
                    times[part] += values
        for (name, kind), (_, _, _, times) in runs.items():
            medians = {part: 1000 * statistics.median(values) for part, values in times.items()}
            print(f"| {estimator.label({})} | {name} | {kind} | {medians['forward']:.1f} | {medians['backward']:.1f} "
                  f"| {medians['step']:.1f} | {sum(medians.values()):.1f} |", flush=True)


if __name__ == "__main__":
    main()
