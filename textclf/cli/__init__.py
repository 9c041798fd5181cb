"""Command line: `python -m textclf compare|profile|report|runs|predict|explain ...`.

Thin: it parses arguments (`parser`), calls the library and prints (`compare`, `runs`, `bundles`, `output`).
Input problems arrive as `TextclfError` and are printed as one line, never as a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from textclf.cli.compare import config_from_args
from textclf.cli.parser import build_parser
from textclf.errors import TextclfError

__all__ = ["build_parser", "config_from_args", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except TextclfError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
