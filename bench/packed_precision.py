"""Why the packed recurrent path leaves bf16 autocast: one BiLSTM training step, dense and packed, fp32 and bf16.

    python bench/packed_precision.py

A BiLSTM 300 -> 128 x 2 (the BiRNN's default layer) reads 50 texts of 5-58 tokens in a 59-wide batch (an MR
max-length batch), forward and backward, 1 thread, the four ways interleaved, median of 5 process-CPU seconds:
the dense path in fp32 and under bf16 autocast (`run_dense`), the packed path as it runs now (`run_packed`,
which leaves autocast) and torch's packed LSTM called under bf16 autocast (what `run_packed` did before).
"""

from __future__ import annotations

import statistics
import time

import common  # noqa: F401  (puts the repo on the import path)
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from textclf.models.recurrent import run_dense, run_packed
from textclf.training.loop import autocast


def packed_under_autocast(rnn, inputs, lengths):
    outputs, final = rnn(pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False))
    return outputs.data, final[0]


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rnn = torch.nn.LSTM(300, 128, batch_first=True, bidirectional=True)
    lengths = torch.randint(5, 59, (50,))
    inputs = torch.randn(50, 59, 300, requires_grad=True)
    ways = {"dense fp32": (run_dense, "fp32"), "dense bf16": (run_dense, "bf16"),
            "packed (fp32, as run now)": (run_packed, "bf16"),
            "packed under bf16 autocast": (packed_under_autocast, "bf16")}
    seconds = {name: [] for name in ways}
    for _ in range(5):
        for name, (run, precision) in ways.items():
            started = time.process_time()
            with autocast("cpu", precision):
                outputs, last = run(rnn, inputs, lengths)
            (outputs.float().sum() + last.float().sum()).backward()
            seconds[name].append(time.process_time() - started)
    for name, times in seconds.items():
        print(f"{name:28s} {statistics.median(times):.3f} CPU s per step")


if __name__ == "__main__":
    main()
