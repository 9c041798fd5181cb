"""A dataset profile: what a person should know about their data before training on it."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np

from textclf.data.reading import Dataset
from textclf.data.tokenchoice import TokenizerChoice, explain
from textclf.data.tokenize import detect_language, tokenize_all


@dataclass(frozen=True)
class Profile:
    rows: int
    classes: dict[str, int]
    language: str
    tokenizer: str
    length_mean: float
    length_median: float
    length_p95: float
    length_max: int
    vocabulary: int
    dropped: dict[str, int]
    tokenizer_reason: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        """The profile as short human-readable lines (CLI and page captions)."""
        classes = ", ".join(f"{name} {count}" for name, count in self.classes.items())
        return [
            f"rows: {self.rows}" + (f" ({_dropped_text(self.dropped)})" if self.dropped else ""),
            f"classes ({len(self.classes)}): {classes}",
            f"language: {self.language}; {self.tokenizer_reason or 'tokenizer: ' + self.tokenizer}",
            f"length in tokens: mean {self.length_mean:.1f}, median {self.length_median:.0f}, "
            f"p95 {self.length_p95:.0f}, max {self.length_max}",
            f"vocabulary: {self.vocabulary} distinct tokens",
        ]


def _dropped_text(dropped: dict[str, int]) -> str:
    return "dropped " + ", ".join(f"{n} {reason}" for reason, n in dropped.items())


def token_lengths(tokens: list[list[str]]) -> np.ndarray:
    return np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))


def profile_dataset(dataset: Dataset, tokenizer: str | TokenizerChoice = "auto",
                    tokens: list[list[str]] | None = None) -> Profile:
    """Describe `dataset`; pass `tokens` (and the `TokenizerChoice` that made them) when they are already
    computed, to avoid tokenizing twice."""
    choice = tokenizer if isinstance(tokenizer, TokenizerChoice) else explain(tokenizer, dataset.texts, dataset.labels)
    tokenizer = choice.name
    tokens = tokens if tokens is not None else tokenize_all(dataset.texts, tokenizer)
    lengths = token_lengths(tokens)
    counts = Counter(dataset.labels)
    return Profile(
        rows=len(dataset), classes=dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        language=detect_language(dataset.texts), tokenizer=tokenizer,
        length_mean=float(lengths.mean()), length_median=float(np.median(lengths)),
        length_p95=float(np.percentile(lengths, 95)), length_max=int(lengths.max()),
        vocabulary=len({tok for doc in tokens for tok in doc}), dropped=dict(dataset.dropped),
        tokenizer_reason=choice.reason,
    )
