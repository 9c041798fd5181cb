"""textclf: compare TextCNN, bidirectional RNNs, SVM and kNN text classifiers, and how batching pads.

A library first (usable from a notebook or `python -m textclf`); the Streamlit dashboard only calls it.
The names below load on first use, so that importing one sub-package (say `textclf.runs.dispatch` in a
scheduler) does not pull in torch and every model.
"""

from importlib import import_module

from textclf.version import __version__ as __version__

_PUBLIC = {
    "CompareConfig": "textclf.runs.config", "ModelSpec": "textclf.runs.config",
    "Comparison": "textclf.runs.comparison", "load_results": "textclf.runs.comparison",
    "compare": "textclf.runs.compare",
    "DataError": "textclf.errors", "TextclfError": "textclf.errors",
    "Dataset": "textclf.data.reading", "load_dataset": "textclf.data.reading", "read_table": "textclf.data.reading",
    "to_dataset": "textclf.data.reading",
    "demo_dataset": "textclf.data.demo", "profile_dataset": "textclf.data.profile",
    "split_dataset": "textclf.data.split",
    "Explanation": "textclf.explain.explanation",  # explain() itself: the sub-package has that name
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'textclf' has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
