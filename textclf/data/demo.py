"""A built-in, clearly synthetic demo dataset, so every command and the dashboard work before any upload.

Texts are delivery reviews stitched from neutral clauses, with a long-tailed (log-normal) length. The label
depends on two kinds of evidence, so the models differ for reasons the article discusses:
- local phrases with negation ("not bad" is praise, "not good" a complaint): single words are ambiguous,
  n-grams (a CNN filter, TF-IDF bigrams) resolve them;
- word order over a distance ("a problem ... solved" is `fixed`, "solved ... a problem" is `broke`): the
  same phrases in both, only their order differs, which an RNN can follow and a max-pooled CNN cannot.
"""

from __future__ import annotations

import csv
import io
import random

from textclf.data.reading import Dataset

DEMO_NAME = "demo (synthetic)"
NEUTRAL = [
    "the order came on a tuesday", "the box was blue", "my neighbour was at home", "the rider took the stairs",
    "we paid by card", "the receipt was in the bag", "it was raining outside", "the app showed a map",
    "there were two drinks", "the lid was paper", "i ordered for three people", "the street was busy",
    "the soup came in a tall cup", "my friend picked the place", "the price was as listed",
    "we ate in the kitchen", "the bag had a handle", "the rice was in a separate box", "it was lunch time",
    "the driver called once", "the menu had pictures", "i chose the large size", "we shared the noodles",
    "the building has a lift", "the note said thank you", "the napkins were extra", "the sauce was on the side",
    "it took the usual route", "the door bell works", "the courier wore a jacket",
]
PRAISE = ["not bad at all", "really good food", "would order again", "the taste was great",
          "no complaints from me", "not cold at all"]
COMPLAINT = ["not good at all", "really bad food", "would not order again", "the taste was awful",
             "many complaints from me", "cold and soggy"]
PROBLEM = ["there was a problem with the order", "a problem came up with the payment",
           "the order had a problem"]
SOLVED = ["support solved it quickly", "it was solved by the shop", "the shop solved it"]
CLASSES = ("praise", "complaint", "fixed", "broke")


def demo_dataset(rows: int = 2000, seed: int = 0) -> Dataset:
    """`rows` synthetic reviews, balanced over four classes, reproducible from `seed`."""
    rng = random.Random(seed)
    labels = [CLASSES[i % len(CLASSES)] for i in range(rows)]
    rng.shuffle(labels)
    texts = [_review(label, rng) for label in labels]
    return Dataset(texts=texts, labels=labels, name=DEMO_NAME, rows_read=rows)


def _review(label: str, rng: random.Random) -> str:
    clauses = [rng.choice(NEUTRAL) for _ in range(_clause_count(rng))]
    if label in ("praise", "complaint"):
        phrase = rng.choice(PRAISE if label == "praise" else COMPLAINT)
        clauses.insert(rng.randrange(len(clauses) + 1), phrase)
    else:
        first, second = rng.choice(PROBLEM), rng.choice(SOLVED)
        if label == "broke":
            first, second = second, first
        i = rng.randrange(len(clauses) + 1)
        j = rng.randrange(i, len(clauses) + 1)
        clauses.insert(j, second)
        clauses.insert(i, first)
    return ", ".join(clauses) + "."


def _clause_count(rng: random.Random) -> int:
    """Log-normal number of clauses: median about 3 (≈ 18 words), a long tail up to 60 (≈ 350 words)."""
    return max(1, min(60, round(rng.lognormvariate(1.1, 0.8))))


def demo_csv(rows: int = 2000, seed: int = 0) -> bytes:
    """The demo dataset as CSV bytes (`text,label`), for download or for the CSV reader."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["text", "label"])
    dataset = demo_dataset(rows, seed)
    writer.writerows(zip(dataset.texts, dataset.labels, strict=True))
    return buffer.getvalue().encode("utf-8")
