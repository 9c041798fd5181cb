"""Worker processes never run the script that started them (Streamlit runs each page as `__main__`)."""

from __future__ import annotations

import sys
import types

import pytest

from textclf.runs.compare import compare
from textclf.runs.config import CompareConfig
from textclf.runs.dispatch import LocalWorkers


@pytest.mark.slow
def test_a_worker_does_not_import_the_main_script_of_the_process_that_spawned_it(tmp_path, small_demo, monkeypatch):
    mark = tmp_path / "the page ran"
    page = tmp_path / "page.py"
    page.write_text(f"from pathlib import Path\nPath({str(mark)!r}).write_text('ran')\n", encoding="utf-8")
    script = types.ModuleType("__main__")
    script.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", script)
    pool = LocalWorkers(1, threads=1)
    try:
        comparison = compare(small_demo, CompareConfig(models=("svm",)), backend=pool)
    finally:
        pool.close()
    assert len(comparison.runs) == 1 and not mark.exists()
    assert sys.modules["__main__"] is script, "the parent's own __main__ is given back"
