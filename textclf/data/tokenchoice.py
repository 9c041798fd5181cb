"""Chinese tokenization chosen from the data: characters or jieba words, by a quick validated linear model.

Word segmentation can lose to plain characters (short, informal texts where jieba's errors cost more than
words gain; character bigrams and trigrams recover most words anyway), or win (longer, edited text). Rather
than guess, `choose_tokenizer` scores each candidate the way the SVM would use it (sublinear TF-IDF, 1–3-grams
of characters or 1–2-grams of words, LinearSVC) by 3-fold cross-validation on at most `SAMPLE` labelled
training texts, a few seconds, and keeps the better one; a tie goes to characters (no segmentation errors,
no dictionary). On the shared Chinese sets it picks characters, which is also what the full data prefer
(BENCHMARKS.md, "Chinese tokenization").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from textclf.data.tokenize import detect_language, identity, resolve, tokenize_all

CANDIDATES = {"chars": 3, "jieba": 2}
DEFAULT = "chars"
SAMPLE = 3000
FOLDS = 3


@dataclass(frozen=True)
class TokenizerChoice:
    """The tokenizer picked, why, and the cross-validated accuracy of each candidate (empty when not compared)."""

    name: str
    scores: dict[str, float]
    reason: str


def explain(name: str, texts: Sequence[str], labels: Sequence | None = None) -> TokenizerChoice:
    """The concrete tokenizer for a setting (`auto` or a name) and a sentence saying why, for profile and results."""
    if name != "auto":
        return TokenizerChoice(resolve(name), {}, f"tokenizer {name} (chosen in the settings)")
    if detect_language(texts) != "zh" or labels is None:
        chosen = resolve(name, texts)
        return TokenizerChoice(chosen, {}, f"tokenizer auto → {chosen}")
    return choose_tokenizer(texts, labels)


def choose_tokenizer(texts: Sequence[str], labels: Sequence, seed: int = 0) -> TokenizerChoice:
    """Characters or jieba words for these Chinese texts, whichever a quick linear model classifies better."""
    texts, labels = _sample(list(texts), np.asarray([str(v) for v in labels]), seed)
    _, counts = np.unique(labels, return_counts=True)
    if len(counts) < 2 or counts.min() < FOLDS:
        return TokenizerChoice(DEFAULT, {}, f"tokenizer auto → {DEFAULT} (too few labelled texts per class to "
                                            "compare candidates)")
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    scores = {name: float(cross_val_score(_quick_model(n), tokenize_all(texts, name), labels, cv=folds).mean())
              for name, n in CANDIDATES.items()}
    best = max(scores, key=lambda name: (round(scores[name], 3), name == DEFAULT))
    shown = " vs ".join(f"{name} {score:.3f}" for name, score in scores.items())
    return TokenizerChoice(best, scores, f"tokenizer auto → {best} (quick TF-IDF + linear SVM on {len(texts)} labelled "
                                         f"texts, {FOLDS}-fold accuracy {shown})")


def _quick_model(ngram_max: int):
    vectorizer = TfidfVectorizer(analyzer=identity, sublinear_tf=True, dtype=np.float32) if ngram_max == 1 else \
        TfidfVectorizer(tokenizer=identity, preprocessor=identity, lowercase=False, token_pattern=None,
                        ngram_range=(1, ngram_max), sublinear_tf=True, dtype=np.float32)
    return make_pipeline(vectorizer, LinearSVC())


def _sample(texts: list[str], labels: np.ndarray, seed: int) -> tuple[list[str], np.ndarray]:
    if len(texts) <= SAMPLE:
        return texts, labels
    keep = np.sort(np.random.default_rng(seed).choice(len(texts), SAMPLE, replace=False))
    return [texts[i] for i in keep], labels[keep]
