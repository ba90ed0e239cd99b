"""`coevolve demo [--env NAME] [--quick]`: the README's main command (CPU co-evolution demo, results
table and plots). One model per benchmark: the default one, or any benchmark with a demo via --env; a
service the benchmark needs (its description's `service`) is started first and, if the demo started it,
stopped at the end."""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

from rich.console import Console

from coevolve.envs.benchmark import get_benchmark
from coevolve.pipeline.demo import DEFAULT_DEMO, DEMO_ENVS, DEMO_METHODS, run_demo


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help=f"SmolLM2 on CPU: sft, eto and coevolve on one benchmark (default: "
        f"{get_benchmark(DEFAULT_DEMO).display_name})",
    )
    parser.add_argument(
        "--env",
        default=DEFAULT_DEMO,
        choices=sorted(DEMO_ENVS),
        help=f"the benchmark (default: {DEFAULT_DEMO})",
    )
    parser.add_argument("--quick", action="store_true", help="a few-minute smoke version")
    parser.add_argument("--out", help="output folder (default: runs/demo/<env> or runs/demo-quick/<env>)")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(DEMO_METHODS),
        help=f"methods to run (default: {' '.join(DEMO_METHODS)}; sft always runs; add eto to compare)",
    )
    parser.add_argument("--data-dir", help="folder with local copies of data files (or COEVOLVE_DATA_DIR)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from coevolve.evaluation.report import write_report

    console = Console()
    out = Path(args.out or Path("runs/demo-quick" if args.quick else "runs/demo") / args.env)
    service = get_benchmark(args.env).service
    t0 = time.monotonic()
    # a server the demo starts is stopped when it ends (also on error); one already running stays up
    with service.running(console.print) if service is not None else contextlib.nullcontext():
        run_dirs = run_demo(
            out, quick=args.quick, methods=tuple(args.methods), data_dir=args.data_dir, env=args.env
        )
    report = write_report(run_dirs, out / "report", console=console)
    console.print(f"demo ({args.env}) finished in {(time.monotonic() - t0) / 60:.1f} min; report: {report}")
    return 0
