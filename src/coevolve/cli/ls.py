"""`coevolve ls envs|methods|backends|configs|stages|pairs`: what the registries hold.

Names come from the registries (coevolve/registry.py), so an env, method or backend registered by a
plugin module shows up too once it is imported. `configs` lists the run configs under configs/ (when
run from a checkout) and the packaged accelerate configs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

KINDS = ("envs", "methods", "backends", "configs", "stages", "pairs")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ls", help="list environments, methods, backends, configs, stages, pair builders"
    )
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument(
        "--configs-dir", type=Path, default=Path("configs"), help="run configs (for `ls configs`)"
    )
    parser.set_defaults(func=run)


def listing(kind: str, configs_dir: Path = Path("configs")) -> list[str]:
    """The lines `coevolve ls KIND` prints."""
    if kind == "envs":
        from coevolve.envs.registry import env_names

        return env_names()
    if kind == "backends":
        from coevolve.agents.base import backend_names

        return backend_names()
    if kind == "methods":
        from coevolve.pipeline.recipes import get_method, method_names

        return [_method_line(get_method(name)) for name in method_names()]
    if kind == "stages":
        import coevolve.pipeline.runner  # noqa: F401 - registers the built-in stage kinds
        from coevolve.pipeline.recipes import STAGES

        return STAGES.names()
    if kind == "pairs":
        from coevolve.pairs.builders import PAIR_BUILDERS

        return [f"{n}  ({b.role})" for n, b in sorted(PAIR_BUILDERS.loaded().items())]
    return _configs(configs_dir)


def _method_line(method) -> str:
    keys = {**method.preset, **method.forced}
    shown = ", ".join(f"{k}={v}" for k, v in keys.items())
    return f"{method.name}  ({shown})" if shown else method.name


def _configs(configs_dir: Path) -> list[str]:
    from coevolve.training.launch import config_names

    runs = sorted(p.as_posix() for p in configs_dir.glob("**/*.yaml") if "accelerate" not in p.parts)
    return runs + [f"accelerate: {name}" for name in config_names()]


def run(args: argparse.Namespace) -> int:
    for line in listing(args.kind, args.configs_dir):
        print(line)
    return 0
