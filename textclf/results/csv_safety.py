"""CSV the product writes, safe to open in a spreadsheet: no cell is taken for a formula.

Labels, texts, column names and model labels come from uploaded files; a cell such as `=HYPERLINK("http://…")`
or `@SUM(…)` would run as a formula in Excel, LibreOffice or Google Sheets when someone opens a downloaded CSV
(CSV injection, OWASP). Every CSV written by the dashboard, the CLI and the store goes through `csv_text`, which
puts an apostrophe before any text cell (header included) starting with `= + - @`, tab or carriage return: the
spreadsheet then shows the text as typed. Numbers stay numbers, and so does text that is only a number
(`-1`, `+0.5`, `-2e-3`), which a spreadsheet reads as a value, never a formula. Rows end in CRLF (RFC 4180), so a
cell holding a carriage return or a line feed is quoted and cannot start a new row.
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def neutralised(value: object) -> object:
    """The value as it can be written into a CSV cell: text that a spreadsheet would read as a formula gets a
    leading apostrophe; everything else (numbers, plain numeric text, other text) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame with every text cell and column name neutralised (numeric columns untouched)."""
    safe = frame.copy()
    for position, dtype in enumerate(frame.dtypes):
        if not pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            safe.isetitem(position, frame.iloc[:, position].map(neutralised))
    safe.columns = [neutralised(name) for name in frame.columns]
    return safe


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV text without its index, formula cells neutralised: the one way the product writes CSV."""
    return safe_frame(frame).to_csv(index=False, lineterminator="\r\n")
