"""One recurrent layer (LSTM or GRU, one or two directions) over right-padded texts, dense or packed, exactly alike.

Packed sequences skip finished texts step by step (Jia's option (b)), which torch's CPU kernels run
super-linearly slowly on long mixed lengths (pytorch/pytorch#149194). The dense formulation runs each direction
once over the whole padded batch: the forward direction reads it as it is (a zero-initialised RNN's outputs at
real positions never see the pads that follow), the backward direction reads every text reversed within its own
length (pads stay at the end) and its outputs are put back in order. Both give the same outputs at real
positions (zeros at pads) and the same final states, so which runs is only a speed choice, made per batch by
`impl` (see `prefers_packed`). Each direction runs with the layer's own weights, so saved state_dicts still load.

Under bf16 autocast the dense path computes in bf16 (about 1.4× faster), while the packed path runs in fp32: torch's
packed kernels under autocast were 1.4× slower than in fp32, not faster. `auto` weighs that in.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

IMPLS = ("auto", "dense", "packed")
DENSE, PACKED = "dense", "packed"

# `auto` runs a batch packed when (real tokens / slots) × (PACKED_COST + PACKED_COST_PER_STEP × longest) < 1:
# packing costs more per real token than a dense step per slot, and more the longer the batch, since each
# step's slice of the packed input back-propagates into a zero tensor of the whole input. Fitted to
# bench/rnn_impl.py's timings (BENCHMARKS.md, "Recurrent models: dense or packed").
PACKED_COST = 1.35
PACKED_COST_PER_STEP = 0.012
# A dense step's speed-up under bf16 autocast (the packed path stays fp32): bench/packed_precision.py's BiLSTM
# step took 0.127 s dense in fp32, 0.079 s dense in bf16, 0.114 s packed in fp32 and 0.174 s packed under
# autocast (BENCHMARKS.md, "bf16 mixed precision"); 1.4 rather than 1.6, to lean to packing when in doubt.
DENSE_BF16_SPEEDUP = 1.4


def check_impl(impl: str) -> str:
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {', '.join(IMPLS)}, not {impl!r}.")
    return impl


def prefers_packed(lengths: torch.Tensor, dense_speedup: float = 1.0) -> bool:
    """True when packing this batch should be faster than running it dense: a large share of padding and a
    short longest text (a max-length batch of short texts). `dense_speedup`: how much faster the dense path runs
    than in fp32 (bf16 autocast), while packing does not."""
    longest = int(lengths.max())
    filled = float(lengths.sum()) / (len(lengths) * longest)
    return filled * (PACKED_COST + PACKED_COST_PER_STEP * longest) * dense_speedup < 1.0


def in_bf16_autocast(device: torch.device) -> bool:
    return torch.is_autocast_enabled(device.type) and torch.get_autocast_dtype(device.type) == torch.bfloat16


@dataclass
class ImplCounts:
    """How many training passes through a recurrent layer ran dense and how many packed: one per batch, or per
    chunk of a batch trained in chunks; HAN counts its word-level blocks and its sentence level apart."""

    dense: int = 0
    packed: int = 0

    def add(self, impl: str) -> None:
        setattr(self, impl, getattr(self, impl) + 1)

    def as_details(self) -> dict:
        return {"dense_batches": self.dense, "packed_batches": self.packed}


def impl_label(params: dict) -> str:
    """'' for the default `auto`, else the forced implementation (labels must tell runs apart)."""
    impl = params.get("impl", "auto")
    return "" if impl == "auto" else impl


def impl_details(estimator) -> dict:
    """The fit's count of training passes run dense and packed, for the results record ({} when not fitted)."""
    module = getattr(estimator, "module_", None)
    return module.reader.counts.as_details() if module is not None else {}


