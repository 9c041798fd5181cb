"""Why integrated gradients misses completeness on a text: the margin along the path, and the gap per step count.

    nice -n 10 python bench/ig_path.py --dataset waimai_10k --model rnn

Trains the model as `explain_deletion.py` does, finds the test text (of the first 220) with the largest
completeness gap at the default steps, prints its gap at 50, 200, 800 and 3200 steps, and scans the predicted
class's margin at 2001 evenly spaced points of the straight path from the all-pad baseline (the embedding
scaled by α), printing the largest jumps between neighbouring points.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from common import prepared
from explain_deletion import MODELS

from textclf.errors import TextclfError
from textclf.explain.attribution import embedding_layer, integrated_gradients, margin
from textclf.models import create


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="waimai_10k")
    parser.add_argument("--model", default="rnn", choices=("cnn", "rnn"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = prepared(args.dataset)
    train_docs, train_labels = data.part("train")
    model = create(args.model, **MODELS[args.model], max_len=data.max_len, tokenizer=data.tokenizer)
    model.fit(train_docs, list(train_labels))
    gap, ids, lengths, target = worst_text(model, data.part("test")[0][:220])
    print(f"worst relative gap at the default steps: {gap:.3f}")
    for steps in (50, 200, 800, 3200):
        result = integrated_gradients(model.module_, ids, lengths, target, n_steps=steps, tolerance=None)
        print(f"{steps:5d} steps: gap {result.relative_gap:.3f}")
    alphas = np.linspace(0, 1, 2001)
    values = np.array([margin_at(model.module_, ids, lengths, target, alpha) for alpha in alphas])
    jumps = np.abs(np.diff(values))
    for i in np.argsort(-jumps)[:3]:
        print(f"margin jumps {jumps[i]:.3f} between alpha {alphas[i]:.4f} and {alphas[i + 1]:.4f}")
    print(f"margin at alpha 0, 0.25, 0.5, 0.75, 1: {', '.join(f'{values[i]:.3f}' for i in range(0, 2001, 500))}")


def worst_text(model, docs):
    worst = None
    for tokens in docs:
        try:
            ids, lengths, _, _ = model._read(tokens)
        except TextclfError:
            continue
        target = model._decision(tokens)[0]
        gap = integrated_gradients(model.module_, ids, lengths, target).relative_gap
        if worst is None or gap > worst[0]:
            worst = (gap, ids, lengths, target)
    return worst


@torch.no_grad()
def margin_at(module, ids, lengths, target: int, alpha: float) -> float:
    hook = embedding_layer(module).register_forward_hook(lambda _module, _inputs, output: output * alpha)
    try:
        return float(margin(module(ids, lengths), target)[0])
    finally:
        hook.remove()


if __name__ == "__main__":
    main()
