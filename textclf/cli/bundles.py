"""`predict` and `explain` with a saved model bundle."""

from __future__ import annotations

import argparse
import json

from textclf.explain.explanation import Explanation, explain, methods
from textclf.storage.bundle import load_bundle


def run_predict(args: argparse.Namespace) -> int:
    bundle = load_bundle(args.bundle)
    labels = bundle.predict(args.texts)
    probabilities = bundle.predict_proba(args.texts) if bundle.has_probabilities else [None] * len(labels)
    for text, label, row in zip(args.texts, labels, probabilities, strict=True):
        print(f"{label}\t{text}")
        if row is not None:
            ranked = sorted(zip(bundle.classes, row, strict=True), key=lambda pair: -pair[1])
            print("  " + "  ".join(f"{name} {p:.3f}" for name, p in ranked))
    return 0


def run_explain(args: argparse.Namespace) -> int:
    bundle = load_bundle(args.bundle)
    chosen = methods(bundle) if args.method == "all" else [args.method]
    explanations = [explain(bundle, args.text, method) for method in chosen]
    if args.json:
        print(json.dumps([e.as_dict() for e in explanations], ensure_ascii=False, indent=1))
        return 0
    for explanation in explanations:
        print_explanation(explanation, args.top)
    return 0


def print_explanation(explanation: Explanation, top: int) -> None:
    probability = "" if explanation.probability is None else f" ({explanation.probability:.3f})"
    print(f"{explanation.model} — {explanation.title}")
    print(f"predicted: {explanation.predicted}{probability}")
    print("  " + " ".join(token if weight is None else f"{token}[{weight:+.2f}]"
                          for token, weight in zip(explanation.tokens, explanation.weights, strict=True)))
    for kind, rows in explanation.details.items():
        if isinstance(rows, list) and rows:
            print(f"{kind}:")
            for row in rows[:top]:
                print("  " + ", ".join(f"{name} {_plain_value(value)}" for name, value in row.items()))
    for note in explanation.notes:
        print(f"note: {note}")
    print()


def _plain_value(value) -> str:
    return f"{value:+.3f}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)
