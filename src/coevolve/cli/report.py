"""`coevolve report RUN_DIR [RUN_DIR...] [--out DIR]`: results table, hard-negative analysis, plots."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="results table (paper's shape), hard-negative analysis and plots of run dirs"
    )
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories of `coevolve run`")
    parser.add_argument(
        "--out", help="output folder (default: RUN_DIR/report for one run, ./report for several)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from coevolve.evaluation.report import write_report  # matplotlib only when the command runs
    from coevolve.pipeline.layout import RunLayout

    out = (
        Path(args.out)
        if args.out
        else (RunLayout(args.runs[0]).report_dir() if len(args.runs) == 1 else Path("report"))
    )
    path = write_report(args.runs, out)
    print(f"report written to {path}")
    return 0
