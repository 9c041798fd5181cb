"""Everything derived from a comparison's runs that a reader of its JSON needs: summary with CIs, paired tests,
accuracy by text length and per-class metrics (the same numbers the dashboard and the CLI show)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from textclf.breakdown import accuracy_by_length, per_class
from textclf.pairwise import pairwise_table
from textclf.report import aggregate

if TYPE_CHECKING:
    from textclf.experiment import Comparison


def analyse(comparison: Comparison) -> dict:
    """Plain-JSON tables (lists of records, NaN as null); empty lists before the first run finishes."""
    if not comparison.runs:
        return {"summary": [], "pairwise": [], "accuracy_by_length": [], "per_class": []}
    tables = {"summary": aggregate(comparison.table), "pairwise": pairwise_table(comparison),
              "accuracy_by_length": accuracy_by_length(comparison), "per_class": per_class(comparison)}
    return {name: json.loads(table.to_json(orient="records")) for name, table in tables.items()}
