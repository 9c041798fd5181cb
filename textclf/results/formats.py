"""One way to write each kind of number on the dashboard: rates as percent with one decimal, seconds with the
digits that matter, counts whole; a missing value is a blank, never `None`, `nan` or an sd of a single run."""

from __future__ import annotations

import math

import pandas as pd

BLANK = ""


def missing(value) -> bool:
    """None, NaN or pandas' NA."""
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def percent(value) -> str:
    """'82.4%' for a share of 0.824."""
    return BLANK if missing(value) else f"{100 * float(value):.1f}%"


def points(value) -> str:
    """A spread of shares in percentage points: '1.2' for 0.012 (its unit is in the column's name)."""
    return BLANK if missing(value) else f"{100 * float(value):.1f}"


def seconds(value) -> str:
    """'320', '8.2', '0.035': whole seconds when large, two significant digits when small, never '0.0'."""
    if missing(value):
        return BLANK
    value = float(value)
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def count(value) -> str:
    return BLANK if missing(value) else f"{int(value):,}"


def number(value) -> str:
    """Any other measure: three significant digits."""
    return BLANK if missing(value) else f"{float(value):.3g}"
