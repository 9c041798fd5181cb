"""How each strategy's runs were computed, where it can change their time: the recurrent implementation (dense or
packed batches, recorded per run as `dense_batches` / `packed_batches`) and the numeric precision (`precision`)."""

from __future__ import annotations

import pandas as pd

from textclf.runs.config import cell_name

FP32 = "fp32"


def implementation_sentence(table: pd.DataFrame) -> str | None:
    """'Recurrent batches: BiLSTM · max-length packed (all 240), BiLSTM · bucketed dense (all 240).' — said
    whenever a recurrent model ran, since dense and packed batches differ in speed, not in results."""
    if not {"dense_batches", "packed_batches"} <= set(table.columns):
        return None
    recurrent = table[table["dense_batches"].notna() | table["packed_batches"].notna()]
    if recurrent.empty:
        return None
    parts = []
    for (model, batching), rows in recurrent.groupby(["model", "batching"], sort=False):
        dense, packed = int(rows["dense_batches"].fillna(0).sum()), int(rows["packed_batches"].fillna(0).sum())
        parts.append(f"{cell_name(model, batching)} {_split(dense, packed)}")
    return ("Recurrent models ran each training batch dense (padded, one computation per batch) or packed (step "
            f"by step over the real tokens): {'; '.join(parts)}.")


def _split(dense: int, packed: int) -> str:
    total = dense + packed
    if not total:
        return "no batches recorded"
    if not packed:
        return f"dense (all {total:,} batches)"
    if not dense:
        return f"packed (all {total:,} batches)"
    return f"dense {dense:,} and packed {packed:,} of {total:,} batches"


def precision_sentence(table: pd.DataFrame) -> str | None:
    """Which precision the neural runs trained in, said when it varies or is not plain fp32."""
    if "precision" not in table or table["precision"].isna().all():
        return None
    recorded = table[table["precision"].notna()]
    used = list(dict.fromkeys(recorded["precision"].astype(str)))
    if used == [FP32]:
        return None
    groups = [f"{precision} for {_cells(rows)}"
              for precision, rows in recorded.groupby(recorded["precision"].astype(str), sort=False)]
    return ("Training precision (bf16 = mixed precision, weights kept in fp32): " + "; ".join(groups) + "."
            if len(used) > 1 else f"Training precision: {used[0]} for every neural run (weights kept in fp32).")


def _cells(rows: pd.DataFrame) -> str:
    return ", ".join(dict.fromkeys(cell_name(m, b) for m, b in zip(rows["model"], rows["batching"], strict=True)))
