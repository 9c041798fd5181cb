"""A real Dask cluster on 127.0.0.1: a comparison through `--cluster` equals the sequential one, and survives
one of its two workers being killed mid-run (the run is recorded as failed, retried on the other worker, and
every finished run is stored). The scheduler and workers are stopped by process id afterwards."""

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.test_dispatch import same_results
from textclf.cli import build_parser, config_from_args
from textclf.data.reading import load_dataset
from textclf.runs.compare import compare
from textclf.runs.comparison import load_results
from textclf.runs.dispatch import Sequential
from textclf.storage.store import Store

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
SCHEDULER_PORT, WORKER_PORTS = 18770, (18771, 18772)
ADDRESS = f"tcp://127.0.0.1:{SCHEDULER_PORT}"
# The BiLSTM trains many epochs so that it is still running when the kill, sent on its relayed "epoch 2" line,
# lands (with 8 epochs a fast worker could finish before the relayed event arrived).
MODELS = "svm,cnn:embed_dim=16:filters=8,rnn:embed_dim=16:hidden=8:epochs=40:patience=40"
STARTUP_SECONDS = 180
RUN_SECONDS = 600  # generous: the shared CI machine may be loaded


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})


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
def cluster():
    processes = []
    try:
        processes.append(_start("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                                str(SCHEDULER_PORT), "--no-dashboard"))
        _wait_for_port(SCHEDULER_PORT, processes[0])
        workers = {}
        for port in WORKER_PORTS:
            workers[port] = _start("distributed.cli.dask_worker", ADDRESS, "--nthreads", "1", "--no-nanny",
                                   "--host", "127.0.0.1", "--worker-port", str(port), "--no-dashboard",
                                   "--memory-limit", "0")
            processes.append(workers[port])
        for port, process in workers.items():
            _wait_for_port(port, process)
        yield workers
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


def test_a_comparison_on_a_dask_cluster_equals_sequential_and_survives_a_killed_worker(cluster, tmp_path, small_demo):
    csv, out, home = tmp_path / "tiny.csv", tmp_path / "cluster.json", tmp_path / "home"
    pd.DataFrame({"text": small_demo.texts, "label": small_demo.labels}).to_csv(csv, index=False)
    arguments = ["compare", str(csv), "--models", MODELS, "--batching", "bucket", "--epochs", "8", "--patience", "8",
                 "--batch-size", "16", "--cluster", ADDRESS, "--out", str(out)]
    cli = subprocess.Popen([sys.executable, "-m", "textclf", *arguments], cwd=ROOT, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env={**os.environ, "TEXTCLF_HOME": str(home), "PYTHONPATH": str(ROOT)})
    printed, victim, killed = [], None, None
    try:
        lines, deadline = _lines(cli), time.monotonic() + RUN_SECONDS
        while (line := lines.get(timeout=max(1.0, deadline - time.monotonic()))) is not None:
            printed.append(line)
            if started := re.search(r"\] BiLSTM.* on tcp://127\.0\.0\.1:(\d+)", line):
                victim = victim or int(started.group(1))
            if killed is None and victim and re.search(r"BiLSTM.*epoch 2/40", line):
                cluster[victim].kill()
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
