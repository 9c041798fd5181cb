"""Wall time of the same work on the sequential back-end and on local worker processes, in one run.

    python bench/parallel.py grid mr
    python bench/parallel.py sessions --sessions 3

`grid`: the command line's default comparison (TextCNN and BiLSTM × max_length and bucket, SVM, kNN: 6 runs,
each neural model to its own cap with early stopping) on a shared data set, first with every run in this
process one after another (1 torch thread), then on one worker process per core (1 torch thread each); prints
both wall times, their ratio, and checks that the accuracies are identical.

`sessions`: what the dashboard does when several browser sessions press Start together: that many of the
dashboard's default comparisons (the command line's, truncated at the 99th percentile) submitted at once to a
`JobRunner`, first as the dashboard ran them before (one at a time in a thread of the server process), then as
it runs them now (worker processes shared fairly, at lower priority); prints when each finished and the ratio
of the last finish times. `--epochs N` caps every run at N epochs (a quicker, under-trained look) in both.
"""

from __future__ import annotations

import argparse
import os
import time

from common import dataset_path, sample_rows

from dashboard.state import WORKER_NICENESS
from textclf.data.demo import demo_dataset
from textclf.data.reading import load_dataset
from textclf.jobs.runner import JobRunner
from textclf.runs.compare import compare
from textclf.runs.config import AUTO, CompareConfig
from textclf.runs.dispatch import LocalWorkers, Sequential, available_cores


def timed_compare(dataset, config, backend) -> tuple[float, list[float]]:
    started = time.perf_counter()
    comparison = compare(dataset, config, backend=backend)
    return time.perf_counter() - started, [r.record["accuracy"] for r in comparison.runs]


def run_grid(args) -> None:
    dataset = sample_rows(load_dataset(dataset_path(args.dataset)), args.rows)
    config = CompareConfig(epochs=args.epochs)
    print(f"{args.dataset}: {len(dataset)} rows, {len(config.models)} models -> 6 runs, {cap(args)}; "
          f"{available_cores()} cores; load average before: {os.getloadavg()}", flush=True)
    sequential, seq_accuracy = timed_compare(dataset, config, Sequential(threads=1))
    print(f"sequential (1 process, 1 torch thread): {sequential:.1f} s", flush=True)
    workers = LocalWorkers(threads=1)
    try:
        parallel, par_accuracy = timed_compare(dataset, config, workers)
    finally:
        workers.close()
    print(f"{workers.describe()}: {parallel:.1f} s (includes starting the workers)")
    print(f"ratio workers / sequential: {parallel / sequential:.2f}")
    print(f"identical accuracies: {seq_accuracy == par_accuracy} {par_accuracy}")
    print(f"load average after: {os.getloadavg()}")


def run_sessions(args) -> None:
    dataset = demo_dataset(rows=args.rows or 2000)
    config = CompareConfig(max_len=AUTO, epochs=args.epochs)
    print(f"{args.sessions} sessions, each the dashboard's default comparison on the demo data ({len(dataset)} rows, "
          f"{cap(args)}); {available_cores()} cores; load average before: {os.getloadavg()}", flush=True)
    before = finish_times(JobRunner(threads=1), dataset, config, args.sessions)
    print(f"before (one at a time in the server's thread): finished at {fmt(before)}", flush=True)
    dashboard_workers = LocalWorkers(threads=1, nice=WORKER_NICENESS)  # as the dashboard's runner starts them
    after = finish_times(JobRunner(backend=dashboard_workers), dataset, config, args.sessions)
    print(f"now (worker processes shared fairly): finished at {fmt(after)}")
    print(f"ratio of the last finish, now / before: {max(after) / max(before):.2f}")
    print(f"load average after: {os.getloadavg()}")


def finish_times(runner: JobRunner, dataset, config, sessions: int) -> list[float]:
    started = time.perf_counter()
    jobs = [runner.submit(dataset, config) for _ in range(sessions)]
    times = []
    for job in jobs:
        job.wait()
        assert job.status == "done", job.error
        times.append(time.perf_counter() - started)
    runner.shutdown()
    return times


def cap(args) -> str:
    return f"at most {args.epochs} epoch(s)" if args.epochs else "each model's own epoch cap and early stopping"


def fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.0f} s" for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    grid = commands.add_parser("grid")
    grid.add_argument("dataset", help="name of a CSV in ../shared/datasets, e.g. mr")
    grid.add_argument("--rows", type=int, help="a random sample of N rows (seed 0)")
    grid.set_defaults(handler=run_grid)
    sessions = commands.add_parser("sessions")
    sessions.add_argument("--sessions", type=int, default=3)
    sessions.add_argument("--rows", type=int, help="rows of demo data (default 2000)")
    sessions.set_defaults(handler=run_sessions)
    for command in (grid, sessions):
        command.add_argument("--epochs", type=int, help="cap every run at N epochs (default: each model's own)")
    args = parser.parse_args()
    args.handler(args)


if __name__ == "__main__":
    main()
