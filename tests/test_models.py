"""Model correctness: padding never changes an output, and every model honours the estimator contract."""

import copy
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils import estimator_checks as checks
from sklearn.utils import get_tags

from textclf.data.tokenize import Tokenizer, identity
from textclf.data.vocab import EncodedTexts
from textclf.errors import TextclfError
from textclf.models import create, model_keys
from textclf.models.birnn import CELLS, POOLINGS, BiRNN
from textclf.models.neural import DEFAULT_MAX_LEN, RECURRENT_TRAINING_SLOTS
from textclf.models.textcnn import TextCNN
from textclf.models.tfidf import HashedTfidf
from textclf.training.batching import Batch, Bucketed, MaxLength
from textclf.training.loop import accumulate_gradients, make_optimizer

VOCAB, CLASSES = 50, 3
LENGTHS = [1, 2, 4, 5, 9, 17, 30, 3, 12, 1, 25, 6]


def random_texts() -> EncodedTexts:
    generator = torch.Generator().manual_seed(0)
    width = max(LENGTHS)
    ids = torch.zeros(len(LENGTHS), width, dtype=torch.long)
    for row, length in enumerate(LENGTHS):
        ids[row, :length] = torch.randint(2, VOCAB, (length,), generator=generator)
    return EncodedTexts(ids, torch.tensor(LENGTHS))


def logits_alone(module, data: EncodedTexts) -> torch.Tensor:
    rows = [module(*data.batch(torch.tensor([i]), int(data.lengths[i]))) for i in range(len(data))]
    return torch.cat(rows)


def logits_by_plan(module, data: EncodedTexts, plan, extra_pad: int = 0) -> torch.Tensor:
    out = torch.empty(len(data), CLASSES)
    for batch in plan:
        out[batch.index] = module(*data.batch(batch.index, batch.padded_length + extra_pad))
    return out


