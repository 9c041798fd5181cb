"""An experiment's settings as people read them (History shows one table per experiment): what was trained, how
long, on which split, and the defaults spelt out where a setting was left to each model."""

from __future__ import annotations

from textclf.runs.config import AUTO, CompareConfig
from textclf.training.strategies import batching_label

OWN_DEFAULT = "each model's own"


def settings_table(config: CompareConfig) -> dict[str, str]:
    """Setting name → its value in words, in the order people ask about them."""
    rows = {
        "Models": ", ".join(spec.label for spec in config.models),
        "Batchings": ", ".join(batching_label(name) for name in config.batchings),
        "Epoch cap": _or_own(config.epochs) + (" (quick look: under-trained on purpose)" if config.quick_look else ""),
        "Patience": _or_own(config.patience),
        "Batch size": _or_own(config.batch_size),
        "Learning rate": _or_own(config.lr),
        "Seeds": ", ".join(str(seed) for seed in config.seeds),
        "Evaluation": _evaluation(config),
        "Truncation": ("auto (99th percentile of training lengths)" if config.max_len == AUTO
                       else f"{config.max_len} tokens"),
        "Tokenizer": config.tokenizer,
        "Buckets": f"{config.n_buckets}, padded to the {config.pad_to}",
        "Refit on training + validation": "yes" if config.refit else "no",
        "Device": config.device,
    }
    precision = getattr(config, "precision", None)  # recorded by newer configs only
    if precision is not None:
        rows["Precision"] = str(precision)
    return rows


def _or_own(value) -> str:
    return OWN_DEFAULT if value is None else str(value)


def _evaluation(config: CompareConfig) -> str:
    if config.cv:
        return f"{config.cv}-fold cross-validation (fold seed {config.split_seed}, validation {config.validation:.0%})"
    return (f"one split: validation {config.validation:.0%}, test {config.test:.0%} "
            f"(split seed {config.split_seed})")
