"""The accuracy defaults of issue 8 do what they claim: Kim's CNN settings, early stopping that never stops an
improving model, NB-SVM, kNN's k chosen on validation, Chinese tokenization chosen from the data."""

import numpy as np
import torch
from scipy import sparse

from textclf.data.tokenchoice import CANDIDATES, choose_tokenizer, explain
from textclf.data.vocab import PAD
from textclf.models import create
from textclf.models.nbsvm import NBSVM
from textclf.models.neural import EMBEDDING_INIT_RANGE
from textclf.models.textcnn import TextCNN
from textclf.training.loop import MIN_LOSS_DROP, EarlyStopping


def test_textcnn_defaults_are_kims():
    model = create("cnn")
    assert tuple(model.kernel_sizes) == (3, 4, 5) and model.filters == 100 and model.max_norm == 3.0
    assert model.dropout == 0.5 and model.batch_size == 50 and model.embed_dim == 300 and model.wide


def test_embeddings_start_uniform_in_kims_range_with_a_zero_pad_row():
    weight = TextCNN(500, 2, embed_dim=20).embedding.weight.detach()
    assert weight.abs().max() <= EMBEDDING_INIT_RANGE and weight[1:].std() > 0.1
    assert torch.count_nonzero(weight[PAD]) == 0


def test_max_norm_caps_each_class_output_vector_after_an_update():
    module = TextCNN(50, 3, embed_dim=8, filters=4)
    with torch.no_grad():
        module.output.weight.mul_(100)
    module.apply_constraints()
    norms = module.output.weight.norm(dim=1)
    assert torch.all(norms <= 3.0 + 1e-5) and torch.allclose(norms, torch.full((3,), 3.0), atol=1e-4)


def test_early_stopping_waits_while_validation_loss_still_falls():
    stopping = EarlyStopping(patience=2)
    flat_accuracy_falling_loss = [(0.8, 0.50), (0.8, 0.45), (0.8, 0.40), (0.8, 0.39)]
    assert [stopping.update(a, loss) for a, loss in flat_accuracy_falling_loss] == [True, True, True, True]
    assert not stopping.should_stop
    stopping.update(0.79, 0.41)
    assert not stopping.should_stop
    stopping.update(0.79, 0.42)
    assert stopping.should_stop


def test_a_loss_shaved_by_less_than_the_minimum_drop_is_no_progress_but_its_weights_are_still_kept():
    """At 100 % validation accuracy a model keeps shaving 1e-4 off its loss: that alone must not train it to the
    cap, yet the epoch with the lowest loss is still the one whose weights are kept."""
    stopping = EarlyStopping(patience=2)
    kept = [stopping.update(1.0, loss) for loss in (0.0029, 0.0029 - MIN_LOSS_DROP / 2, 0.0029 - MIN_LOSS_DROP * 0.9)]
    assert kept == [True, True, True] and stopping.should_stop
    assert stopping.best == (1.0, -(0.0029 - MIN_LOSS_DROP * 0.9))
    falling = EarlyStopping(patience=2)
    for loss in (0.0100, 0.0100 - 1.5 * MIN_LOSS_DROP, 0.0100 - 2 * MIN_LOSS_DROP):  # progress, then none
        falling.update(1.0, loss)
    assert falling.last_progress == 2 and falling.epochs_without_progress == 1


def test_early_stopping_waits_longer_for_a_run_whose_last_progress_came_late():
    early, late = EarlyStopping(patience=2), EarlyStopping(patience=2)
    early.update(0.8, 0.5)
    for epoch in range(1, 16):
        late.update(0.8, 1.0 / epoch)  # the loss still falls at epoch 15
    for stopping in (early, late):
        stopping.update(0.7, 9.0)
        stopping.update(0.7, 9.0)
    assert early.should_stop and early.wait == 2
    assert late.wait == 3 and not late.should_stop
    late.update(0.7, 9.0)
    assert late.should_stop


def test_early_stopping_keeps_the_most_accurate_epoch_even_when_loss_rises():
    stopping = EarlyStopping(patience=3)
    assert stopping.update(0.70, 0.6)
    assert stopping.update(0.75, 0.7)
    assert not stopping.update(0.74, 0.5)
    assert stopping.best == (0.75, -0.7)


def test_a_model_still_improving_at_the_cap_says_so(small_demo):
    from textclf.runs.compare import compare
    from textclf.runs.config import CompareConfig

    config = CompareConfig(models=("cnn:embed_dim=8:filters=4",), batchings=("bucket",), epochs=1)
    record = compare(small_demo, config).runs[0].record
    assert record["epochs_run"] == record["best_epoch"] == 1 and "epoch cap" in record["note"]


