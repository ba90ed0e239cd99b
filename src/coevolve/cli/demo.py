"""`coevolve demo [--env NAME] [--quick]`: the README's main command (CPU co-evolution demo, results
table and plots). One model per benchmark: ScienceWorld by default, InterCodeSQL or WebShop with --env."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from rich.console import Console

from coevolve.pipeline.demo import DEMO_ENVS, DEMO_METHODS, run_demo


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="SmolLM2 on CPU: sft, eto and coevolve on one benchmark (default: ScienceWorld)"
    )
    parser.add_argument(
        "--env", default="sciworld", choices=sorted(DEMO_ENVS), help="the benchmark (default: sciworld)"
    )
    parser.add_argument("--quick", action="store_true", help="a few-minute smoke version")
    parser.add_argument("--out", help="output folder (default: runs/demo/<env> or runs/demo-quick/<env>)")
    parser.add_argument(
        "--methods", nargs="+", default=list(DEMO_METHODS), help="methods to run (sft always runs)"
    )
    parser.add_argument("--data-dir", help="folder with local copies of data files (or COEVOLVE_DATA_DIR)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from coevolve.envs.intercode_sql.server import MariaDBServer
    from coevolve.evaluation.report import write_report

    console = Console()
    out = Path(args.out or Path("runs/demo-quick" if args.quick else "runs/demo") / args.env)
    if args.env == "intercode_sql" and not os.environ.get("COEVOLVE_DB_URL"):
        console.print(MariaDBServer().start())  # idempotent: "already running" when it is
    t0 = time.monotonic()
    run_dirs = run_demo(
        out, quick=args.quick, methods=tuple(args.methods), data_dir=args.data_dir, env=args.env
    )
    report = write_report(run_dirs, out / "report", console=console)
    console.print(f"demo ({args.env}) finished in {(time.monotonic() - t0) / 60:.1f} min; report: {report}")
    return 0
