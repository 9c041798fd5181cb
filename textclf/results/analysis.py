"""Everything derived from a comparison's runs that a reader of its JSON needs: summary with CIs, paired tests,
accuracy by text length and per-class metrics (the same numbers the dashboard and the CLI show)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from textclf.results.breakdown import accuracy_by_length, per_class
from textclf.results.pairwise import pairwise_table
from textclf.results.report import summary_of

if TYPE_CHECKING:
    from textclf.runs.comparison import Comparison


def analyse(comparison: Comparison) -> dict:
    """Plain-JSON tables (lists of records, NaN as null); empty lists before the first run finishes. The summary
    and the paired tests include the majority-class baseline where the results record its training counts."""
    if not comparison.runs:
        return {"summary": [], "pairwise": [], "accuracy_by_length": [], "per_class": []}
    tables = {"summary": summary_of(comparison), "pairwise": pairwise_table(comparison),
              "accuracy_by_length": accuracy_by_length(comparison), "per_class": per_class(comparison)}
    return {name: json.loads(table.to_json(orient="records")) for name, table in tables.items()}


def comparison_json(comparison: Comparison) -> dict:
    """The comparison's JSON with its analysis, as `compare --out`, the store and Export write it."""
    return {**comparison.to_json(), "analysis": analyse(comparison)}


def comparison_json_text(comparison: Comparison) -> str:
    return json.dumps(comparison_json(comparison), ensure_ascii=False, indent=1)


def save_comparison(comparison: Comparison, path: str | Path) -> None:
    Path(path).write_text(comparison_json_text(comparison), encoding="utf-8")
