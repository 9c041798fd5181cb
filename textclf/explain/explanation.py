"""Why a model decided: one plain-data `Explanation` for every model family, and `explain(model, text)`.

Each model family brings its own explanations (`TextClassifier.explainers`): TextCNN its winning n-grams, a
BiRNN with attention its attention weights, the SVM its features' value × coefficient, kNN its nearest
training texts, and every neural model integrated gradients (`textclf.explain.attribution`). They all answer in the
same shape: one weight per token the model read, positive where the token pushed towards the predicted class,
plus method-specific details (n-grams, features, neighbours) as lists of dicts, so the CLI prints them, the
dashboard draws them (`textclf.explain.highlight`) and a notebook reads them without knowing which model spoke.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from textclf.errors import TextclfError

METHOD_TITLES = {
    "ngrams": "winning n-grams (max-pool × output weight)",
    "attention": "attention weights",
    "integrated_gradients": "integrated gradients",
    "features": "feature value × SVM coefficient",
    "neighbours": "nearest training texts",
    "occlusion": "word occlusion (probability lost without the word)",
}
NOTHING_TO_EXPLAIN = "The text has no words to explain: type or paste a sentence."
PREVIEW_TOKENS = 8


@dataclass
class Explanation:
    """One model's reasons for one text, as plain data (JSON-ready through `as_dict`).

    `weights` has one entry per token of `tokens`: the token's share of the push towards `predicted`
    (negative: against it), or None for tokens the model never read because the text was truncated.
    """

    model: str
    method: str
    predicted: str
    probability: float | None
    tokens: list[str]
    weights: list[float | None]
    unknown: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return METHOD_TITLES.get(self.method, self.method.replace("_", " "))

    @property
    def read(self) -> int:
        """How many tokens (from the start) the model read."""
        return sum(w is not None for w in self.weights)

    def top_tokens(self, k: int = 3) -> list[int]:
        """Positions of the `k` tokens read with the highest weights (the strongest push towards the prediction)."""
        read = [i for i, w in enumerate(self.weights) if w is not None]
        return sorted(read, key=lambda i: -self.weights[i])[:k]

    def as_dict(self) -> dict:
        return {**asdict(self), "title": self.title}


def explain(model, text: str, method: str | None = None) -> Explanation:
    """Why `model` (an estimator or a loaded bundle) labels `text` as it does; `method` picks one of its ways."""
    estimator = getattr(model, "estimator", model)
    if not hasattr(estimator, "explain"):
        raise TextclfError(f"{type(estimator).__name__} is not a textclf model, so it cannot explain itself.")
    return estimator.explain(text, method)


def methods(model) -> list[str]:
    """The explanation methods a model (or bundle) offers, its own first."""
    return list(getattr(model, "estimator", model).explainers())


def reading_notes(tokens: Sequence[str], read: int, unknown: Sequence[int], joiner: str,
                  unknown_effect: str = "it reads each as one unknown word") -> list[str]:
    """Sentences saying what the model could not see: the cut tail of a long text, words it never learnt."""
    notes = []
    if read < len(tokens):
        cut = list(tokens[read:])
        preview = joiner.join(cut[:PREVIEW_TOKENS]) + (" …" if len(cut) > PREVIEW_TOKENS else "")
        notes.append(f"The model reads only the first {read} tokens; the last {len(cut)} of {len(tokens)} were "
                     f"cut and played no part: “{preview}”.")
    if unknown:
        words = sorted({tokens[i] for i in unknown})
        shown = ", ".join(words[:PREVIEW_TOKENS]) + (" …" if len(words) > PREVIEW_TOKENS else "")
        notes.append(f"{len(unknown)} of {read} tokens are not in the model's vocabulary (it never saw them in "
                     f"training) and {unknown_effect}: {shown}.")
    return notes


def refuse_all_unknown(model_name: str, tokens: Sequence[str], known: int) -> None:
    """An explanation of a text the model knows none of would only describe its bias: say so instead."""
    if not tokens:
        raise TextclfError(NOTHING_TO_EXPLAIN)
    if known == 0:
        raise TextclfError(f"{model_name} knows none of the words in this text (none appeared in its training "
                           "data), so its answer is only its prior and no word can be credited. Try a text in "
                           "the language and vocabulary it was trained on.")


def spread(weights: np.ndarray, start: int, stop: int, amount: float) -> None:
    """Share `amount` equally among the tokens start..stop-1 (an n-gram's credit goes to its words)."""
    if stop > start:
        weights[start:stop] += amount / (stop - start)


def ngram_positions(ngram: Sequence[str], tokens: Sequence[str]) -> list[int]:
    """Start positions where the token sequence `ngram` occurs in `tokens`."""
    n = len(ngram)
    first = ngram[0] if n else None
    return [i for i in range(len(tokens) - n + 1) if tokens[i] == first and list(tokens[i:i + n]) == list(ngram)]


def feature_token_weights(tokens: Sequence[str], names: Sequence[str], contributions: Sequence[float]) -> np.ndarray:
    """Token weights from word n-gram features named like 'not good': each occurrence shares its credit.

    A feature whose name is no sequence of the text's tokens (a character n-gram, say) keeps its place in
    the feature table but colours no word. A 'prefix__' from a feature union is tried without the prefix.
    """
    weights = np.zeros(len(tokens))
    for name, amount in zip(names, contributions, strict=True):
        for candidate in _name_variants(name):
            starts = ngram_positions(candidate.split(" "), tokens)
            if starts:
                for start in starts:
                    spread(weights, start, start + len(candidate.split(" ")), amount / len(starts))
                break
    return weights


def _name_variants(name: str) -> list[str]:
    prefix, sep, rest = name.partition("__")
    return [name, rest] if sep and rest else [name]


def joiner_for(tokenizer: str) -> str:
    """How to glue tokens back into readable text: Chinese words and characters take no spaces."""
    return "" if tokenizer in ("jieba", "chars") else " "