class RecurrentReader:
    """Runs `rnn` (a one-layer, batch-first nn.LSTM or nn.GRU) over right-padded inputs in the chosen `impl`,
    counting the training passes that ran each way."""

    def __init__(self, impl: str = "auto"):
        self.impl = check_impl(impl)
        self.counts = ImplCounts()

    def choose(self, lengths: torch.Tensor, device: torch.device | None = None) -> str:
        if self.impl != "auto":
            return self.impl
        speedup = DENSE_BF16_SPEEDUP if in_bf16_autocast(device or lengths.device) else 1.0
        return PACKED if prefers_packed(lengths, speedup) else DENSE

    def __call__(self, rnn: nn.RNNBase, inputs: torch.Tensor,
                 lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(outputs [batch, width, directions × hidden], zeros at pads; last states [batch, directions × hidden]:
        the forward state after each text's last token, the backward state after reading back to its first).
        Rows of length 0 read one step, as packing requires."""
        lengths = lengths.clamp(min=1)
        impl = self.choose(lengths, inputs.device)
        if rnn.training and torch.is_grad_enabled():
            self.counts.add(impl)
        run = run_packed if impl == PACKED else run_dense
        return run(rnn, inputs, lengths)


def up_to_longest(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The batch without the pad columns past its longest text. No reader looks at them, but embedding them and
    pooling over them (forward and backward) cost a max-length batch of short texts about an eighth of its
    training step on waimai_10k; the packed layer of the first release never saw them either."""
    return ids[:, :int(lengths.max())]


def run_packed(rnn: nn.RNNBase, inputs: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.autocast(inputs.device.type, enabled=False):  # fp32: see the module's docstring
        packed = pack_padded_sequence(inputs.float(), lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, final = rnn(packed)
    outputs = pad_packed_sequence(outputs, batch_first=True, total_length=inputs.shape[1])[0]
    hidden = final[0] if isinstance(final, tuple) else final
    last = torch.cat([hidden[-2], hidden[-1]], dim=1) if rnn.bidirectional else hidden[-1]
    return outputs, last


def run_dense(rnn: nn.RNNBase, inputs: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    width = inputs.shape[1]
    lengths = lengths.to(inputs.device)
    inputs = inputs[:, :int(lengths.max())]
    ends = (lengths - 1)[:, None, None].expand(-1, 1, rnn.hidden_size)
    forward = one_direction(rnn, inputs, "")
    outputs, lasts = [forward], [forward.gather(1, ends)]
    if rnn.bidirectional:
        order = reversal(lengths, inputs.shape[1])
        backward = one_direction(rnn, within_length(inputs, order), "_reverse")
        outputs.append(within_length(backward, order))
        lasts.append(backward.gather(1, ends))
    mask = torch.arange(inputs.shape[1], device=inputs.device)[None, :] < lengths[:, None]
    joined = torch.cat(outputs, dim=2).masked_fill(~mask[..., None], 0.0)
    return F.pad(joined, (0, 0, 0, width - joined.shape[1])), torch.cat(lasts, dim=2).squeeze(1)


def reversal(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """Per row, the positions that reverse its first `length` entries and leave the pads after them in place
    (its own inverse)."""
    positions = torch.arange(width, device=lengths.device)[None, :]
    return torch.where(positions < lengths[:, None], lengths[:, None] - 1 - positions, positions)


def within_length(values: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    return values.gather(1, order[..., None].expand(-1, -1, values.shape[2]))


def one_direction(rnn: nn.RNNBase, inputs: torch.Tensor, suffix: str) -> torch.Tensor:
    """Outputs of one direction of layer 0 run forward over `inputs` with that direction's own weights, from a
    zero state: the same kernel nn.LSTM / nn.GRU call, given one direction's flat weights."""
    if rnn.num_layers != 1 or getattr(rnn, "proj_size", 0):
        raise ValueError("the dense recurrent formulation supports one layer without projection")
    weights = [getattr(rnn, name) for name in rnn._flat_weights_names if name.endswith(f"_l0{suffix}")]
    zeros = inputs.new_zeros(1, inputs.shape[0], rnn.hidden_size)
    if isinstance(rnn, nn.LSTM):
        return torch._VF.lstm(inputs, (zeros, zeros), weights, rnn.bias, 1, 0.0, rnn.training, False, True)[0]
    if isinstance(rnn, nn.GRU):
        return torch._VF.gru(inputs, zeros, weights, rnn.bias, 1, 0.0, rnn.training, False, True)[0]
    raise TypeError(f"dense recurrent layers are LSTM or GRU, not {type(rnn).__name__}")
