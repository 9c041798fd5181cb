"""The training loop shared by every neural model: Adam, early stopping, seeds, progress and cancel.

Batches come from a batching strategy's plan as slices of a once-encoded id matrix; everything the loop
learns about padding is recorded per epoch, because that is what the product compares.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np
import torch
from torch import nn

from textclf.batching import Strategy, evaluation_strategy, padding_stats
from textclf.timing import Stopwatch
from textclf.vocab import EncodedTexts

ProgressCallback = Callable[[dict], None]
StopCheck = Callable[[], bool]


class Cancelled(Exception):
    """Raised between batches when the caller asked to stop."""


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: `seconds` (wall) and `cpu_seconds` are training only, validation is timed apart.

    Validation always uses the evaluation batching, so `val_seconds` and `val_padded_slots` do not depend on
    the strategy under test.
    """

    epoch: int
    train_loss: float
    val_accuracy: float
    seconds: float
    cpu_seconds: float
    val_seconds: float
    val_padded_slots: int
    steps: int
    examples: int
    real_tokens: int
    padded_slots: int
    padding_waste: float
    batch_shapes: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 10
    lr: float = 1e-3
    patience: int = 3
    seed: int = 0


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so that a run is repeatable."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device: str = "auto") -> torch.device:
    """CUDA when present and asked for (or 'auto'), else the CPU; never required."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def make_optimizer(module: nn.Module, lr: float) -> torch.optim.Adam:
    """Adam, with torch's fused kernel where it supports the parameters (float tensors on CPU or CUDA).

    The embedding table is most of the parameters and Adam updates all of it every step, so the step costs
    the same however short the batch is; the unfused CPU step (several passes over every parameter) took
    nearly as long as a bucketed batch's forward and backward together and ate much of bucketing's gain.
    """
    parameters = list(module.parameters())
    try:
        return torch.optim.Adam(parameters, lr=lr, fused=True)
    except RuntimeError:
        return torch.optim.Adam(parameters, lr=lr)


def train_module(module: nn.Module, train: EncodedTexts, y_train: torch.Tensor, val: EncodedTexts,
                 y_val: torch.Tensor, strategy: Strategy, settings: TrainSettings, *,
                 device: torch.device, progress: ProgressCallback | None = None,
                 should_stop: StopCheck | None = None) -> list[EpochRecord]:
    """Train with early stopping on validation accuracy; the best epoch's weights are restored."""
    generator = torch.Generator().manual_seed(settings.seed)
    optimizer = make_optimizer(module, settings.lr)
    loss_fn = nn.CrossEntropyLoss()
    history: list[EpochRecord] = []
    best_accuracy, best_state, since_best = -1.0, None, 0
    evaluation = evaluation_strategy()
    val_slots = padding_stats(evaluation.plan(val.lengths), val.lengths).padded_slots if len(val) else 0
    for epoch in range(1, settings.epochs + 1):
        with Stopwatch() as training:
            plan = strategy.plan(train.lengths, generator)
            on_batch = partial(_report, progress, epoch, settings.epochs, len(plan))
            loss = _train_epoch(module, train, y_train, plan, optimizer, loss_fn, device, on_batch, should_stop)
        with Stopwatch() as validating:
            accuracy = _accuracy(module, val, y_val, evaluation, device)
        stats = padding_stats(plan, train.lengths)
        history.append(EpochRecord(
            epoch=epoch, train_loss=loss, val_accuracy=accuracy, seconds=training.wall, cpu_seconds=training.cpu,
            val_seconds=validating.wall, val_padded_slots=val_slots, steps=len(plan), examples=len(train),
            real_tokens=stats.real_tokens,
            padded_slots=stats.padded_slots, padding_waste=stats.waste, batch_shapes=stats.shapes,
        ))
        if accuracy > best_accuracy:
            best_accuracy, best_state, since_best = accuracy, copy.deepcopy(module.state_dict()), 0
        else:
            since_best += 1
        if progress:
            progress({"event": "epoch", **history[-1].as_dict(), "epochs": settings.epochs})
        if since_best >= settings.patience:
            break
    module.load_state_dict(best_state)
    return history


def _report(progress: ProgressCallback | None, epoch: int, epochs: int, batches: int, batch: int,
            loss: float) -> None:
    if progress:
        progress({"event": "batch", "epoch": epoch, "epochs": epochs, "batch": batch, "batches": batches,
                  "loss": loss})


def _train_epoch(module, data, labels, plan, optimizer, loss_fn, device, on_batch, should_stop) -> float:
    module.train()
    total, seen = 0.0, 0
    for number, batch in enumerate(plan, start=1):
        if should_stop and should_stop():
            raise Cancelled("training was cancelled")
        ids, lengths = data.batch(batch.index, batch.padded_length)
        optimizer.zero_grad()
        loss = loss_fn(module(ids.to(device), lengths), labels[batch.index].to(device))
        loss.backward()
        optimizer.step()
        value = loss.item()
        total += value * len(batch.index)
        seen += len(batch.index)
        on_batch(number, value)
    return total / max(seen, 1)


@torch.no_grad()
def predict_logits(module: nn.Module, data: EncodedTexts, strategy: Strategy, device: torch.device) -> torch.Tensor:
    """Logits for every row of `data`, in its order, batched the way `strategy` batches (unshuffled).

    Callers pass `evaluation_strategy()`; padding never changes the output, only the cost.
    """
    module.eval()
    out = None
    for batch in strategy.plan(data.lengths):
        ids, lengths = data.batch(batch.index, batch.padded_length)
        logits = module(ids.to(device), lengths).float().cpu()
        if out is None:
            out = torch.empty(len(data), logits.shape[1])
        out[batch.index] = logits
    return out


def _accuracy(module, data: EncodedTexts, labels: torch.Tensor, strategy: Strategy, device) -> float:
    if len(data) == 0:
        return 0.0
    predicted = predict_logits(module, data, strategy, device).argmax(dim=1)
    return float((predicted == labels).float().mean())
