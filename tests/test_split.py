from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.data.reading import Dataset, load_dataset
from textclf.data.split import kfold_splits, split_dataset
from textclf.errors import DataError


def make_dataset(counts: dict[str, int]) -> Dataset:
    labels = [label for label, n in counts.items() for _ in range(n)]
    return Dataset(texts=[f"text {i}" for i in range(len(labels))], labels=labels)


def test_split_is_stratified_and_sized_80_10_10():
    split = split_dataset(make_dataset({"a": 500, "b": 300, "c": 200}), seed=3)
    assert split.sizes() == {"train": 800, "validation": 100, "test": 100}
    labels = np.asarray(make_dataset({"a": 500, "b": 300, "c": 200}).labels)
    assert Counter(labels[split.test]) == {"a": 50, "b": 30, "c": 20}


def test_same_seed_same_split_other_seed_other_split():
    data = make_dataset({"a": 50, "b": 50})
    one, again, other = (split_dataset(data, seed=s) for s in (1, 1, 2))
    assert np.array_equal(one.test, again.test)
    assert not np.array_equal(one.test, other.test)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(1, 40), min_size=2, max_size=8),
       st.integers(0, 1000))
def test_split_is_a_partition_and_never_crashes_on_rare_classes(counts, seed):
    data = make_dataset(counts)
    try:
        split = split_dataset(data, seed=seed)
    except DataError as err:
        assert "would be empty" in str(err)
        return
    together = np.concatenate([split.train, split.validation, split.test])
    assert sorted(together.tolist()) == list(range(len(data)))
    labels = np.asarray(data.labels)
    assert set(labels[split.train]) == set(counts)


def test_rare_class_stays_in_training_and_is_reported():
    split = split_dataset(make_dataset({"a": 40, "b": 40, "rare": 2}))
    labels = np.asarray(make_dataset({"a": 40, "b": 40, "rare": 2}).labels)
    assert list(labels[split.train]).count("rare") == 2
    assert any("'rare'" in note for note in split.notes)


def test_user_split_column_is_honoured_and_validation_carved_from_train():
    rows = "".join(f"text {i},{'ab'[i % 2]},{'test' if i < 10 else 'train'}\n" for i in range(60))
    data = load_dataset(("text,label,part\n" + rows).encode(), split_col="part")
    split = split_dataset(data)
    assert sorted(split.test.tolist()) == list(range(10))
    assert len(split.validation) > 0 and not set(split.validation) & set(split.train)
    assert not set(split.validation) & set(range(10))


def test_bad_fractions_are_refused():
    with pytest.raises(DataError, match="fractions"):
        split_dataset(make_dataset({"a": 10, "b": 10}), validation=0.6, test=0.5)


def test_kfold_test_parts_cover_every_row_once_and_are_stratified():
    data = make_dataset({"a": 60, "b": 30, "c": 10})
    labels = np.asarray(data.labels)
    splits = kfold_splits(data, 10, seed=4)
    tests = np.concatenate([s.test for s in splits])
    assert sorted(tests.tolist()) == list(range(len(data)))
    for split in splits:
        assert Counter(labels[split.test]) == {"a": 6, "b": 3, "c": 1}
        parts = [set(split.train.tolist()), set(split.validation.tolist()), set(split.test.tolist())]
        assert sum(map(len, parts)) == len(data) and set().union(*parts) == set(range(len(data)))
        assert len(split.validation) == 9


def test_kfold_is_repeatable_and_depends_on_the_seed():
    data = make_dataset({"a": 30, "b": 30})
    one, again, other = (kfold_splits(data, 5, seed=s) for s in (1, 1, 2))
    assert all(np.array_equal(x.test, y.test) and np.array_equal(x.validation, y.validation)
               for x, y in zip(one, again, strict=True))
    assert not all(np.array_equal(x.test, y.test) for x, y in zip(one, other, strict=True))


def test_kfold_explains_rare_classes_and_impossible_fold_counts():
    splits = kfold_splits(make_dataset({"a": 40, "b": 40, "rare": 3}), 5)
    assert any("'rare' (3)" in note for note in splits[0].notes)
    with pytest.raises(DataError, match="at least 2 folds"):
        kfold_splits(make_dataset({"a": 10, "b": 10}), 1)
    with pytest.raises(DataError, match="Choose fewer folds"):
        kfold_splits(make_dataset({"a": 4, "b": 4}), 6)
