"""Hierarchical attention network: sentence segmentation, two-level batching and waste, padding invariance in
every embedding mode, the estimator, its attention weights, and bundles of the new models."""

import numpy as np
import pytest
import torch

from textclf.data.documents import encode_documents, split_sentences, split_tokens
from textclf.data.embeddings import EMBEDDINGS, WordEmbedding
from textclf.data.vocab import Vocabulary
from textclf.models import create
from textclf.models.han import HAN
from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig
from textclf.storage.bundle import bundle_bytes, load_bundle
from textclf.training.batching import (
    DocumentBucketed,
    DocumentMaxLength,
    document_level_stats,
    padding_stats,
)
from textclf.training.strategies import make_document_strategy

VOCAB, CLASSES, DIM = 40, 3, 8
SENTENCES_PER_DOC = [1, 3, 2, 7, 1, 4, 2, 5, 1]


def test_sentences_split_at_end_marks_and_line_breaks_in_english_and_chinese():
    assert split_sentences("Profits rose 2.5% to $1.1bn. Shares fell!\nA headline\n\nWhy? \"Yes.\" Done") == [
        "Profits rose 2.5% to $1.1bn.", "Shares fell!", "A headline", "Why?", "\"Yes.\"", "Done"]
    assert split_sentences("质量很好。物流快！还会买吗？会\n第二段") == [
        "质量很好。", "物流快！", "还会买吗？", "会", "第二段"]
    assert split_sentences("  \n ") == []
    assert split_tokens(["good", "film", ".", "bad", "end", "!", "tail"]) == [
        ["good", "film", "."], ["bad", "end", "!"], ["tail"]]


def random_documents():
    rng = np.random.default_rng(0)
    docs = [[list(rng.integers(2, VOCAB, rng.integers(1, 12))) for _ in range(n)] for n in SENTENCES_PER_DOC]
    return encode_documents(docs, Vocabulary([]), max_len=10_000)


def han_logits(module, data, strategy, generator=None):
    out = torch.empty(len(data), CLASSES)
    for batch in strategy.plan(data.lengths, generator):
        out[batch.index] = module(*data.batch(batch.index, batch.padded_length))
    return out


