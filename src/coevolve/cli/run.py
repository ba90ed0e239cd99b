"""`coevolve run CONFIG [--resume] [--set key=value ...]`: one method's full pipeline in a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from coevolve.pipeline.config import load_config
from coevolve.pipeline.runner import Pipeline


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run a method's pipeline (SFT, K co-evolution iterations, eval)"
    )
    parser.add_argument("config", help="YAML run config (see configs/)")
    parser.add_argument("--out", help="run directory (default: runs/<config name>)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set iterations=2 --set envs.0.train_limit=8",
    )
    parser.add_argument("--resume", action="store_true", help="continue an existing run directory")
    parser.add_argument("--redo-from", metavar="STAGE", help="recompute this stage and every later one")
    parser.add_argument(
        "--accept-config-change", action="store_true", help="keep finished stages although the config changed"
    )
    parser.add_argument("--data-dir", help="folder with local copies of data files (or COEVOLVE_DATA_DIR)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.overrides)
    if args.data_dir:
        config.data_dir = args.data_dir
    run_dir = Path(args.out or Path("runs") / Path(args.config).stem)
    if (run_dir / "manifest.json").exists() and not (args.resume or args.redo_from):
        raise ValueError(
            f"{run_dir} already holds a run; pass --resume to continue it or choose another --out"
        )
    results = Pipeline(config, run_dir).run(args.accept_config_change, args.redo_from)
    from coevolve.evaluation.report import print_results

    print_results([run_dir], Console())
    return 0 if results else 1
