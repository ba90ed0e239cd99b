"""`coevolve expert ENV --split S --out FILE.jsonl`: expert trajectories from an env's gold actions."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from coevolve.experts import ExpertConfig, ExpertGenerator


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "expert", help="write expert trajectories (ETO SFT JSONL) from an env's gold actions"
    )
    parser.add_argument("env", help="environment name (`coevolve ls envs`)")
    parser.add_argument("--split", required=True)
    parser.add_argument("--out", required=True, type=Path, help="JSONL file; existing ids are skipped")
    parser.add_argument("--limit", type=int, help="first N tasks of the split (after --per-type)")
    parser.add_argument("--per-type", type=int, help="at most K tasks of each task type (covers more types)")
    parser.add_argument("--task", action="append", dest="task_ids", help="only this task id (repeatable)")
    parser.add_argument(
        "--workers", type=int, default=1, help="parallel processes, one env (JVM) each (default 1)"
    )
    parser.add_argument("--data-dir", help="folder with the data files (or COEVOLVE_DATA_DIR)")
    parser.add_argument(
        "--keep-noops", action="store_true", help="keep steps the env reports as no-ops (default: drop them)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for name in ("limit", "per_type", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    config = ExpertConfig(
        env=args.env,
        split=args.split,
        out=args.out,
        limit=args.limit,
        per_type=args.per_type,
        data_dir=args.data_dir,
        task_ids=args.task_ids,
        workers=args.workers,
        drop_noops=not args.keep_noops,
    )
    generator = ExpertGenerator(config)
    try:
        counts = generator.run()
    finally:
        generator.close()
    table = Table("result", "tasks", title=f"{args.env} {args.split} experts -> {args.out}")
    table.add_row("written", str(counts.written))
    table.add_row("already in file", str(counts.already_done))
    table.add_row("reward < 1.0 (skipped)", str(counts.below_reward))
    table.add_row("env errors", str(counts.errors))
    table.add_row("task types written", str(len(counts.by_type)))
    Console().print(table)
    return 0