@pytest.mark.parametrize("mode", EMBEDDINGS)
def test_han_output_does_not_depend_on_padding_at_either_level(mode):
    torch.manual_seed(0)
    vectors = None if mode == "rand" else np.random.default_rng(1).normal(size=(VOCAB, DIM)).astype(np.float32)
    module = HAN(VOCAB, CLASSES, DIM, hidden=5, embedding=WordEmbedding(VOCAB, DIM, mode, vectors)).eval()
    data = random_documents()
    with torch.no_grad():
        alone = han_logits(module, data, DocumentBucketed(1))
        max_length = han_logits(module, data, DocumentMaxLength(4))
        bucketed = han_logits(module, data, DocumentBucketed(3), torch.Generator().manual_seed(2))
    torch.testing.assert_close(max_length, alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(bucketed, alone, atol=1e-5, rtol=0)


def han_gradients(module, data, strategy) -> dict[str, torch.Tensor]:
    module.zero_grad()
    for batch in strategy.plan(data.lengths):
        module(*data.batch(batch.index, batch.padded_length)).logsumexp(dim=1).sum().backward()
    return {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}


def test_han_training_gradients_do_not_depend_on_padding_either():
    """Pad sentences (length 0) in a max-length batch must not reach the gradients: a NaN there (an all-masked
    attention row) once made every max-length HAN run train on NaN while its outputs looked right."""
    torch.manual_seed(0)
    module = HAN(VOCAB, CLASSES, DIM, hidden=5, dropout=0.0).train()
    data = random_documents()
    alone = han_gradients(module, data, DocumentBucketed(1))
    max_length = han_gradients(module, data, DocumentMaxLength(4))
    assert all(torch.isfinite(g).all() for g in max_length.values())
    for name, gradient in alone.items():
        torch.testing.assert_close(max_length[name], gradient, atol=1e-5, rtol=1e-4, msg=name)


def test_two_level_stats_count_word_and_sentence_slots():
    docs = [[["a"] * 1, ["a"] * 4], [["a"] * 2]]
    data = encode_documents(docs, Vocabulary(["a"]), max_len=100)
    plan = DocumentMaxLength(2).plan(data.lengths)
    words, sentences = document_level_stats(plan, data.lengths)
    assert (words.real_tokens, words.padded_slots) == (7, 2 * 2 * 4)
    assert (sentences.real_tokens, sentences.padded_slots) == (3, 4)
    assert padding_stats(plan, data.lengths).waste == pytest.approx(1 - 10 / 20)
    bucketed = DocumentBucketed(2).plan(data.lengths)
    words, sentences = document_level_stats(bucketed, data.lengths)
    assert words.padded_slots == 2 * 4 + 1 * 1, "real sentences only, longest first, in blocks of 2 rows"


def test_every_document_strategy_visits_each_document_once_and_bucketing_groups_sentence_counts():
    data = random_documents()
    for name in ("max_length", "per_batch", "bucket"):
        plan = make_document_strategy(name, 2).plan(data.lengths, torch.Generator().manual_seed(0))
        assert sorted(torch.cat([b.index for b in plan]).tolist()) == list(range(len(data)))
    plan = make_document_strategy("bucket", 3).plan(data.lengths)
    counts = [sorted(data.lengths.n_sentences[b.index.numpy()].tolist()) for b in plan]
    assert sorted(counts) == [[1, 1, 1], [2, 2, 3], [4, 5, 7]]


def test_truncation_keeps_the_first_tokens_across_sentences():
    data = encode_documents([[["a", "b", "c"], ["d", "e"], ["f"]]], Vocabulary(list("abcdef")), max_len=4)
    assert data.lengths.sentence_lengths.tolist() == [3, 1]


TEXTS = ["A great film. Loved it!\nWould watch again", "Boring plot. Bad acting.", "很好看。推荐！", "难看。浪费时间",
         "Fine cast. Great story. Good end.", "Awful. Just awful."] * 5
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg"] * 5


@pytest.mark.parametrize("key", ["han", "rcnn", "clstm", "cnn:embedding=multichannel"])
def test_new_models_train_predict_and_round_trip_through_bundles(key):
    name, *option = key.split(":")
    params = dict(o.split("=") for o in option)
    model = create(name, embed_dim=8, epochs=2, batch_size=4, min_freq=1, **params)
    model.fit(TEXTS, LABELS)
    bundle = load_bundle(bundle_bytes(model))
    probe = TEXTS[:6] + ["", "unseen words only", "。。。"]
    np.testing.assert_allclose(bundle.predict_proba(probe), model.predict_proba(probe), rtol=0, atol=1e-6)
    assert set(bundle.predict(probe)) <= {"pos", "neg"}


def test_han_attention_weights_are_plain_data_that_sum_to_one():
    model = create("han", embed_dim=8, hidden=4, epochs=1, min_freq=1, max_len=6).fit(TEXTS, LABELS)
    first, empty = model.attention([TEXTS[0], ""])
    assert first["sentences"] == [["a", "great", "film", "."], ["loved", "it"]], "truncated at max_len tokens"
    assert sum(first["sentence_weights"]) == pytest.approx(1)
    assert [len(w) for w in first["word_weights"]] == [4, 2]
    assert all(sum(w) == pytest.approx(1) for w in first["word_weights"])
    assert empty["sentences"] == [["<unk>"]] and empty["sentence_weights"] == [pytest.approx(1)]


def test_han_in_a_comparison_reads_raw_text_so_line_breaks_split_sentences(small_demo):
    config = CompareConfig(models=("han:embed_dim=8:hidden=4",), batchings=("max_length", "bucket"), epochs=1,
                           batch_size=32)
    table = compare(small_demo, config).table
    assert list(table["model"]) == ["HAN", "HAN"]
    waste = dict(zip(table["batching"], table["padding_waste"], strict=True))
    assert waste["bucket"] < waste["max_length"]
