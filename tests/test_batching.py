import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.training.batching import (
    Bucketed,
    LengthSorted,
    MaxLength,
    PerBatch,
    bucket_boundaries,
    padding_stats,
)
from textclf.training.strategies import make_strategy

LONG_TAIL = torch.from_numpy(np.clip(np.random.default_rng(0).lognormal(3.0, 0.9, 5000).astype(int), 1, 256))


def epoch_rows(plan):
    return torch.cat([b.index for b in plan]).tolist()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=400), st.integers(1, 70),
       st.sampled_from(["max_length", "per_batch", "bucket"]), st.integers(0, 10**6))
def test_every_strategy_visits_each_example_exactly_once(lengths, batch_size, name, seed):
    lengths = torch.tensor(lengths)
    strategy = make_strategy(name, batch_size, n_buckets=4)
    plan = strategy.plan(lengths, torch.Generator().manual_seed(seed))
    assert sorted(epoch_rows(plan)) == list(range(len(lengths)))
    assert all(len(b.index) <= batch_size for b in plan)
    assert all(b.padded_length >= int(lengths[b.index].max()) for b in plan)


def test_stats_count_real_tokens_and_slots():
    lengths = torch.tensor([1, 2, 3, 6])
    plan = MaxLength(2).plan(lengths)
    stats = padding_stats(plan, lengths)
    assert (stats.real_tokens, stats.padded_slots, stats.batches, stats.shapes) == (12, 24, 2, 1)
    assert stats.waste == pytest.approx(0.5)


def test_bucketing_cuts_waste_far_below_max_length_and_random_batches():
    generator = torch.Generator().manual_seed(0)
    waste = {s.name: padding_stats(s.plan(LONG_TAIL, generator), LONG_TAIL).waste
             for s in (MaxLength(64), PerBatch(64), Bucketed(64))}
    assert waste["bucket"] <= 0.10
    assert waste["bucket"] < waste["per_batch"] / 4 < waste["max_length"] / 4


def test_bucket_membership_and_order_change_between_epochs():
    strategy = Bucketed(32)
    generator = torch.Generator().manual_seed(0)
    first, second = strategy.plan(LONG_TAIL, generator), strategy.plan(LONG_TAIL, generator)
    assert epoch_rows(first) != epoch_rows(second)
    first_sets = {frozenset(b.index.tolist()) for b in first}
    second_sets = {frozenset(b.index.tolist()) for b in second}
    assert len(first_sets & second_sets) < len(first_sets) / 2


def test_bucketing_breaks_ties_randomly_so_class_ordered_files_mix():
    lengths = torch.full((1000,), 10)
    labels = torch.arange(1000) >= 500
    plan = Bucketed(50).plan(lengths, torch.Generator().manual_seed(0))
    share = [float(labels[b.index].float().mean()) for b in plan]
    assert max(share) < 0.9 and min(share) > 0.1


def test_pad_to_bound_gives_a_few_fixed_shapes():
    strategy = Bucketed(64, n_buckets=6, pad_to="bound")
    plan = strategy.plan(LONG_TAIL, torch.Generator().manual_seed(0))
    assert {b.padded_length for b in plan} <= set(strategy.boundaries)
    assert len({b.padded_length for b in plan}) <= 6


def test_boundaries_minimise_padding_to_the_bound():
    lengths = np.array([1] * 50 + [2] * 50 + [100] * 5)
    assert bucket_boundaries(lengths, 2) == [2, 100]
    assert bucket_boundaries(lengths, 3) == [1, 2, 100]
    assert bucket_boundaries(np.array([7, 7, 7]), 8) == [7]


def test_evaluation_plans_are_unshuffled_and_cover_longer_texts():
    strategy = Bucketed(4, n_buckets=2).fit(torch.tensor([1, 2, 3, 4]))
    plan = strategy.plan(torch.tensor([1, 9, 2, 3]))
    assert sorted(epoch_rows(plan)) == [0, 1, 2, 3]
    assert max(b.padded_length for b in plan) == 9


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=400), st.integers(1, 70), st.integers(1, 2000))
def test_evaluation_batches_stay_within_their_slot_budget(lengths, batch_size, max_slots):
    """Rows × padded length stays under the budget, except a single text longer than it (alone in its batch)."""
    lengths = torch.tensor(lengths)
    plan = LengthSorted(batch_size, max_slots).plan(lengths)
    assert epoch_rows(plan) == torch.argsort(lengths, stable=True).tolist()
    for batch in plan:
        assert len(batch.index) <= batch_size and batch.padded_length == int(lengths[batch.index].max())
        assert len(batch.index) * batch.padded_length <= max_slots or len(batch.index) == 1
    grown = [len(a.index) + 1 for a in plan[:-1]]  # each batch with the next batch's first text added
    assert all(n > batch_size or n * int(lengths[b.index[0]]) > max_slots for n, b in zip(grown, plan[1:], strict=True))


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="Unknown batching"):
        make_strategy("sorted", 8)
