"""Tokenizers shared by every model.

The same tokenizer feeds the neural models and the TF-IDF of the classical ones, so that differences between
models are not differences in what counts as a word (scikit-learn's default pattern would keep a whole
Chinese clause as one token).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

TOKENIZERS = ("auto", "words", "jieba", "chars")
WORD_PATTERN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")
CJK_PATTERN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df]")
LETTER_PATTERN = re.compile(r"[^\W\d_]")
LANGUAGE_SAMPLE = 500


def detect_language(texts: Sequence[str]) -> str:
    """'zh' when most letters in a sample are CJK ideographs, else 'en' (any space-separated language)."""
    step = max(1, len(texts) // LANGUAGE_SAMPLE)
    sample = "".join(texts[::step])
    letters = len(LETTER_PATTERN.findall(sample))
    cjk = len(CJK_PATTERN.findall(sample))
    return "zh" if letters and cjk / letters > 0.5 else "en"


def resolve(name: str, texts: Sequence[str] = ()) -> str:
    """Turn 'auto' into a concrete tokenizer name by looking at the texts.

    Chinese gets characters, which `textclf.data.tokenchoice.choose_tokenizer` (a quick validated linear model
    that also sees the labels) picks on every shared Chinese set; a comparison asks that rule instead."""
    if name not in TOKENIZERS:
        raise ValueError(f"Unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZERS)}.")
    if name != "auto":
        return name
    return "chars" if detect_language(texts) == "zh" else "words"


class Tokenizer:
    """A named, picklable tokenizer: call it on a text (or on tokens, which pass through unchanged)."""

    def __init__(self, name: str = "words"):
        if name not in TOKENIZERS or name == "auto":
            raise ValueError(f"Tokenizer needs a concrete name, one of words, jieba, chars; got {name!r}.")
        self.name = name

    def __call__(self, text: str | Sequence[str]) -> list[str]:
        """A text's tokens; a token list is returned as it is (not copied: every run of a large data set would
        otherwise hold a second copy of its tokens), other sequences of tokens as a list."""
        if isinstance(text, list):
            return text
        if not isinstance(text, str):
            return list(text)
        return _SPLITTERS[self.name](text)

    def __repr__(self) -> str:
        return f"Tokenizer({self.name!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Tokenizer) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


def _words(text: str) -> list[str]:
    return WORD_PATTERN.findall(text.lower())


def _chars(text: str) -> list[str]:
    return [ch for ch in text.lower() if not ch.isspace()]


def _jieba(text: str) -> list[str]:
    return [tok for tok in _jieba_module().lcut(text.lower()) if not tok.isspace()]


@cache
def _jieba_module():
    """Load jieba's dictionary once per process (about 0.7 s), and quietly."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


_SPLITTERS = {"words": _words, "chars": _chars, "jieba": _jieba}


def tokenize_all(texts: Iterable[str], name: str) -> list[list[str]]:
    """Every text's tokens, each distinct token one shared string object.

    A tokenizer returns a new string for every occurrence; sharing them keeps the tokens of a large data set
    several times smaller in memory and when pickled for worker processes (pickle writes a shared object once).
    """
    tokenizer = Tokenizer(name)
    shared: dict[str, str] = {}
    return [[shared.setdefault(token, token) for token in tokenizer(text)] for text in texts]


def is_tokenized(docs: Sequence) -> bool:
    """True when `docs` is already a list of token lists rather than raw strings."""
    return len(docs) > 0 and not isinstance(docs[0], str)


def identity(doc):
    """A module-level no-op preprocessor, so that TF-IDF pipelines stay picklable."""
    return doc
