"""Integrated gradients for any neural model, through Captum's LayerIntegratedGradients on the embedding.

The baseline is the all-pad text of the same length: the pad embedding is the zero vector (its row is fixed
at zero), so this is the zero-embedding baseline, while the true length keeps every mask as it is. What is
attributed is the predicted class's margin — its logit minus the mean of the other logits — because that is
what the softmax turns into the predicted probability (for two classes it is the log-odds).

By completeness the token attributions sum to margin(text) − margin(baseline); the gap between the two, as a
share of that difference, says how well the steps approximated the path integral. Following Sundararajan et
al. (2017), who check exactly this and ask for a gap within 5 %, the steps start at 50 and double (up to 800)
while the gap is larger: ReLU and max-pool kinks make a few texts need more. A gap under 0.001 logits is left
alone even when the margin barely moved from the baseline and the share looks large.

Captum is imported when an explanation is asked for: importing it takes about a second (it brings IPython and
matplotlib), which every command and worker process would otherwise pay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from textclf.data.vocab import PAD

DEFAULT_STEPS = 50
MAX_STEPS = 800
TOLERANCE = 0.05
NEGLIGIBLE_GAP = 1e-3


@dataclass(frozen=True)
class Attribution:
    """Per-token attributions and how closely they add up to the margin difference."""

    tokens: np.ndarray
    margin: float
    baseline_margin: float
    gap: float
    steps: int

    @property
    def relative_gap(self) -> float:
        """|sum of attributions − margin difference| / |margin difference| (0 when both are 0)."""
        difference = abs(self.margin - self.baseline_margin)
        return self.gap / difference if difference > 0 else float(self.gap > 0)


def margin(logits: torch.Tensor, target: int) -> torch.Tensor:
    """The target's logit minus the mean of the other classes' logits, per row."""
    others = torch.cat([logits[:, :target], logits[:, target + 1:]], dim=1)
    return logits[:, target] - (others.mean(dim=1) if others.shape[1] else 0)


def embedding_layer(module: nn.Module) -> nn.Embedding:
    """The module's word embedding: its `embedding` attribute, else its first nn.Embedding."""
    layer = getattr(module, "embedding", None)
    if isinstance(layer, nn.Embedding):
        return layer
    return next(m for m in module.modules() if isinstance(m, nn.Embedding))


def integrated_gradients(module: nn.Module, ids: torch.Tensor, lengths: torch.Tensor, target: int,
                         n_steps: int = DEFAULT_STEPS, tolerance: float | None = TOLERANCE,
                         baseline: torch.Tensor | None = None) -> Attribution:
    """Attributions of one text (`ids` of shape [1, length]) to the `target` class's margin.

    With a `tolerance`, the steps double until the completeness gap is within it (or MAX_STEPS is reached).
    `baseline` is the text integrated from (default all pad; a pretrained encoder keeps its CLS and SEP pieces,
    which then get no attribution).
    """
    module.eval()

    def forward(batch_ids: torch.Tensor, batch_lengths: torch.Tensor) -> torch.Tensor:
        return margin(module(batch_ids, batch_lengths), target)

    baseline = torch.full_like(ids, PAD) if baseline is None else baseline
    with torch.no_grad():
        value, base = float(forward(ids, lengths)[0]), float(forward(baseline, lengths)[0])
    from captum.attr import LayerIntegratedGradients

    explainer = LayerIntegratedGradients(forward, embedding_layer(module))
    while True:
        with torch.backends.cudnn.flags(enabled=False):
            attributions, delta = explainer.attribute(
                ids, baselines=baseline, additional_forward_args=(lengths,), n_steps=n_steps,
                internal_batch_size=DEFAULT_STEPS, return_convergence_delta=True)
        result = Attribution(tokens=attributions.sum(dim=-1)[0].detach().cpu().numpy().astype(float), margin=value,
                             baseline_margin=base, gap=abs(float(delta[0])), steps=n_steps)
        converged = result.relative_gap <= tolerance or result.gap < NEGLIGIBLE_GAP if tolerance else True
        if converged or n_steps * 2 > MAX_STEPS:
            return result
        n_steps *= 2


def sum_by_word(position_weights: np.ndarray, words: list[int | None], count: int) -> np.ndarray:
    """Per-word attributions from per-position ones (`words[i]`: position i's word, None for a special piece):
    a word split into several pieces gets their sum, so the words' total is still the attributions' total."""
    weights = np.zeros(count)
    for position, word in enumerate(words):
        if word is not None and word < count:
            weights[word] += position_weights[position]
    return weights
