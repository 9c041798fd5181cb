"""textclf: compare TextCNN, bidirectional RNNs, SVM and kNN text classifiers, and how batching pads.

A library first (usable from a notebook or `python -m textclf`); the Streamlit dashboard only calls it.
"""

from textclf.data.demo import demo_dataset
from textclf.data.profile import profile_dataset
from textclf.data.reading import Dataset, load_dataset, read_table, to_dataset
from textclf.data.split import split_dataset
from textclf.errors import DataError, TextclfError
from textclf.explain.explanation import Explanation, explain
from textclf.runs.compare import compare
from textclf.runs.comparison import Comparison, load_results
from textclf.runs.config import CompareConfig, ModelSpec
from textclf.version import __version__ as __version__

__all__ = [
    "CompareConfig", "Comparison", "DataError", "Dataset", "Explanation", "ModelSpec", "TextclfError", "compare",
    "demo_dataset", "explain", "load_dataset", "load_results", "profile_dataset", "read_table", "split_dataset",
    "to_dataset",
]
