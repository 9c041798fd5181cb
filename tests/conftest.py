"""Shared fixtures: the public data sets beside the repo (skipped cleanly when absent) and tiny data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from textclf.data.demo import demo_dataset

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"

torch.set_num_threads(1)


SELF_CHOSEN = ("slow", "browser")
_running: list[pytest.Item] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Remember the test being set up (before its fixtures, which may read a data set for it)."""
    _running[:] = [item]


def shared_dataset(name: str) -> Path:
    """Path of a CSV in ../shared/datasets, or skip the test when the folder is not there.

    A test that trains on a real data set must carry a `slow` marker, so that `-m "not slow and not browser"`
    leaves it out; one without it fails here, also where the data sets are absent."""
    if _running and not any(_running[0].get_closest_marker(marker) for marker in SELF_CHOSEN):
        pytest.fail(f"{_running[0].nodeid} reads ../shared/datasets/{name}: mark it @pytest.mark.slow")
    path = DATASETS / name
    if not path.is_file():
        pytest.skip(f"{path} is not available (the shared data sets live beside the repo)")
    return path


@pytest.fixture(scope="session")
def small_demo():
    return demo_dataset(rows=240, seed=1)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Never touch the user's real ~/.textclf from a test. The dashboard's runner trains in its own thread here:
    page tests are about pages, and spawning worker processes for each would cost seconds per test (the worker
    pool is tested in test_dispatch, test_cluster, test_single_start and the browser test)."""
    monkeypatch.setenv("TEXTCLF_HOME", str(tmp_path / "textclf-home"))
    monkeypatch.setenv("TEXTCLF_BACKEND", "sequential")