def assert_padding_invariant(module):
    torch.manual_seed(0)
    module.eval()
    data = random_texts()
    with torch.no_grad():
        alone = logits_alone(module, data)
        max_length = logits_by_plan(module, data, MaxLength(5).plan(data.lengths), extra_pad=20)
        bucketed = logits_by_plan(module, data, Bucketed(4, n_buckets=3).plan(
            data.lengths, torch.Generator().manual_seed(1)))
    torch.testing.assert_close(max_length, alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(bucketed, alone, atol=1e-5, rtol=0)


def test_textcnn_output_does_not_depend_on_padding():
    torch.manual_seed(0)
    assert_padding_invariant(TextCNN(VOCAB, CLASSES, embed_dim=16, kernel_sizes=(2, 3, 5), filters=8))


def test_textcnn_pad_windows_never_win_even_with_negative_features():
    """Real tokens pull activations down, so a window of zero pad embeddings would score highest unmasked."""
    torch.manual_seed(0)
    module = TextCNN(VOCAB, CLASSES, embed_dim=8, kernel_sizes=(2,), filters=4)
    with torch.no_grad():
        module.convs[0].bias.fill_(5.0)
        module.embedding.weight[2:] = -1.0
    assert_padding_invariant(module)


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("pooling", POOLINGS)
def test_birnn_output_does_not_depend_on_padding(cell, pooling):
    torch.manual_seed(0)
    assert_padding_invariant(BiRNN(VOCAB, CLASSES, embed_dim=12, hidden=10, cell=cell, pooling=pooling))


def test_unidirectional_rnn_is_padding_invariant_too():
    torch.manual_seed(0)
    assert_padding_invariant(BiRNN(VOCAB, CLASSES, embed_dim=12, hidden=10, bidirectional=False, pooling="last"))


TINY = {"cnn": {"embed_dim": 16, "filters": 8, "epochs": 2, "min_freq": 1},
        "rnn": {"embed_dim": 16, "hidden": 8, "epochs": 2, "min_freq": 1},
        "svm": {}, "knn": {"k": 3}}


@pytest.mark.parametrize("key", ["cnn", "rnn", "svm", "knn"])
def test_every_model_follows_the_estimator_contract(key, small_demo):
    model = create(key, **TINY[key])
    assert clone(model).get_params() == model.get_params()
    model.fit(small_demo.texts, small_demo.labels)
    probabilities = model.predict_proba(small_demo.texts[:7])
    assert probabilities.shape == (7, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    predicted = model.predict(small_demo.texts[:7])
    assert set(predicted) <= set(small_demo.labels)
    assert list(predicted) == list(model.classes_[probabilities.argmax(axis=1)])


def test_registry_lists_every_model_in_display_order():
    assert model_keys() == ["cnn", "rnn", "svm", "knn", "han", "rcnn", "clstm", "encoder", "finetune"]


def test_neural_params_include_shared_and_own_settings():
    params = create("rnn").get_params()
    assert {"cell", "pooling", "batching", "epochs", "tokenizer", "seed"} <= set(params)
    assert create("rnn").set_params(cell="gru").cell == "gru"


def test_vocabulary_and_tfidf_are_fitted_on_the_training_texts_only(small_demo):
    train = small_demo.texts
    cnn = create("cnn", **TINY["cnn"]).fit(train, small_demo.labels)
    svm = create("svm").fit(train, small_demo.labels)
    cnn.predict(["zebra quagga"])
    assert "zebra" not in cnn.vocab_.stoi
    assert "zebra" not in svm.vectorizer_.known_tokens_ and svm._unknown(["zebra", "the"]) == [0]


def test_hashed_tfidf_equals_the_exact_vocabulary_up_to_column_order(small_demo):
    """With no two n-grams on one column, hashing changes only the columns' order: every pair of texts keeps
    its similarity, and the kept columns are exactly the training n-grams (seen in min_df texts or more)."""
    docs = [Tokenizer("words")(text) for text in small_demo.texts]
    settings = {"tokenizer": Tokenizer("words"), "ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True}
    hashed = HashedTfidf(**settings).fit_transform(docs)
    exact = TfidfVectorizer(preprocessor=identity, lowercase=False, token_pattern=None, **settings).fit_transform(docs)
    assert hashed.shape == exact.shape
    np.testing.assert_allclose((hashed @ hashed.T).toarray(), (exact @ exact.T).toarray(), atol=1e-5)


def test_tfidf_without_any_feature_says_what_to_check():
    with pytest.raises(TextclfError, match="no features to learn from"):
        create("svm").fit(["", "  ", "", ""], ["a", "b", "a", "b"])
    with pytest.raises(TextclfError, match="lower min_df"):
        create("knn", min_df=3).fit(["red", "blue", "green", "pink"], ["a", "b", "a", "b"])


def test_texts_shorter_than_the_widest_filter_and_empty_texts_work(small_demo):
    cnn = create("cnn", **TINY["cnn"]).fit(small_demo.texts, small_demo.labels)
    assert len(cnn.predict(["ok", "", "!!!"])) == 3


def test_training_is_repeatable_with_a_seed(small_demo):
    def probabilities(seed):
        model = create("cnn", seed=seed, **TINY["cnn"]).fit(small_demo.texts, small_demo.labels)
        return model.predict_proba(small_demo.texts[:20])

    np.testing.assert_array_equal(probabilities(4), probabilities(4))
    assert not np.array_equal(probabilities(4), probabilities(5))


def test_training_uses_the_fused_adam_step_and_it_matches_the_plain_one():
    """The fused step (several times faster on CPU) must train exactly like torch's default Adam."""
    torch.manual_seed(0)
    data, labels = random_texts(), torch.arange(len(LENGTHS)) % CLASSES
    fused_module = TextCNN(VOCAB, CLASSES, embed_dim=16, filters=8).eval()
    plain_module = copy.deepcopy(fused_module)
    fused = make_optimizer(fused_module, 1e-2)
    assert fused.defaults["fused"]
    for module, optimizer in ((fused_module, fused), (plain_module, torch.optim.Adam(plain_module.parameters(), 1e-2))):
        for _ in range(5):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(module(data.ids, data.lengths), labels).backward()
            optimizer.step()
    for trained, reference in zip(fused_module.parameters(), plain_module.parameters(), strict=True):
        torch.testing.assert_close(trained, reference, atol=1e-6, rtol=1e-5)


class SlotCounter(torch.nn.Module):
    """Wraps a module and records the token slots (rows × padded length) of every forward pass."""

    def __init__(self, module):
        super().__init__()
        self.module, self.slots = module, []

    def forward(self, ids, lengths):
        self.slots.append(ids.numel())
        return self.module(ids, lengths)


def test_accumulated_chunks_give_the_whole_batch_gradient_within_the_slot_budget():
    """Recurrent models train long batches in chunks (memory); the update must be the whole batch's."""
    torch.manual_seed(0)
    data, labels = random_texts(), torch.arange(len(LENGTHS)) % CLASSES
    whole = SlotCounter(BiRNN(VOCAB, CLASSES, embed_dim=16, hidden=8, dropout=0.0))
    chunked = copy.deepcopy(whole)
    batch = Batch(torch.arange(len(LENGTHS)), max(LENGTHS))
    losses = [accumulate_gradients(m, data, labels, batch, loss_fn=torch.nn.CrossEntropyLoss(), device="cpu",
                                   max_slots=slots) for m, slots in ((whole, None), (chunked, 3 * max(LENGTHS)))]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    assert whole.slots == [len(LENGTHS) * max(LENGTHS)] and chunked.slots == [3 * max(LENGTHS)] * 4
    for a, b in zip(whole.parameters(), chunked.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-6, rtol=1e-4)


def test_recurrent_models_bound_their_training_slots_and_the_textcnn_does_not_need_to():
    assert create("rnn").max_training_slots == create("rcnn").max_training_slots == RECURRENT_TRAINING_SLOTS
    assert create("cnn").max_training_slots is None
    assert create("rnn").batch_size * DEFAULT_MAX_LEN > RECURRENT_TRAINING_SLOTS


CHINESE = (["菜很好吃，送餐也快", "味道不错，下次还点", "太难吃了，再也不点", "送得太慢，菜都凉了"] * 6,
           ["好", "好", "差", "差"] * 6)


@pytest.mark.parametrize("key", ["cnn", "svm"])
def test_refitting_forgets_everything_the_previous_fit_learned(key, small_demo):
    """An English fit then a Chinese fit must give the model a Chinese tokenizer, classes and vocabulary."""
    model = create(key, **TINY[key]).fit(small_demo.texts, small_demo.labels)
    english_tokenizer = model.tokenizer_
    model.fit(*CHINESE)
    assert model.tokenizer_ != english_tokenizer
    assert set(model.classes_) == {"好", "差"} and not set(model.classes_) & set(small_demo.labels)
    fresh = create(key, **TINY[key]).fit(*CHINESE)
    np.testing.assert_allclose(model.predict_proba(CHINESE[0][:4]), fresh.predict_proba(CHINESE[0][:4]), atol=1e-6)


@pytest.mark.parametrize("key", ["cnn", "rnn", "svm", "knn"])
def test_predicting_before_fitting_raises_not_fitted_error(key):
    model = create(key, **TINY[key])
    for method in (model.predict, model.predict_proba):
        with pytest.raises(NotFittedError):
            method(["some text"])


@pytest.mark.parametrize("key", ["cnn", "rnn", "svm", "knn"])
def test_tags_declare_text_input(key):
    tags = get_tags(create(key))
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert tags.estimator_type == "classifier"


ESTIMATOR_CHECKS = [
    checks.check_no_attributes_set_in_init, checks.check_parameters_default_constructible,
    checks.check_get_params_invariance, checks.check_set_params, checks.check_estimator_cloneable,
    checks.check_estimator_repr, checks.check_estimators_unfitted, checks.check_valid_tag_types,
    checks.check_estimator_tags_renamed,
]


@pytest.mark.parametrize("key", ["cnn", "rnn", "svm", "knn"])
@pytest.mark.parametrize("check", ESTIMATOR_CHECKS, ids=lambda check: check.__name__)
def test_scikit_learn_estimator_checks_that_apply_to_text_models(key, check):
    """The checks that do not assume a numeric matrix as input (the others cannot feed a text model).

    check_do_not_raise_errors_in_init_or_set_params is left out: it passes every name in `__init__`'s
    signature, including the `**params` through which models hand shared settings to their base class.
    """
    check(type(create(key)).__name__, create(key, **TINY[key]))


@pytest.mark.slow
def test_onednn_keeps_no_kernel_cache_unless_the_user_set_one():
    """The per-shape kernel cache held ~0.5 GB under bucketed batching (BENCHMARKS.md, "Memory per worker")."""
    read = "import textclf.training.loop, os; print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'])"
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    assert subprocess.run([sys.executable, "-c", read], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "0"
    chosen = subprocess.run([sys.executable, "-c", read], env={**env, "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "64"},
                            capture_output=True, text=True, check=True)
    assert chosen.stdout.strip() == "64"
