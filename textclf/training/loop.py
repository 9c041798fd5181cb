"""The training loop shared by every neural model: optimiser, early stopping, seeds, progress and cancel.

Batches come from a batching strategy's plan as slices of a once-encoded id matrix; everything the loop
learns about padding is recorded per epoch, because that is what the product compares.

Early stopping never stops a model that is still improving: an epoch counts as progress when validation
accuracy rises *or* validation loss falls (by at least `MIN_LOSS_DROP` below its lowest), and only `patience`
epochs in a row without either end training — or a fifth of the epoch of the last progress, rounded up, when
that is more: a model that still made progress at epoch 15 converges slowly (long documents, few steps an
epoch) and gets 3 epochs, one at epoch 4 gets 2.
The weights kept are those of the epoch with the best validation accuracy (ties: the lower loss).

Precision `bf16` runs every forward pass (training and evaluation) under `torch.autocast` in bfloat16, where the
chip computes it natively; weights, gradients and optimiser state stay fp32 and losses are computed in fp32.
`fp32` runs no autocast at all, so its results are the same bits as before the option existed.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import nn

from textclf.data.vocab import EncodedTexts
from textclf.errors import TextclfError
from textclf.training.batching import Strategy, evaluation_strategy, padding_stats
from textclf.training.progress import BatchDone, Cancelled, EpochDone, EpochRecord, ProgressCallback, StopCheck
from textclf.training.timing import Stopwatch

# oneDNN (torch's CPU convolution and LSTM kernels) keeps a compiled kernel for every input shape it has seen,
# up to 1,024. Length-bucketed batches have a shape per padded length, so on a real data set the cache held
# about 0.5 GB of kernels that are rarely reused; rebuilding one costs little next to the batch it runs
# (BENCHMARKS.md, "Memory per worker"). Read when the first kernel is built, so set here, before any is;
# a value the user set wins.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "0")

OPTIMIZERS = ("adam", "adadelta")
PRECISIONS = ("auto", "bf16", "fp32")
AUTO_PRECISION, BF16, FP32 = "auto", "bf16", "fp32"
# CPU features with bfloat16 arithmetic (dot products), not only conversion: AVX512-BF16 (Cooper Lake, Zen 4 and
# later) and AMX-BF16 (Sapphire Rapids). oneDNN's own check (torch.ops.mkldnn._is_mkldnn_bf16_supported) also says
# yes on plain AVX-512, where bf16 is emulated and no faster than fp32.
NATIVE_BF16_FEATURES = ("avx512_bf16", "amx_bf16")


class TrainingDiverged(TextclfError):
    """The loss stopped being a finite number: the run is reported failed with this reason (the comparison's
    other runs go on), rather than training on to chance and being ranked beside them."""


@dataclass(frozen=True)
class TrainSettings:
    """`epochs` is a cap (early stopping usually ends sooner); `clip_norm` bounds the gradient's global L2 norm
    (None: no clipping)."""

    epochs: int = 30
    lr: float = 1e-3
    patience: int = 2
    seed: int = 0
    optimizer: str = "adam"
    clip_norm: float | None = 5.0
    max_slots: int | None = None  # token slots per forward and backward pass; a larger batch accumulates chunks
    precision: str = FP32  # a resolved precision: bf16 or fp32 (see resolve_precision)
    # A family's own optimiser and learning-rate schedule (the fine-tuned encoder's AdamW with warm-up and decay):
    # module → (optimiser, scheduler stepped after every update, or None). None: `make_optimizer`, constant rate.
    optimizer_factory: Callable[[nn.Module], tuple[torch.optim.Optimizer, object | None]] | None = None


# The wait grows to 1/5 of the epoch of the last progress: on bbc_news (36 steps an epoch) patience 2 cut a
# TextCNN still improving at epochs 15-25 short (-1.05 points against patience 5, 3 splits); on MR, CR, MPQA
# and waimai_10k no run made progress after epoch 10, so they stop exactly as with patience 2 (BENCHMARKS.md).
LATE_PROGRESS_DIVISOR = 5
# Validation loss counts as progress only when it falls this far (nats a text) below its lowest so far. A model
# at 100 % validation accuracy keeps shaving 1e-4 off its loss every epoch and would otherwise train to the cap
# (the demo's BiLSTM: 30 epochs, 15 with this, the same accuracy); on the recorded runs it changed only
# bbc_news' TextCNN (16 % of its epochs cut instead of 9 %, accuracy the same) (BENCHMARKS.md, "No wasted epochs").
MIN_LOSS_DROP = 1e-3


def wait_after(last_progress: float, patience: int) -> int:
    """Epochs without progress that end a run whose last progress came at epoch `last_progress`: `patience`,
    or more when that progress came late (a slowly converging model is not cut short)."""
    return max(patience, math.ceil(last_progress / LATE_PROGRESS_DIVISOR))


class EarlyStopping:
    """Tracks the best epoch (highest validation accuracy, ties to the lower loss) and whether to stop: after
    `patience` epochs in a row in which accuracy did not rise and loss did not fall by `MIN_LOSS_DROP` below its
    lowest, or more when the last progress came late (`LATE_PROGRESS_DIVISOR`)."""

    def __init__(self, patience: int, min_loss_drop: float = MIN_LOSS_DROP):
        self.patience, self.min_loss_drop = patience, min_loss_drop
        self.best = (-1.0, float("-inf"))
        self.lowest_loss = float("inf")
        self.epochs_seen = 0
        self.last_progress = 0

    def update(self, accuracy: float, loss: float) -> bool:
        """Record one epoch; True when it is the new best (its weights should be kept)."""
        is_best = (accuracy, -loss) > self.best
        progressed = accuracy > self.best[0] or loss < self.lowest_loss - self.min_loss_drop
        self.best = max(self.best, (accuracy, -loss))
        self.lowest_loss = min(self.lowest_loss, loss)
        self.epochs_seen += 1
        if progressed:
            self.last_progress = self.epochs_seen
        return is_best

    @property
    def epochs_without_progress(self) -> int:
        return self.epochs_seen - self.last_progress

    @property
    def wait(self) -> int:
        """Epochs without progress that end training now."""
        return wait_after(self.last_progress, self.patience)

    @property
    def should_stop(self) -> bool:
        return self.epochs_without_progress >= self.wait


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


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}.")
    return precision


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes in bfloat16 natively: CUDA as torch reports it, a CPU by its instruction set."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    capabilities = torch.cpu.get_capabilities()
    return any(capabilities.get(feature, False) for feature in NATIVE_BF16_FEATURES)


def resolve_precision(precision: str, device: torch.device) -> str:
    """bf16 or fp32: `auto` is bf16 where the device computes it natively, else fp32."""
    if check_precision(precision) == AUTO_PRECISION:
        return BF16 if native_bf16(device) else FP32
    return precision


def autocast(device, precision: str):
    """The context a forward pass runs in: bfloat16 autocast for bf16, nothing at all for fp32."""
    if precision == BF16:
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def make_optimizer(module: nn.Module, lr: float, name: str = "adam") -> torch.optim.Optimizer:
    """Adam (or Adadelta, Kim 2014's choice, with his rho 0.95 and eps 1e-6), fused where torch supports it.

    Adam uses torch's fused kernel where it supports the parameters (float tensors on CPU or CUDA).
    The embedding table is most of the parameters and Adam updates all of it every step, so the step costs
    the same however short the batch is; the unfused CPU step (several passes over every parameter) took
    nearly as long as a bucketed batch's forward and backward together and ate much of bucketing's gain.
    """
    parameters = list(module.parameters())
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {name!r}.")
    if name == "adadelta":
        return torch.optim.Adadelta(parameters, lr=lr, rho=0.95, eps=1e-6, foreach=True)
    try:
        return torch.optim.Adam(parameters, lr=lr, fused=True)
    except RuntimeError:
        return torch.optim.Adam(parameters, lr=lr)


def train_module(module: nn.Module, train: EncodedTexts, y_train: torch.Tensor, val: EncodedTexts,
                 y_val: torch.Tensor, strategy: Strategy, settings: TrainSettings, *,
                 device: torch.device, progress: ProgressCallback | None = None,
                 should_stop: StopCheck | None = None) -> list[EpochRecord]:
    """Train with early stopping on validation accuracy and loss; the best epoch's weights are restored.

    With no validation texts (a refit for a known number of epochs) every epoch is trained and the last kept."""
    generator = torch.Generator().manual_seed(settings.seed)
    optimizer, scheduler = (settings.optimizer_factory(module) if settings.optimizer_factory
                            else (make_optimizer(module, settings.lr, settings.optimizer), None))
    step = partial(_step, module, optimizer, settings.clip_norm, scheduler=scheduler)
    backward = partial(accumulate_gradients, module, loss_fn=nn.CrossEntropyLoss(), device=device,
                       max_slots=settings.max_slots, precision=settings.precision)
    history: list[EpochRecord] = []
    stopping, best_state = EarlyStopping(settings.patience), None
    evaluation = evaluation_strategy()
    val_slots = padding_stats(evaluation.plan(val.lengths), val.lengths).padded_slots if len(val) else 0
    for epoch in range(1, settings.epochs + 1):
        with Stopwatch() as training:
            plan = strategy.plan(train.lengths, generator)
            on_batch = partial(_report, progress, epoch, settings.epochs, len(plan))
            loss = _train_epoch(module, train, y_train, plan, step, backward, on_batch, should_stop)
        with Stopwatch() as validating:
            accuracy, val_loss = (_evaluate(module, val, y_val, evaluation, device, settings.precision) if len(val)
                                  else (np.nan, np.nan))
        stats = padding_stats(plan, train.lengths)
        history.append(EpochRecord(
            epoch=epoch, train_loss=loss, val_accuracy=accuracy, val_loss=val_loss, seconds=training.wall,
            cpu_seconds=training.cpu, val_seconds=validating.wall, val_padded_slots=val_slots, steps=len(plan),
            examples=len(train), real_tokens=stats.real_tokens,
            padded_slots=stats.padded_slots, padding_waste=stats.waste, batch_shapes=stats.shapes,
        ))
        if len(val) and stopping.update(accuracy, val_loss):
            best_state = copy.deepcopy(module.state_dict())
        if progress:
            progress(EpochDone(record=history[-1], epochs=settings.epochs))
        if stopping.should_stop:
            break
    if best_state is not None:
        module.load_state_dict(best_state)
    return history


def _report(progress: ProgressCallback | None, epoch: int, epochs: int, batches: int, batch: int,
            loss: float) -> None:
    if progress:
        progress(BatchDone(epoch=epoch, epochs=epochs, batch=batch, batches=batches, loss=loss))


def _step(module: nn.Module, optimizer: torch.optim.Optimizer, clip_norm: float | None,
          backward: Callable[[], float], *, scheduler=None) -> float:
    """One update: the batch's gradient (`backward` returns its loss), optional global-norm clipping, the
    optimiser's step, then the module's own weight constraints (TextCNN's max-norm on its output layer)."""
    optimizer.zero_grad()
    loss = backward()
    if not math.isfinite(loss):
        raise TrainingDiverged(f"Training diverged: the loss became {loss} (a learning rate too high for this "
                               "model, or weights that overflowed); try a lower lr.")
    if clip_norm:
        nn.utils.clip_grad_norm_(module.parameters(), clip_norm)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    if hasattr(module, "apply_constraints"):
        module.apply_constraints()
    return loss


def accumulate_gradients(module: nn.Module, data, labels: torch.Tensor, batch, *, loss_fn, device,
                         max_slots: int | None = None, precision: str = FP32) -> float:
    """Backpropagate one batch's mean loss and return it; with `max_slots`, in chunks of rows of at most that
    many token slots, each chunk's loss weighted by its share of the rows, so the summed gradient is the whole
    batch's (up to rounding) while a forward pass holds at most `max_slots` slots of activations. The forward
    pass runs in `precision`, the loss in fp32."""
    rows = len(batch.index)
    per_chunk = rows
    if max_slots and isinstance(batch.padded_length, int):
        per_chunk = max(1, max_slots // batch.padded_length)
    total = 0.0
    for chunk in torch.split(batch.index, per_chunk):
        ids, lengths = data.batch(chunk, batch.padded_length)
        with autocast(device, precision):
            logits = module(ids.to(device), lengths)
        loss = loss_fn(logits.float(), labels[chunk].to(device))
        if len(chunk) < rows:
            loss = loss * (len(chunk) / rows)
        loss.backward()
        total += loss.item()
    return total


def _train_epoch(module, data, labels, plan, step, backward, on_batch, should_stop) -> float:
    module.train()
    total, seen = 0.0, 0
    for number, batch in enumerate(plan, start=1):
        if should_stop and should_stop():
            raise Cancelled("training was cancelled")
        value = step(partial(backward, data, labels, batch))
        total += value * len(batch.index)
        seen += len(batch.index)
        on_batch(number, value)
    return total / max(seen, 1)


@torch.no_grad()
def predict_logits(module: nn.Module, data: EncodedTexts, strategy: Strategy, device: torch.device,
                   precision: str = FP32) -> torch.Tensor:
    """Logits (fp32) for every row of `data`, in its order, batched the way `strategy` batches (unshuffled),
    computed in `precision`.

    Callers pass `evaluation_strategy()`; padding never changes the output, only the cost.
    """
    module.eval()
    out = None
    for batch in strategy.plan(data.lengths):
        ids, lengths = data.batch(batch.index, batch.padded_length)
        with autocast(device, precision):
            logits = module(ids.to(device), lengths)
        logits = logits.float().cpu()
        if out is None:
            out = torch.empty(len(data), logits.shape[1])
        out[batch.index] = logits
    return out


def _evaluate(module, data: EncodedTexts, labels: torch.Tensor, strategy: Strategy, device,
              precision: str = FP32) -> tuple[float, float]:
    """Accuracy and mean cross-entropy on `data`; labels unseen in training (-1) count as errors."""
    if len(data) == 0:
        return 0.0, 0.0
    logits = predict_logits(module, data, strategy, device, precision)
    accuracy = float((logits.argmax(dim=1) == labels).float().mean())
    known = labels >= 0
    loss = float(nn.functional.cross_entropy(logits[known], labels[known])) if known.any() else 0.0
    return accuracy, loss
