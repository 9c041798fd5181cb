"""Embedding modes and word vectors: padding invariance in every mode, word2vec on the training split only,
vectors files in the word2vec and GloVe formats, and clear errors for bad files."""

import struct

import numpy as np
import pytest
import torch

from tests.test_models import CLASSES, VOCAB, assert_padding_invariant, random_texts
from textclf.data.embeddings import (
    EMBEDDING_INIT_RANGE,
    EMBEDDINGS,
    WordEmbedding,
    embedding_matrix,
    load_vectors,
    train_word2vec,
)
from textclf.data.vocab import PAD, Vocabulary
from textclf.errors import TextclfError
from textclf.models import create, model_keys
from textclf.models.birnn import BiRNN
from textclf.models.clstm import CLSTM
from textclf.models.rcnn import RCNN
from textclf.models.textcnn import TextCNN
from textclf.runs.config import CompareConfig
from textclf.training.batching import MaxLength

DIM = 8
TEXTS = ["a good film", "a bad film", "good acting and a good plot", "bad acting , bad plot", "good", "bad"] * 4
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg"] * 4


def embedding(mode: str) -> WordEmbedding:
    vectors = None if mode == "rand" else np.random.default_rng(0).normal(size=(VOCAB, DIM)).astype(np.float32)
    return WordEmbedding(VOCAB, DIM, mode, vectors)


MODULES = {
    "cnn": lambda e: TextCNN(VOCAB, CLASSES, DIM, kernel_sizes=(2, 3), filters=6, embedding=e),
    "cnn-narrow": lambda e: TextCNN(VOCAB, CLASSES, DIM, kernel_sizes=(2, 3), filters=6, embedding=e, wide=False),
    "rnn": lambda e: BiRNN(VOCAB, CLASSES, DIM, hidden=6, pooling="attention", embedding=e),
    "rcnn": lambda e: RCNN(VOCAB, CLASSES, DIM, hidden=6, latent=7, embedding=e),
    "clstm": lambda e: CLSTM(VOCAB, CLASSES, DIM, filters=6, hidden=5, embedding=e),
}


@pytest.mark.parametrize("mode", EMBEDDINGS)
@pytest.mark.parametrize("model", sorted(MODULES))
def test_every_model_and_embedding_mode_is_padding_invariant(model, mode):
    torch.manual_seed(0)
    assert_padding_invariant(MODULES[model](embedding(mode)))


@pytest.mark.parametrize("model", sorted(MODULES))
def test_training_gradients_do_not_depend_on_padding(model):
    """Outputs alone are not enough: a pad position that reaches the backward pass (a NaN times 0) would spoil
    every max-length run's training while the padding-invariance test of outputs still passed."""
    torch.manual_seed(0)
    module = MODULES[model](embedding("non-static")).train()
    for layer in module.modules():
        if isinstance(layer, torch.nn.Dropout):
            layer.p = 0.0
    data = random_texts()

    def gradients(batches) -> dict[str, torch.Tensor]:
        module.zero_grad()
        for index, width in batches:
            module(*data.batch(index, width)).logsumexp(dim=1).sum().backward()
        return {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}

    alone = gradients((torch.tensor([i]), int(data.lengths[i])) for i in range(len(data)))
    padded = gradients((b.index, b.padded_length + 20) for b in MaxLength(5).plan(data.lengths))
    for name, gradient in alone.items():
        torch.testing.assert_close(padded[name], gradient, atol=1e-5, rtol=1e-4, msg=name)


def test_modes_freeze_and_tune_the_right_tables():
    vectors = np.random.default_rng(0).normal(size=(VOCAB, DIM)).astype(np.float32)
    static, non_static, multi = (WordEmbedding(VOCAB, DIM, m, vectors) for m in ("static", "non-static",
                                                                                     "multichannel"))
    assert not static.weight.requires_grad and non_static.weight.requires_grad
    assert multi.weight.requires_grad and not multi.static.requires_grad and multi.output_dim == 2 * DIM
    ids = torch.tensor([[3, 4, PAD]])
    out = multi(ids)
    torch.testing.assert_close(out[0, 0, :DIM], torch.from_numpy(vectors[3]))
    torch.testing.assert_close(out[0, 0, DIM:], torch.from_numpy(vectors[3]))
    assert out[0, 2].abs().sum() == 0, "the pad row is zero in both channels"


def test_multichannel_training_moves_only_the_tuned_copy():
    model = create("cnn", embedding="multichannel", embed_dim=DIM, filters=4, epochs=2, min_freq=1, lr=0.05)
    model.fit(TEXTS, LABELS)
    table = model.module_.embedding
    assert not torch.equal(table.weight, table.static), "fine-tuning should have moved the tuned copy"
    assert model.fit_details()["vector_vocabulary_coverage"] == 1.0


def test_corpus_word2vec_sees_only_the_training_texts_and_is_repeatable():
    tokens = [t.split() for t in TEXTS]
    first, second = train_word2vec(tokens, DIM, seed=3), train_word2vec(tokens, DIM, seed=3)
    np.testing.assert_array_equal(first["good"], second["good"])
    model = create("cnn", embedding="static", embed_dim=DIM, filters=4, epochs=1, min_freq=1)
    model.fit(TEXTS, LABELS, validation=(["an unseen word"], ["pos"]))
    assert "unseen" not in model.vocab_.stoi


