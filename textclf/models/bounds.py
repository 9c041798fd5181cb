"""One table of what each model setting may be: its type, its range or its allowed words.

Two places read settings from outside: `--models` options (textclf.runs.config.ModelSpec.parse) and a bundle's
manifest (textclf.storage.bundle_checks). Both check them here, so a value the command line refuses is one a
bundle may not declare either, and an out-of-range option (`dropout=2`, `lr=nan`, `filters=1e8`) is refused with
one clear sentence before anything trains or allocates, instead of a traceback mid-comparison. The ranges follow
from the lab's scale: far above any setting worth comparing, far below what would exhaust a laptop.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from textclf.data.embeddings import EMBEDDINGS, MAX_EMBED_DIM
from textclf.data.tokenize import TOKENIZERS
from textclf.training.batching import PAD_TO
from textclf.training.loop import OPTIMIZERS, PRECISIONS
from textclf.training.strategies import strategy_names

MAX_WORDS = 100  # the longest free word setting (e.g. a vectors file's name) a bundle or option may carry
MAX_PATH = 4096
MAX_LIST = 32
# Six times the lab's default vocabulary; a bundle's token list is held to it too, so that the words (about 90 MB
# a million) and the largest weights a bundle may hold stay within 300 MB together.
MAX_VOCABULARY = 300_000
GENERIC_INT = (-1_000_000_000, 1_000_000_000)
DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d{1,3})?")


@dataclass(frozen=True)
class Bound:
    """`kind` int, float, str or bool; numbers within `low`..`high`; words among `choices` (a tuple or a function
    giving one, for registries that grow); `also` lists literal values accepted besides (None, 'auto')."""

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple | Callable[[], tuple] | None = None
    also: tuple = ()
    is_list: bool = False
    max_chars: int = MAX_WORDS
    pattern: re.Pattern | None = None

    def allowed_words(self) -> tuple:
        return self.choices() if callable(self.choices) else self.choices or ()


def _int(low: int, high: int, *also) -> Bound:
    return Bound(int, low, high, also=also)


def _float(low: float, high: float, *also) -> Bound:
    return Bound(float, low, high, also=also)


def _words(choices, *also) -> Bound:
    return Bound(str, choices=choices, also=also)


BOUNDS: dict[str, Bound] = {
    "embed_dim": _int(1, MAX_EMBED_DIM), "hidden": _int(1, 4096), "latent": _int(1, 4096),
    "filters": _int(1, 4096), "kernel_size": _int(1, 64), "kernel_sizes": Bound(int, 1, 64, is_list=True),
    "max_len": _int(1, 1_000_000), "max_vocab": _int(2, MAX_VOCABULARY), "min_freq": _int(1, 1_000_000),
    "n_buckets": _int(1, 4096), "batch_size": _int(1, 1_000_000), "epochs": _int(0, 10_000),
    "patience": _int(0, 10_000), "k": _int(1, 1_000_000, "auto"), "ngram_max": _int(1, 16, None),
    "min_df": _int(0, 1_000_000), "seed": _int(0, 2**63 - 1),
    "dropout": _float(0.0, 0.95), "C": _float(1e-6, 1e6), "lr": _float(1e-8, 100.0, None),
    "clip_norm": _float(1e-6, 1e6, None), "max_norm": _float(1e-6, 1e6, None),
    "optimizer": _words(OPTIMIZERS, None), "precision": _words(PRECISIONS), "batching": _words(strategy_names),
    "pad_to": _words(PAD_TO), "cell": _words(("lstm", "gru")), "pooling": _words(("mean", "max", "last", "attention")),
    "impl": _words(("auto", "dense", "packed")), "embedding": _words(EMBEDDINGS), "tokenizer": _words(TOKENIZERS),
    "weights": _words(("distance", "uniform")), "device": Bound(str, pattern=DEVICE_PATTERN),
    "vectors": Bound(str, max_chars=MAX_PATH), "path": Bound(str, max_chars=MAX_PATH),
    "warmup": _float(0.0, 1.0), "weight_decay": _float(0.0, 1.0),
    "wide": Bound(bool), "bidirectional": Bound(bool), "sublinear_tf": Bound(bool), "nb": Bound(bool),
}


def setting_problem(name: str, value) -> str | None:
    """What is wrong with `value` for the setting `name` ('is outside 0.0..0.95'), or None when it is fine.
    A setting missing from the table (a new family's) gets the generic checks: a bounded number or short word."""
    bound = BOUNDS.get(name)
    if bound is None:
        return _generic_problem(value)
    if value in bound.also:
        return None
    if bound.is_list:
        return _list_problem(bound, value)
    return _scalar_problem(bound, value)


def bound_text(name: str) -> str:
    """The bound in words, for a message: '0.0..0.95', 'one of adam, adadelta'."""
    bound = BOUNDS.get(name)
    if bound is None:
        return f"a number within {GENERIC_INT[0]:,}..{GENERIC_INT[1]:,} or a word of at most {MAX_WORDS} characters"
    if bound.kind is bool:
        return "true or false"
    if bound.kind is str:
        words = [*bound.allowed_words(), *(w for w in bound.also if w is not None)]
        if words:
            return "one of " + ", ".join(words)
        return f"a {'device name' if bound.pattern else 'word'} of at most {bound.max_chars} characters"
    kind = "whole number" if bound.kind is int else "number"
    extra = "".join(f" or {w}" for w in bound.also if w is not None)
    if bound.is_list:
        return f"a list (written a/b/c) of 1 to {MAX_LIST} {kind}s within {bound.low}..{bound.high}"
    return f"a {kind} within {bound.low}..{bound.high}{extra}"


def _list_problem(bound: Bound, value) -> str | None:
    values = list(value) if isinstance(value, list | tuple) else [value]
    if not 1 <= len(values) <= MAX_LIST:
        return f"must hold between 1 and {MAX_LIST} values"
    if any(isinstance(v, list | tuple | dict) for v in values):
        return "must be a flat list of numbers or words"
    return next(filter(None, (_scalar_problem(bound, v) for v in values)), None)


def _scalar_problem(bound: Bound, value) -> str | None:
    if bound.kind is bool:
        return None if isinstance(value, bool) else "is not true or false"
    if bound.kind is str:
        return _word_problem(bound, value)
    return _number_problem(bound, value)


def _word_problem(bound: Bound, value) -> str | None:
    if not isinstance(value, str):
        return "is not a word"
    if len(value) > bound.max_chars:
        return "is too long"
    words = bound.allowed_words()
    if words and value not in words:
        return "is not an allowed value"
    if bound.pattern and not bound.pattern.fullmatch(value):
        return "is not a device name"
    return None


def _number_problem(bound: Bound, value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "is not a number"
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number"
    if bound.kind is int and not isinstance(value, int):
        return "is not a whole number"
    return None if bound.low <= value <= bound.high else f"is outside {bound.low}..{bound.high}"


def _generic_problem(value) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return None if len(value) <= MAX_WORDS else "is too long"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return "is not a finite number"
        return None if GENERIC_INT[0] <= value <= GENERIC_INT[1] else f"is outside {GENERIC_INT[0]}..{GENERIC_INT[1]}"
    return "is not a number or a word"
