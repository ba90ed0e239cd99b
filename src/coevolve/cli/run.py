"""`coevolve run CONFIG [--resume] [--set key=value ...]`: one method's full pipeline in a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from coevolve.configtree import add_flags, add_overrides, flag_values
from coevolve.pipeline.config import RunConfig, load_config
from coevolve.pipeline.layout import RunLayout
from coevolve.pipeline.runner import Pipeline

CONFIG_FLAG = "cfg_"  # dest prefix of the flags generated from RunConfig's scalar keys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run a method's pipeline (SFT, K co-evolution iterations, eval)"
    )
    parser.add_argument("config", help="YAML run config (see configs/)")
    parser.add_argument("--out", help="run directory (default: runs/<config name>)")
    add_overrides(parser, "override a config key, e.g. --set iterations=2 --set envs.0.train_limit=8")
    parser.add_argument("--resume", action="store_true", help="continue an existing run directory")
    parser.add_argument("--redo-from", metavar="STAGE", help="recompute this stage and every later one")
    parser.add_argument(
        "--accept-config-change", action="store_true", help="keep finished stages although the config changed"
    )
    keys = parser.add_argument_group("config keys (RunConfig; override the file, like --set KEY=VALUE)")
    parser.set_defaults(func=run, config_flags=add_flags(keys, RunConfig, dest_prefix=CONFIG_FLAG))


def flag_overrides(args: argparse.Namespace) -> list[str]:
    """Generated `--key value` flags as `key=value` overrides (before any --set)."""
    values = flag_values(args, args.config_flags, CONFIG_FLAG)
    return [f"{key}={value}" for key, value in values.items()]


def run(args: argparse.Namespace) -> int:
    from coevolve.pipeline.validate import preflight

    config = load_config(args.config, [*flag_overrides(args), *args.overrides])
    preflight(config, where=str(args.config))  # before any model is loaded
    run_dir = Path(args.out or Path("runs") / Path(args.config).stem)
    if RunLayout(run_dir).manifest.exists() and not (args.resume or args.redo_from):
        raise ValueError(
            f"{run_dir} already holds a run; pass --resume to continue it or choose another --out"
        )
    results = Pipeline(config, run_dir).run(args.accept_config_change, args.redo_from)
    from coevolve.evaluation.report import print_results

    print_results([run_dir], Console())
    return 0 if results else 1
