"""The three strategies the study compares, each with its document-level twin.

Max-length pads every batch to the longest text of the set; its cost factor (a rough guess, as the models'
relative costs are) puts its runs first when several workers share a comparison.
"""

from __future__ import annotations

from textclf.training.batching import (
    Bucketed,
    DocumentBucketed,
    DocumentMaxLength,
    DocumentPerBatch,
    MaxLength,
    PerBatch,
)
from textclf.training.strategies import BatchingStrategy, register_strategy

register_strategy(BatchingStrategy("max_length", "max-length", "#d62728", 3, MaxLength, DocumentMaxLength, order=1))
register_strategy(BatchingStrategy("per_batch", "per-batch", "#ff7f0e", 1, PerBatch, DocumentPerBatch, order=2))
register_strategy(BatchingStrategy("bucket", "bucketed", "#1f77b4", 1, Bucketed, DocumentBucketed, order=3))
