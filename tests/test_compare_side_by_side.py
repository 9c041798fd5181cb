"""Two experiments side by side on Compare (issue 23 item 7): experiments × models as in Weka's Experimenter, each
cell marked against a base column by that experiment's own paired tests."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.compare_fixture import store_finished
from tests.test_app import assert_clean, fresh_caches, page  # noqa: F401  (fresh_caches: autouse fixture)
from tests.test_app_compare import CLASSICAL, tweets_csv
from textclf.data.reading import load_dataset
from textclf.results.pairwise import pairwise_table
from textclf.results.side_by_side import BETTER, TALLY, WORSE, experiments_table
from textclf.runs.compare import compare
from textclf.storage.store import Store


def stored(store: Store, rows: int, seed: int, name: str) -> int:
    dataset = load_dataset(io.BytesIO(tweets_csv(rows, seed=seed)), name=name)
    return store_finished(store, dataset, compare(dataset, CLASSICAL))


def test_the_table_marks_each_cell_against_the_base_by_its_own_experiments_tests():
    store = Store()
    first, second = stored(store, 1200, 0, "tweets"), stored(store, 600, 1, "more tweets")
    comparisons = {"#1": store.load_comparison(first), "#2": store.load_comparison(second)}
    pairs = {name: pairwise_table(c) for name, c in comparisons.items()}
    table = experiments_table(comparisons, pairs, base="Majority class")
    assert list(table.index) == ["#1", "#2", TALLY] and list(table.columns)[-1] == "Majority class"
    svm = table.loc["#1", "SVM"]
    assert svm.endswith(f"\u00a0{BETTER}") and svm[:-2].endswith("%")  # far above always answering 'negative'
    assert table.loc[TALLY, "SVM"] == "2/0/0" and table.loc[TALLY, "Majority class"] == ""
    reverse = experiments_table(comparisons, pairs, base="SVM")
    assert reverse.loc["#2", "Majority class"].endswith(f"\u00a0{WORSE}")


@pytest.mark.slow  # over 1.9 s: the fast subset stays under 2 minutes
def test_compare_sets_another_experiment_beside_the_shown_one():
    store = Store()
    first, second = stored(store, 1200, 0, "tweets"), stored(store, 600, 1, "more tweets")
    at = page("pages/3_Compare.py")
    at.session_state["compare_source"] = {"kind": "experiment", "id": first}
    at.run()
    assert_clean(at)
    at.multiselect(key="beside").set_value([second]).run()
    assert_clean(at)
    table = next(t.value for t in at.table if any("better" in str(name) for name in t.value.index))
    assert isinstance(table, pd.DataFrame) and len(table) == 3
    assert table.index[0] == f"\\#{first} · tweets"  # names shown literally (Markdown escaped)
