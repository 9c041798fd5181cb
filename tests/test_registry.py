"""A new model family and a new batching strategy plug in through the registries alone.

The toy family (word votes, trained in one go, stored as JSON) and the toy strategy (longest texts first, no
document level) are registered here, run through a comparison, the time-left plan and a bundle round trip, and
forgotten again after each test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.utils.validation import check_is_fitted

from textclf.errors import TextclfError
from textclf.models import get_model_class, model_keys, model_titles, models_help, register, unregister
from textclf.models.base import TextClassifier
from textclf.results import charts
from textclf.results.report import readable_table
from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig, expected_cost, plan_runs
from textclf.runs.eta import planned_slots
from textclf.runs.prepare import prepare
from textclf.storage.bundle import load_bundle, save_bundle
from textclf.training.batching import Strategy
from textclf.training.strategies import (
    BatchingStrategy,
    batching_label,
    get_strategy,
    register_strategy,
    strategy_names,
    unregister_strategy,
)

TINY_CNN = "cnn:embed_dim=8:filters=4:min_freq=1"


class WordVotes(TextClassifier):
    """Each training word votes for the classes of the texts it was seen in, its one vote shared in proportion."""

    key = "toy_votes"
    title = "Word votes"
    summary = "each word votes for the classes it was seen with"
    order = 50
    bundle_kind = "json"

    def fit(self, docs, labels, **ignored):
        self._start_fit(docs)
        y = self._encode_labels(labels)
        votes: dict[str, list[int]] = {}
        for tokens, label in zip(self._tokens(docs), y, strict=True):
            for token in set(tokens):
                votes.setdefault(token, [0] * len(self.classes_))[label] += 1
        self.votes_ = votes
        self.history_ = []
        return self

    def predict_proba(self, docs) -> np.ndarray:
        check_is_fitted(self)
        scores = np.full((len(docs), len(self.classes_)), 1e-3)
        for row, tokens in enumerate(self._tokens(docs)):
            for token in tokens:
                counts = np.asarray(self.votes_.get(token, [0]), dtype=float)
                scores[row] += counts / max(counts.sum(), 1)
        return scores / scores.sum(axis=1, keepdims=True)

    def bundle_state(self) -> dict:
        return {"votes": self.votes_}

    def restore_state(self, state: dict) -> None:
        self.votes_ = {str(token): [int(v) for v in counts] for token, counts in state["votes"].items()}


class LongestFirst(Strategy):
    """Texts in decreasing length, cut into batches (each padded to its first, longest text)."""

    name = "longest_first"

    def _groups(self, lengths, generator):
        return list(torch.split(torch.argsort(lengths, descending=True, stable=True), self.batch_size))


@pytest.fixture
def toys():
    """The toy family and strategy, registered for one test only."""
    register(WordVotes)
    register_strategy(BatchingStrategy("longest_first", "longest-first", "#2ca02c", 2, LongestFirst))
    yield
    unregister(WordVotes.key)
    unregister_strategy("longest_first")


def test_registered_toys_are_listed_everywhere_and_forgotten_after(toys):
    assert get_model_class("toy_votes") is WordVotes
    assert model_titles()["Word votes"] == "toy_votes" and "Word votes: each word votes" in models_help()
    assert "longest_first" in strategy_names() and batching_label("longest_first") == "longest-first"
    assert charts.BATCHING_COLOURS["longest_first"] == "#2ca02c"
    unregister(WordVotes.key)
    unregister_strategy("longest_first")
    assert "toy_votes" not in model_keys() and "longest_first" not in strategy_names()
    with pytest.raises(TextclfError, match="Unknown batching longest_first"):
        CompareConfig(models=("svm",), batchings=("longest_first",))


def test_toys_run_through_a_comparison_the_plan_and_bundles(toys, small_demo, tmp_path):
    config = CompareConfig(models=("toy_votes", TINY_CNN), batchings=("longest_first", "bucket"), epochs=2,
                           patience=5, batch_size=16)
    runs = plan_runs(config)
    assert [(r.model.key, r.batching) for r in runs] == [
        ("toy_votes", "none"), ("cnn", "longest_first"), ("cnn", "bucket")]
    assert expected_cost(runs[1]) == 2 * expected_cost(runs[2])
    planned = planned_slots(prepare(small_demo, config), config, runs)
    comparison = compare(small_demo, config, keep_models=True)
    records = {(r.record["model_key"], r.record["batching"]): r for r in comparison.runs}
    toy, cnn = records[("toy_votes", "none")], records[("cnn", "longest_first")]
    assert toy.record["accuracy"] > 1 / len(small_demo.classes) and not toy.history
    assert planned == [0, cnn.record["padded_slots"], records[("cnn", "bucket")].record["padded_slots"]]
    assert "longest-first" in set(readable_table(comparison.table)["Batching"])
    for name, result in (("toy", toy), ("cnn", cnn)):
        bundle = load_bundle(save_bundle(result.estimator, tmp_path / f"{name}.textclf"))
        texts = small_demo.texts[:20]
        assert np.allclose(bundle.predict_proba(texts), result.estimator.predict_proba(texts))
    assert load_bundle(tmp_path / "cnn.textclf").estimator.build_strategy().name == "longest_first"


def test_a_strategy_without_a_document_level_is_refused_by_the_document_model_only(toys, small_demo):
    assert get_strategy("longest_first").documents is None
    config = CompareConfig(models=("han:embed_dim=8:hidden=4",), batchings=("longest_first",), epochs=1)
    assert planned_slots(prepare(small_demo, config), config, plan_runs(config)) == [0]
    with pytest.raises(TextclfError, match="no document level"):
        compare(small_demo, config)
