"""The Train form offers the article's models and embedding modes (AppTest, no browser)."""

from __future__ import annotations

from tests.test_app import assert_clean, fresh_caches, page  # noqa: F401  (fresh_caches is an autouse fixture)
from textclf.data.demo import demo_dataset


def form(rows: int = 120):
    at = page("pages/2_Train.py")
    at.session_state["dataset"] = demo_dataset(rows=rows, seed=4)
    at.run()
    next(n for n in at.number_input if n.label == "Epochs (max)").set_value(1)
    at.multiselect[1].set_value(["bucket"])
    return at


def test_han_and_multichannel_textcnn_train_from_the_form_with_corpus_word2vec():
    at = form()
    at.multiselect[0].set_value(["TextCNN", "HAN"])
    at.multiselect[2].set_value(["multichannel"])
    at.button[0].click().run()
    assert_clean(at)
    job = at.session_state["job"]
    assert job.wait(timeout=180) and job.status == "done", job.error
    table = job.comparison().table
    assert sorted(table["model"]) == ["HAN (multichannel)", "TextCNN (multichannel)"]
    assert (table["vector_vocabulary_coverage"] > 0.9).all()


def test_vectors_from_a_file_without_a_file_get_a_message():
    at = form()
    at.multiselect[0].set_value(["RCNN"])
    at.multiselect[2].set_value(["static"]).run()  # the vector settings are asked once a mode needs vectors
    next(r for r in at.radio if r.label == "Word vectors from").set_value("a vectors file (word2vec or GloVe)")
    at.button[0].click().run()
    assert not at.exception
    assert any("embeddings need word vectors" in e.value for e in at.error)
    assert "job" not in at.session_state


def test_the_vectors_file_is_asked_for_only_when_the_vectors_come_from_a_file():
    at = form()
    at.multiselect[2].set_value(["static"]).run()
    assert not at.get("file_uploader")  # word2vec on the training split: nothing to upload
    next(r for r in at.radio if r.label == "Word vectors from").set_value("a vectors file (word2vec or GloVe)").run()
    assert [u.proto.label for u in at.get("file_uploader")] == ["Vectors file (word2vec or GloVe)"]


def test_pretrained_models_ask_for_an_encoder_folder_and_a_wrong_one_is_named_before_start(tmp_path):
    at = form()
    assert not any(t.label.startswith("Encoder folder") for t in at.text_input)  # only for pretrained models
    at.multiselect[0].set_value(["Encoder + LR"]).run()
    folder = next(t for t in at.text_input if t.label.startswith("Encoder folder"))
    folder.set_value(str(tmp_path / "missing"))
    at.button[0].click().run()
    assert not at.exception
    assert any("does not exist" in e.value and "missing" in e.value for e in at.error)
    assert "job" not in at.session_state
