"""Formula injection: every CSV the product writes shows hostile cells as text, never as formulas."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest

from textclf.results.csv_safety import FORMULA_STARTS, csv_text, neutralised

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ['=HYPERLINK("http://127.0.0.1:9/x","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1", "=1"]


@pytest.mark.parametrize("cell", HOSTILE)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(cell):
    assert neutralised(cell) == "'" + cell


@pytest.mark.parametrize("value", [-1, -2.5, 0, 3, True, None, "-1", "+0.5", "-2e-3", ".5", "plain", "a=b", "", "'="])
def test_numbers_plain_numeric_text_and_other_text_stay_as_they_are(value):
    assert neutralised(value) == value


def read_back(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), keep_default_na=False)


def test_csv_text_neutralises_cells_and_headers_and_keeps_numbers_numeric():
    frame = pd.DataFrame({"label": HOSTILE, "=cmd|'/C calc'!A0": range(len(HOSTILE)),
                          "accuracy": [-0.25, 0.5, -1.0, 0.0, 1.0, -3.5, 2.0]})
    back = read_back(csv_text(frame))
    assert list(back["label"]) == ["'" + cell for cell in HOSTILE]
    assert list(back.columns) == ["label", "'=cmd|'/C calc'!A0", "accuracy"]
    assert back["accuracy"].tolist() == [-0.25, 0.5, -1.0, 0.0, 1.0, -3.5, 2.0]
    assert back["'=cmd|'/C calc'!A0"].dtype.kind == "i"
    assert not any(str(cell).startswith(FORMULA_STARTS) for cell in back["label"])
    assert frame["label"].tolist() == HOSTILE, "the frame itself is left as it was"


def test_no_csv_is_written_around_the_safety_function():
    """Every CSV the product writes goes through csv_text: no other to_csv or csv.writer in the product (the demo
    CSV is written from the generator's own fixed phrases, never from anything a user typed)."""
    writers = re.compile(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(")
    sources = [*ROOT.glob("textclf/**/*.py"), *ROOT.glob("dashboard/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"]
    found = {str(path.relative_to(ROOT)) for path in sources if writers.search(path.read_text(encoding="utf-8"))}
    assert found <= {"textclf/results/csv_safety.py", "textclf/data/demo.py"}, found


def test_the_per_class_and_prediction_downloads_of_a_hostile_data_set_hold_no_formula():
    """Class names and texts of a trained comparison, as the Compare and Predict pages write them."""
    from textclf.data.demo import demo_dataset
    from textclf.results.breakdown import per_class
    from textclf.results.predictions import predictions_table
    from textclf.runs.compare import compare
    from textclf.runs.config import CompareConfig

    data = demo_dataset(rows=120, seed=3)
    renamed = {label: HOSTILE[i] for i, label in enumerate(sorted(set(data.labels)))}
    data.labels = [renamed[label] for label in data.labels]
    done = compare(data, CompareConfig(models=("svm",), batchings=("max_length",)), keep_models=True)
    classes = read_back(csv_text(per_class(done)))
    assert set(classes["class"]) == {"'" + name for name in renamed.values()}
    texts = ["=HYPERLINK(\"http://127.0.0.1:9\")", "-1", "fine food"]
    predicted = read_back(csv_text(predictions_table({"SVM": done.runs[0].estimator}, texts)))
    assert predicted["text"].tolist() == ["'" + texts[0], "-1", "fine food"]
    assert all(str(label).startswith("'") for label in predicted["SVM: label"])
