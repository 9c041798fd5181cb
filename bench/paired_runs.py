"""Accuracy of the same runs at two commits, paired by model, batching and seed.

    python bench/paired_runs.py --then THEN.json [THEN2.json ...] --now NOW.json [NOW2.json ...]

Each file is what `python -m textclf compare ... --out FILE` wrote (one or more seeds each), in the starting
commit's checkout (`--then`) and in the current one (`--now`); a run is paired with the run of the same model,
batching and seed. Prints every run's accuracy (also as JSON lines with `--runs`) and, per model and batching,
the mean at each commit and the paired difference now − then in points ± its standard error (the differences'
standard deviation over √seeds), with how many seeds were not worse.

`--pair "TextCNN (fp32)=TextCNN"` pairs two differently named models instead (then's first, now's second; the
same file may be given to both), e.g. one checkout's fp32 runs against its bf16 runs; only those models are kept.

`--earlier FILE` adds pairs printed before by `--runs` (JSON lines; other lines are skipped), so more seeds can be
added to a table after the `--out` files of the first ones are gone.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def runs_of(paths: list[str], model: str | None = None, label: str | None = None) -> dict[tuple, dict]:
    """(model, batching, seed) → run; with `model`, only that model's runs, keyed under `label`."""
    found = {}
    for path in paths:
        for run in json.loads(Path(path).read_text())["runs"]:
            if model is None or run["model"] == model:
                found[(label or run["model"], run["batching"], run["seed"])] = run
    return found


def earlier_pairs(path: str) -> tuple[dict[tuple, dict], dict[tuple, dict]]:
    """The then and now runs of the pairs that `--runs` printed to `path`, keyed like `runs_of`'s."""
    then, now = {}, {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("{"):
            pair = json.loads(line)
            key = (pair["model"], pair["batching"], pair["seed"])
            then[key] = {"accuracy": pair["then"], "epochs_run": pair["epochs_then"]}
            now[key] = {"accuracy": pair["now"], "epochs_run": pair["epochs_now"]}
    return then, now


def standard_error(differences: list[float]) -> str:
    """' ± s.e.' of the mean difference, or nothing for a single seed."""
    if len(differences) < 2:
        return ""
    return f" ± {statistics.stdev(differences) / len(differences) ** 0.5:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--then", nargs="+", required=True)
    parser.add_argument("--now", nargs="+", required=True)
    parser.add_argument("--runs", action="store_true", help="also print each paired run as a JSON line")
    parser.add_argument("--pair", metavar="THEN_MODEL=NOW_MODEL", help="pair two differently named models")
    parser.add_argument("--earlier", metavar="FILE", help="also pair the runs an earlier --runs printed to FILE")
    args = parser.parse_args()
    then_model, now_model = args.pair.split("=", 1) if args.pair else (None, None)
    then, now = runs_of(args.then, then_model, now_model), runs_of(args.now, now_model)
    if args.earlier:
        earlier_then, earlier_now = earlier_pairs(args.earlier)
        then, now = earlier_then | then, earlier_now | now
    paired = sorted(set(then) & set(now), key=lambda key: (list(now).index(key), key[2]))
    if args.runs:
        for key in paired:
            print(json.dumps({"model": key[0], "batching": key[1], "seed": key[2], "then": then[key]["accuracy"],
                              "now": now[key]["accuracy"], "epochs_then": then[key].get("epochs_run"),
                              "epochs_now": now[key].get("epochs_run")}))
    print("| model | batching | seeds | accuracy then | accuracy now | now − then, paired ± s.e. (not worse) |")
    print("|---|---|---|---|---|---|")
    for model, batching in dict.fromkeys((m, b) for m, b, _ in paired):
        keys = [k for k in paired if k[:2] == (model, batching)]
        differences = [100 * (now[k]["accuracy"] - then[k]["accuracy"]) for k in keys]
        print(f"| {model} | {batching} | {', '.join(str(k[2]) for k in keys)} | "
              f"{statistics.mean(then[k]['accuracy'] for k in keys):.4f} | "
              f"{statistics.mean(now[k]['accuracy'] for k in keys):.4f} | {statistics.mean(differences):+.2f}"
              f"{standard_error(differences)} "
              f"({sum(d >= -1e-9 for d in differences)} of {len(keys)}) |")


if __name__ == "__main__":
    main()
