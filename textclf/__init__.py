"""textclf: compare TextCNN, bidirectional RNNs, SVM and kNN text classifiers, and how batching pads.

A library first (usable from a notebook or `python -m textclf`); the Streamlit dashboard only calls it.
"""

__version__ = "0.1.0"

from textclf.data import Dataset, load_dataset, read_table, to_dataset
from textclf.demo import demo_dataset
from textclf.errors import DataError, TextclfError
from textclf.experiment import CompareConfig, Comparison, ModelSpec, compare, load_results
from textclf.explain import Explanation, explain
from textclf.profile import profile_dataset
from textclf.split import split_dataset

__all__ = [
    "CompareConfig", "Comparison", "DataError", "Dataset", "Explanation", "ModelSpec", "TextclfError", "compare",
    "demo_dataset", "explain", "load_dataset", "load_results", "profile_dataset", "read_table", "split_dataset",
    "to_dataset",
]