def _sentiment_features(rng, n, vocabulary=40):
    """Binary bag of words: one of words 0-4 marks class 1, one of 5-9 class 0; words 10+ are noise."""
    y = rng.integers(0, 2, n)
    X = (rng.random((n, vocabulary)) < 0.1).astype(float)
    X[:, :10] = 0
    X[np.arange(n), rng.integers(0, 5, n) + 5 * (y == 0)] = 1
    return X, y


def test_nbsvm_ratios_point_to_the_class_a_word_marks_and_it_classifies():
    rng = np.random.default_rng(0)
    X, y = _sentiment_features(rng, 400)
    model = NBSVM().fit(sparse.csr_matrix(X), y)
    assert np.all(model.ratios_[0, :5] > 0.3) and np.all(model.ratios_[0, 5:10] < -0.3)
    X_test, y_test = _sentiment_features(rng, 200)
    assert np.mean(model.predict(sparse.csr_matrix(X_test)) == y_test) > 0.95


def test_nbsvm_option_of_the_svm_handles_several_classes(small_demo):
    model = create("svm", nb=True).fit(small_demo.texts, small_demo.labels)
    assert model.svm_.coef_.shape[0] == len(model.classes_) > 2
    assert np.mean(model.predict(small_demo.texts) == np.array(small_demo.labels)) > 0.9
    assert np.allclose(model.predict_proba(small_demo.texts[:3]).sum(axis=1), 1)


def test_svm_labels_come_from_its_margins(small_demo):
    model = create("svm").fit(small_demo.texts, small_demo.labels)
    margins = model.svm_.decision_function(model._features(small_demo.texts))
    assert list(model.predict(small_demo.texts)) == list(model.classes_[margins.argmax(axis=1)])


def test_knn_chooses_k_on_held_out_training_texts(small_demo):
    model = create("knn").fit(small_demo.texts, small_demo.labels)
    assert model.k_ in (1, 3, 5, 10, 20, 30, 50) and model.classifier_.n_neighbors == model.k_
    assert create("knn", k=7).fit(small_demo.texts, small_demo.labels).k_ == 7


def test_chinese_auto_tokenizer_compares_characters_and_words_and_explains():
    rng = np.random.default_rng(0)
    good, bad = ["好吃", "很快", "满意", "新鲜"], ["难吃", "太慢", "失望", "冷了"]
    texts = [f"这家{rng.choice(good if i % 2 else bad)}外卖" for i in range(60)]
    labels = ["pos" if i % 2 else "neg" for i in range(60)]
    choice = choose_tokenizer(texts, labels)
    assert set(choice.scores) == set(CANDIDATES) and choice.name in CANDIDATES
    assert choice.name in choice.reason and "3-fold" in choice.reason
    assert explain("auto", texts[:4], labels[:4]).name == "chars"
    assert explain("jieba", texts, labels).reason == "tokenizer jieba (chosen in the settings)"
    assert explain("auto", ["plain English text"] * 4, ["a", "b"] * 2).name == "words"


def test_nbsvm_threshold_splits_the_training_scores_where_fewest_texts_are_wrong():
    from textclf.models.nbsvm import best_threshold

    scores = np.array([-2.0, -1.0, 0.5, 1.0, 3.0])
    assert best_threshold(scores, np.array([0, 0, 1, 1, 1])) == -0.25
    assert best_threshold(scores, np.array([1, 1, 1, 1, 1])) < -2.0


def test_nbsvm_keeps_unbalanced_classes_apart():
    rng = np.random.default_rng(1)
    X, y = _sentiment_features(rng, 600)
    keep = (y == 0) | (rng.random(len(y)) < 0.3)
    model = NBSVM().fit(sparse.csr_matrix(X[keep]), y[keep])
    X_test, y_test = _sentiment_features(rng, 300)
    assert np.mean(model.predict(sparse.csr_matrix(X_test)) == y_test) > 0.95


def test_an_nbsvm_bundle_loads_and_predicts_like_the_trained_model(small_demo, tmp_path):
    from textclf.storage.bundle import load_bundle, save_bundle

    model = create("svm", nb=True).fit(small_demo.texts, small_demo.labels)
    bundle = load_bundle(save_bundle(model, tmp_path / "nbsvm.textclf"))
    assert list(bundle.estimator.predict(small_demo.texts)) == list(model.predict(small_demo.texts))


def test_neural_models_stop_two_epochs_without_progress_the_rule_measured_on_five_data_sets():
    """Patience 2 (BENCHMARKS.md, "No wasted epochs"), the same for the loop's settings and every neural model."""
    from textclf.models import get_model_class, model_keys
    from textclf.models.neural import NeuralTextClassifier
    from textclf.training.loop import TrainSettings

    neural = [key for key in model_keys() if issubclass(get_model_class(key), NeuralTextClassifier)]
    assert neural and {create(key).patience for key in neural} == {TrainSettings().patience} == {2}
