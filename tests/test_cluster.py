"""A real Dask cluster on 127.0.0.1: a comparison through `--cluster` equals the sequential one, and survives
one of its two workers being killed mid-run (the run is recorded as failed, retried on the other worker, and
every finished run is stored). The scheduler and workers are stopped by process id afterwards.

As on a real cluster, every process runs textclf installed from a wheel of this checkout and starts in a folder
outside the checkout."""

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from tests.test_dispatch import same_results
from textclf.cli import build_parser, config_from_args
from textclf.data.reading import load_dataset
from textclf.runs.compare import compare
from textclf.runs.comparison import load_results
from textclf.runs.dispatch import Sequential
from textclf.storage.store import Store

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # builds and installs the package, starts a scheduler, two workers and the CLI

ROOT = Path(__file__).resolve().parents[1]
# The BiLSTM trains many epochs so that it is still running when the kill, sent on its relayed "epoch 2" line,
# lands (with 8 epochs a fast worker could finish before the relayed event arrived).
MODELS = "svm,cnn:embed_dim=16:filters=8,rnn:embed_dim=16:hidden=8:epochs=40:patience=40"
STARTUP_SECONDS = 180
RUN_SECONDS = 600  # generous: the shared CI machine may be loaded


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """Where the cluster's processes start and what they import: textclf installed (`pip install --target`, no
    dependencies: those are this interpreter's) from a wheel of this checkout, as docs/scaling.md asks of every
    machine, and a working folder outside the checkout. With only the install folder on PYTHONPATH a file the
    wheel misses, or code that relies on starting in the repository, fails here. Installed rather than PYTHONPATH
    pointing at the checkout, which would hide both; built now from a copy, so it is never an older version and
    the checkout gets no build folders."""
    source, site, work = (tmp_path_factory.mktemp(name) for name in ("source", "site", "work"))
    for name in ("textclf", "dashboard"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(source)], check=True, cwd=work)
    return {"cwd": work, "env": {**os.environ, "PYTHONPATH": str(site)}}


def test_the_cluster_processes_import_the_installed_textclf(installed):
    where = subprocess.run([sys.executable, "-c", "import dashboard.ui, textclf.cli; print(textclf.cli.__file__)"],
                           **installed, capture_output=True, text=True, check=True).stdout
    site = Path(installed["env"]["PYTHONPATH"])
    assert Path(where.strip()).is_relative_to(site), where
    command = subprocess.run([site / "bin" / "textclf", "compare", "--help"], **installed, capture_output=True,
                             text=True, check=True).stdout
    assert "--cluster" in command


def _start(installed: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], **installed, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _free_port() -> int:
    """A port nothing listens on now (fixed ports collide when two checkouts run this test at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        assert process.poll() is None, f"the process for port {port} exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port}"
            time.sleep(0.2)


@pytest.fixture
def cluster(installed):
    scheduler_port, worker_ports = _free_port(), set()
    while len(worker_ports) < 2:
        worker_ports |= {_free_port()} - {scheduler_port}
    address = f"tcp://127.0.0.1:{scheduler_port}"
    processes = []
    try:
        processes.append(_start(installed, "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                                str(scheduler_port), "--no-dashboard"))
        _wait_for_port(scheduler_port, processes[0])
        workers = {}
        for port in worker_ports:
            workers[port] = _start(installed, "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny",
                                   "--host", "127.0.0.1", "--worker-port", str(port), "--no-dashboard",
                                   "--memory-limit", "0")
            processes.append(workers[port])
        for port, process in workers.items():
            _wait_for_port(port, process)
        with distributed.Client(address, timeout=STARTUP_SECONDS) as client:
            # a listening worker may not have joined yet: data scattered to one worker dies with it
            client.wait_for_workers(len(workers), timeout=STARTUP_SECONDS)
        yield SimpleNamespace(address=address, workers=workers)
    finally:
        for process in processes:
            process.kill()
        for process in processes:
            process.wait(timeout=60)
        assert all(process.poll() is not None for process in processes)


def _lines(process: subprocess.Popen) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_a_comparison_on_a_dask_cluster_equals_sequential_and_survives_a_killed_worker(cluster, installed, tmp_path,
                                                                                        small_demo):
    csv, out, home = tmp_path / "tiny.csv", tmp_path / "cluster.json", tmp_path / "home"
    pd.DataFrame({"text": small_demo.texts, "label": small_demo.labels}).to_csv(csv, index=False)
    arguments = ["compare", str(csv), "--models", MODELS, "--batching", "bucket", "--epochs", "8", "--patience", "8",
                 "--batch-size", "16", "--cluster", cluster.address, "--out", str(out)]
    cli = subprocess.Popen([sys.executable, "-m", "textclf", *arguments], cwd=installed["cwd"], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env={**installed["env"], "TEXTCLF_HOME": str(home)})
    printed, victim, killed = [], None, None
    try:
        lines, deadline = _lines(cli), time.monotonic() + RUN_SECONDS
        while (line := lines.get(timeout=max(1.0, deadline - time.monotonic()))) is not None:
            printed.append(line)
            if started := re.search(r"\] BiLSTM.* on tcp://127\.0\.0\.1:(\d+)", line):
                victim = victim or int(started.group(1))
            if killed is None and victim and re.search(r"BiLSTM.*epoch 2/40", line):
                cluster.workers[victim].kill()
                killed = victim
        assert cli.wait(timeout=120) == 0, "".join(printed)
    finally:
        cli.kill()
        cli.wait()

    output = "".join(printed)
    assert killed, output
    assert re.search(rf"BiLSTM.* failed: worker tcp://127\.0\.0\.1:{killed} was lost mid-run.*retrying", output), output
    (row,) = Store(home).list_experiments()
    assert row["status"] == "done" and row["runs"] == row["total_runs"] == 3
    stored = Store(home).load_comparison(row["id"])
    assert [(f["run"].split(" ·")[0], f["retried"]) for f in stored.failures] == [("BiLSTM (mean)", True)]

    config = config_from_args(build_parser().parse_args(arguments))
    sequential = compare(load_dataset(csv), config, backend=Sequential(threads=1))
    same_results(load_results(out), sequential)
    same_results(stored, sequential)
