"""`coevolve validate CONFIG`: load a run config and check everything checkable without compute.

Keys (did-you-mean), types, choices and ranges of every section, then `pipeline/validate.py`'s
pre-flight checks: envs registered and constructible, splits, expert files and data resources, model
paths, the launcher config, and token caps against a run directory's experts (`--out`, when written).
`--defaults` prints every key with its default (configs/defaults.yaml). A study file (`study:` section) is
checked as `coevolve study CONFIG --check` checks it: every (seed, method) run.
"""

from __future__ import annotations

import argparse

from coevolve.configtree import add_overrides


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="check a run config before any compute")
    parser.add_argument("config", nargs="?", help="YAML run config (see configs/)")
    add_overrides(parser, "override a config key, as in `coevolve run`")
    parser.add_argument("--out", help="run directory whose experts the token caps are checked against")
    parser.add_argument("--defaults", action="store_true", help="print every key with its default and exit")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from coevolve.pipeline.config import load_config, to_yaml
    from coevolve.pipeline.study import is_study_file
    from coevolve.pipeline.validate import defaults_yaml, preflight

    if args.defaults:
        print(defaults_yaml(), end="")
        return 0
    if not args.config:
        raise ValueError("validate: give a CONFIG file (or --defaults)")
    if is_study_file(args.config):  # a `study:` file: what `coevolve study CONFIG --check` checks
        from coevolve.cli import study

        study_args = {"seeds": None, "data_dir": None, "report_only": False, "check": True}
        return study.run(argparse.Namespace(**vars(args), **study_args))
    config = load_config(args.config, args.overrides)
    for note in preflight(config, args.out, str(args.config)):
        print(f"note: {note}")
    print(f"{args.config}: ok ({config.method}, {len(config.envs)} env(s), {config.iterations} iterations)")
    if args.overrides:
        print(to_yaml(config), end="")
    return 0
