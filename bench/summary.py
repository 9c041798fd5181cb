"""Mean ± sd of accuracy (and seconds per epoch, padding waste) per model and batching, from `compare --out` JSON.

    python bench/summary.py bench/results/embeddings_mr.json
"""

import sys

from textclf.runs.comparison import load_results


def summary(path: str) -> str:
    table = load_results(path).table
    grouped = table.groupby(["model", "batching"], sort=False)
    rows = ["| model | batching | runs | accuracy (mean ± sd) | s/epoch | padding waste |", "|---|---|---|---|---|---|"]
    for (model, batching), group in grouped:
        accuracy = group["accuracy"]
        sd = accuracy.std(ddof=1) if len(group) > 1 else 0.0
        rows.append(f"| {model} | {batching} | {len(group)} | {accuracy.mean():.4f} ± {sd:.4f} | "
                    f"{group['seconds_per_epoch'].mean():.1f} | {group['padding_waste'].mean():.1%} |")
    return "\n".join(rows)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(summary(name))