def write_glove(path, rows: dict[str, list[float]]) -> None:
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in rows.items()), encoding="utf-8")


GLOVE = {"good": [0.5, 0.1, 0.0, 0.2], "bad": [-0.5, 0.1, 0.3, 0.0], "film": [0.1, 0.1, 0.1, 0.1],
         "好": [0.2, 0.2, -0.1, 0.0]}


def test_a_glove_file_is_used_and_coverage_reported(tmp_path):
    path = tmp_path / "tiny.glove.txt"
    write_glove(path, GLOVE)
    model = create("cnn", embedding="non-static", vectors=str(path), embed_dim=4, filters=4, epochs=1, min_freq=1)
    model.fit(TEXTS, LABELS)
    assert model.module_.embedding.weight.shape[1] == 4
    known = model.vocab_.stoi["bad"]
    assert model.fit_details()["vector_vocabulary_coverage"] == pytest.approx(3 / (len(model.vocab_) - 2))
    assert 0 < model.fit_details()["vector_token_coverage"] < 1
    assert "non-static tiny.glove" in type(model).label(model.get_params())
    fresh = create("cnn", embedding="static", vectors=str(path), embed_dim=4, filters=4, epochs=1, min_freq=1)
    fresh.fit(TEXTS, LABELS)
    np.testing.assert_allclose(fresh.module_.embedding.weight[known].detach().numpy(), GLOVE["bad"], rtol=1e-6)


def test_word2vec_text_and_binary_files_and_chinese_words(tmp_path):
    text, binary = tmp_path / "v.txt", tmp_path / "v.bin"
    text.write_text("2 3\n好 1 2 3\n坏 4 5 6\n", encoding="utf-8")
    with open(binary, "wb") as handle:
        handle.write(b"2 3\n")
        for word, values in (("good", (1, 2, 3)), ("Film", (4, 5, 6))):
            handle.write(word.encode() + b" " + struct.pack("<3f", *values))
    assert load_vectors(text)["坏"].tolist() == [4, 5, 6]
    vectors = load_vectors(binary)
    matrix, coverage = embedding_matrix(Vocabulary(["good", "film", "other"]), vectors, 3, [["film", "other"]])
    assert matrix[3].tolist() == [4, 5, 6], "a lower-case word finds its capitalised vector"
    assert (coverage.words_found, coverage.tokens_found, coverage.tokens) == (2, 1, 2)


@pytest.mark.parametrize("content", ["good 0.1 0.2\nbad 0.3\n", "good 0.1 abc\n", "1 2\n\x00\x01\x02",
                                     "2 3\ngood 1 2 3\n"])
def test_a_malformed_vectors_file_gets_a_clear_error(tmp_path, content):
    path = tmp_path / "broken.txt"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(TextclfError, match="broken.txt .*(GloVe|format)"):
        load_vectors(path)


def test_vectors_files_are_bounded_in_size_and_must_match_the_embedding_size(tmp_path):
    path = tmp_path / "tiny.txt"
    write_glove(path, GLOVE)
    with pytest.raises(TextclfError, match="over the 0 MiB limit"):
        load_vectors(path, max_bytes=10)
    model = create("cnn", embedding="static", vectors=str(path), embed_dim=8, epochs=1, min_freq=1)
    with pytest.raises(TextclfError, match="4 dimensions .* set the embedding size to 4"):
        model.fit(TEXTS, LABELS)
    with pytest.raises(TextclfError, match="Cannot read the vectors file"):
        load_vectors(tmp_path / "missing.txt")


def test_command_line_names_give_each_model_and_mode_its_own_label():
    config = CompareConfig(models=("cnn", "cnn:embedding=static", "cnn:embedding=multichannel", "han",
                                   "rnn:embedding=non-static", "rcnn:embedding=multichannel", "clstm"))
    assert [m.label for m in config.models] == [
        "TextCNN", "TextCNN (static)", "TextCNN (multichannel)", "HAN", "BiLSTM (mean, non-static)",
        "RCNN (LSTM, multichannel)", "C-LSTM"]
    assert {"han", "rcnn", "clstm"} <= set(model_keys())


@pytest.mark.parametrize("name", ["cnn", "rnn", "han", "rcnn", "clstm"])
def test_rand_embeddings_start_from_kims_uniform_range_with_a_zero_pad_row(name):
    """Issue 8's U(-0.25, 0.25) start applies to every neural model's rand mode, not only TextCNN's."""
    module = create(name, embed_dim=DIM).build_module(VOCAB, 2)
    weight = module.embedding.weight.detach()
    assert weight.abs().max() <= EMBEDDING_INIT_RANGE and weight[PAD].abs().sum() == 0
    assert weight[PAD + 1:].std() > 0.1


@pytest.mark.parametrize("mode", ["non-static", "multichannel"])
def test_corpus_vectors_on_characters_too_rare_to_have_a_vocabulary_still_train(mode):
    """No character seen twice: no vocabulary word and nothing for word2vec to learn (gensim refuses an empty
    vocabulary, which crashed the run), so the table starts random and the model trains."""
    model = create("cnn", embedding=mode, tokenizer="chars", embed_dim=DIM, filters=4, epochs=1)
    model.fit(["你好", "再见"], ["pos", "neg"])
    assert model.fit_details()["vector_vocabulary_coverage"] == 0.0
    assert model.predict(["你们"]).shape == (1,)
