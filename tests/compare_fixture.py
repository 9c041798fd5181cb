"""A stored comparison for the browser tests of Compare: the four model families on both batchings, trained in
seconds on generated tweet-like data (three imbalanced classes), written to a store the way a job writes it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from textclf.data.reading import load_dataset
from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig
from textclf.storage.store import Store

SMALL_MODELS = ("cnn:embed_dim=16:filters=8", "rnn:embed_dim=16:hidden=8", "svm", "knn:k=3")
CONFIG = CompareConfig(models=SMALL_MODELS, batchings=("max_length", "bucket"), seeds=(0, 1), epochs=5,
                       batch_size=32)


def varied_csv(rows: int, seed: int = 0) -> bytes:
    """Tweet-like rows (62/22/16 % classes, a cue word per class, 10 % noise) of 3 to 60 words, so that bucketing
    has padding to save."""
    from tests.test_app_compare import CUES, SHARES

    rng = np.random.default_rng(seed)
    classes, filler = list(CUES), [f"w{i}" for i in range(200)]
    lines = ["text,label"]
    for _ in range(rows):
        label = rng.choice(classes, p=SHARES)
        cue = rng.choice(CUES[label] if rng.random() > 0.1 else CUES[rng.choice(classes)])
        words = [*rng.choice(filler, int(rng.integers(2, 58))), cue]
        lines.append(" ".join(rng.permutation(words)) + f",{label}")
    return ("\n".join(lines) + "\n").encode()


def stored_comparison(home: Path, rows: int = 1000, config: CompareConfig = CONFIG) -> int:
    """Train `config` on `rows` generated rows and store it in the store at `home`; the experiment's id."""
    dataset = load_dataset(io.BytesIO(varied_csv(rows)), name="tweets")
    return store_finished(Store(home), dataset, compare(dataset, config))


def store_finished(store: Store, dataset, comparison) -> int:
    """Write a finished comparison the way a job does (created, started, prepared, each run, done); its id."""
    experiment_id = store.create_experiment(dataset, comparison.config)
    store.start_experiment(experiment_id)
    store.record_prepared(experiment_id, comparison)
    for position, result in enumerate(comparison.runs, start=1):
        store.add_run(experiment_id, position, f"run {position}", result)
    store.finish_experiment(experiment_id, "done")
    return experiment_id


if __name__ == "__main__":
    import sys

    print(stored_comparison(Path(sys.argv[1])))
