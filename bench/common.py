"""What the bench scripts share: the repo on the import path, the shared data sets, training lengths.

Every script prepares a data set exactly as `python -m textclf compare` does (same split, tokenizer,
vocabulary and truncation), so the figures describe what the product trains on.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
ALL_DATASETS = ("mr", "sms_spam", "ag_news_test", "waimai_10k")
sys.path.insert(0, str(REPO))

from textclf.data.reading import load_dataset  # noqa: E402
from textclf.data.vocab import EncodedTexts, Vocabulary, encode  # noqa: E402
from textclf.models import create  # noqa: E402
from textclf.runs.config import CompareConfig  # noqa: E402
from textclf.runs.prepare import Prepared, prepare  # noqa: E402


def dataset_path(name: str) -> Path:
    """../shared/datasets/NAME.csv, or exit with a clear message when it is not there."""
    path = DATASETS / f"{name}.csv"
    if not path.is_file():
        sys.exit(f"error: {path} not found. The bench scripts read the public data sets from "
                 f"{DATASETS} (a folder named shared/datasets beside the repo).")
    return path


def prepared(name: str, config: CompareConfig | None = None) -> Prepared:
    """Split and tokens of a shared data set, as `compare` makes them with `config` (defaults otherwise)."""
    return prepare(load_dataset(dataset_path(name)), config or CompareConfig())


Parts = dict[str, tuple[EncodedTexts, list[str]]]


def encoded_parts(data: Prepared, model_key: str = "cnn") -> tuple[Vocabulary, Parts]:
    """The vocabulary fitted on the training part with the model's own defaults (`min_freq`, `max_vocab`), as
    its `fit` would, and every part encoded once with it (truncated at `data.max_len`), with its labels."""
    defaults = create(model_key).get_params()
    vocab = Vocabulary.fit(data.part("train")[0], min_freq=defaults["min_freq"], max_size=defaults["max_vocab"])
    parts = {}
    for part in ("train", "validation", "test"):
        tokens, labels = data.part(part)
        parts[part] = encode(tokens, vocab, data.max_len), [str(v) for v in labels]
    return vocab, parts


def sample_rows(dataset, rows: int | None, seed: int = 0):
    """A random sample of `rows` rows (every row when None or more than there are), keeping the order."""
    import random
    from dataclasses import replace

    if not rows or rows >= len(dataset):
        return dataset
    keep = sorted(random.Random(seed).sample(range(len(dataset)), rows))
    return replace(dataset, texts=[dataset.texts[i] for i in keep], labels=[dataset.labels[i] for i in keep],
                   split=[dataset.split[i] for i in keep] if dataset.split else None)
