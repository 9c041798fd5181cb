"""Tokenizers, vocabulary and encoding."""

import torch

from textclf.data.tokenize import Tokenizer, detect_language, resolve
from textclf.data.vocab import PAD, UNK, Vocabulary, encode


def test_auto_picks_characters_for_unlabelled_chinese_and_words_otherwise():
    assert resolve("auto", ["这家外卖很好吃", "送餐很快"]) == "chars"
    assert resolve("auto", ["the food was great", "slow delivery"]) == "words"
    assert detect_language(["I love 北京 a lot of English words here"]) == "en"


def test_word_tokenizer_lowercases_and_keeps_punctuation_and_contractions():
    assert Tokenizer("words")("It isn't BAD!") == ["it", "isn't", "bad", "!"]


def test_chinese_tokenizers_split_words_and_characters():
    assert Tokenizer("jieba")("这家外卖很好吃") == ["这家", "外卖", "很", "好吃"]
    assert Tokenizer("chars")("很 好吃") == ["很", "好", "吃"]


def test_tokenizer_passes_tokens_through():
    assert Tokenizer("words")(["Already", "split"]) == ["Already", "split"]


def test_vocabulary_reserves_pad_and_unk_and_respects_min_freq_and_max_size():
    docs = [["a", "b", "a"], ["a", "c", "b"], ["d"]]
    vocab = Vocabulary.fit(docs, min_freq=2)
    assert vocab.itos == ["<pad>", "<unk>", "a", "b"]
    assert vocab.ids(["a", "zzz", "b"]) == [2, UNK, 3]
    assert len(Vocabulary.fit(docs, max_size=3)) == 3
    assert Vocabulary.from_list(vocab.to_list()).stoi == vocab.stoi


def test_encoding_truncates_pads_with_zero_and_never_yields_empty_rows():
    vocab = Vocabulary(["a", "b"])
    encoded = encode([["a", "b", "a", "b"], [], ["b"]], vocab, max_len=3)
    assert encoded.lengths.tolist() == [3, 1, 1]
    assert encoded.ids.tolist() == [[2, 3, 2], [UNK, PAD, PAD], [3, PAD, PAD]]
    assert encoded.ids.dtype == torch.int32  # half of int64's memory for the rows × longest-text matrix
    ids, lengths = encoded.batch(torch.tensor([2, 0]), padded_length=5)
    assert ids.tolist() == [[3, 0, 0, 0, 0], [2, 3, 2, 0, 0]]
    assert lengths.tolist() == [1, 3]
