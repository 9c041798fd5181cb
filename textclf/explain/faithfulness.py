"""Is an explanation faithful? The deletion test: remove the tokens it credits most and watch the probability.

For each text, the predicted class's probability is measured three times: on the text as the model reads it,
without the `k` tokens the explanation weighs highest, and without `k` tokens drawn at random. A faithful
explanation's deletions lower the probability more than random ones, on average over many texts. Texts the
model cannot explain (no known word) or with no more than `k` tokens read are skipped and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from textclf.data.tokenize import Tokenizer
from textclf.errors import TextclfError

DELETED = 3


@dataclass(frozen=True)
class DeletionResult:
    """Mean drop in the predicted class's probability after removing the top-k and k random tokens."""

    model: str
    method: str
    texts: int
    skipped: int
    top_drop: float
    random_drop: float
    completeness_gap_max: float | None = None
    completeness_gap_median: float | None = None
    worst_gaps: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def deletion_test(model, texts: Sequence[str], method: str | None = None, *, k: int = DELETED,
                  seed: int = 0, limit: int | None = None) -> DeletionResult:
    """Run the deletion test of `model`'s `method` (default: its own) on `texts`, or on their first `limit`
    usable ones."""
    rng = np.random.default_rng(seed)
    tokenizer = Tokenizer(model.tokenizer_)
    method = method or next(iter(model.explainers()))
    originals, top_removed, random_removed, targets, gaps = [], [], [], [], []
    skipped = 0
    for text in texts:
        if limit is not None and len(originals) >= limit:
            break
        tokens = tokenizer(text)
        try:
            explanation = model.explain(tokens, method)
        except TextclfError:
            skipped += 1
            continue
        read = explanation.read
        if read <= k:
            skipped += 1
            continue
        tokens = tokens[:read]
        originals.append(tokens)
        top_removed.append(_without(tokens, explanation.top_tokens(k)))
        random_removed.append(_without(tokens, rng.choice(read, size=k, replace=False)))
        targets.append(list(model.classes_).index(explanation.predicted))
        if "completeness_gap" in explanation.details:
            gaps.append(_gap(explanation.details))
    if not originals:
        raise TextclfError(f"None of the {len(texts)} texts could be used: each needs more than {k} known tokens.")
    base, top, random = (_probabilities(model, docs, targets) for docs in (originals, top_removed, random_removed))
    return DeletionResult(
        model=model.display_name, method=method, texts=len(originals), skipped=skipped,
        top_drop=float(np.mean(base - top)), random_drop=float(np.mean(base - random)),
        completeness_gap_max=max(g["gap"] for g in gaps) if gaps else None,
        completeness_gap_median=float(np.median([g["gap"] for g in gaps])) if gaps else None,
        worst_gaps=sorted(gaps, key=lambda g: -g["gap"])[:3],
    )


def _gap(details: dict) -> dict:
    return {"gap": details["completeness_gap"], "steps": details["steps"],
            "margin_change": details["margin"] - details["baseline_margin"]}


def _without(tokens: list[str], positions) -> list[str]:
    removed = {int(p) for p in positions}
    return [token for i, token in enumerate(tokens) if i not in removed]


def _probabilities(model, docs: list[list[str]], targets: list[int]) -> np.ndarray:
    """The probability of each text's target class (empty token lists are read as one unknown word)."""
    probabilities = model.predict_proba(docs)
    return probabilities[np.arange(len(docs)), targets]
