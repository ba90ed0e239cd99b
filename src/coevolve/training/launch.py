"""Launching training under `accelerate launch` with the accelerate configs shipped in the package.

The configs (zero3, fsdp, multi_gpu) are package data (coevolve/training/accelerate/*.yaml, found with
importlib.resources), so a wheel install finds them; configs/accelerate/ keeps identical copies for
reading and for `accelerate launch --config_file configs/accelerate/zero3.yaml` by hand (a test keeps
them equal). `accelerate launch ... -m coevolve.cli train ...` runs with COEVOLVE_LAUNCHED=1 so the
command does not relaunch itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
from importlib.resources import files
from pathlib import Path

# a real directory for any non-zipped install (accelerate needs a file path)
CONFIG_DIR = Path(str(files("coevolve.training") / "accelerate"))
LAUNCH_FLAGS = ("--launcher", "--accelerate-config", "--num-processes")
LAUNCHED_ENV = "COEVOLVE_LAUNCHED"


def config_names() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def accelerate_config(name: str) -> Path:
    """A shipped config by name (zero3, fsdp, multi_gpu) or a file path."""
    path = Path(name)
    if path.is_file():
        return path
    candidate = CONFIG_DIR / f"{name}.yaml"
    if not candidate.is_file():
        raise FileNotFoundError(f"accelerate config {name!r}: not a file and not one of {config_names()}")
    return candidate


def accelerate_command(config: str, num_processes: int | None, cli_args: list[str]) -> list[str]:
    """`accelerate launch --config_file ... [--num_processes N] -m coevolve.cli <cli_args>`."""
    exe = shutil.which("accelerate") or "accelerate"
    cmd = [exe, "launch", "--config_file", str(accelerate_config(config))]
    if num_processes:
        cmd += ["--num_processes", str(num_processes)]
    return [*cmd, "-m", "coevolve.cli", *cli_args]


def without_launch_flags(argv: list[str]) -> list[str]:
    rest, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item in LAUNCH_FLAGS:
            skip = True
        elif item.split("=")[0] not in LAUNCH_FLAGS:
            rest.append(item)
    return rest


def launch_command(args: argparse.Namespace, argv: list[str]) -> list[str]:
    """`coevolve train ... --launcher accelerate` as `accelerate launch ... -m coevolve.cli <argv minus launcher flags>`."""
    return accelerate_command(args.accelerate_config, args.num_processes, without_launch_flags(argv))


def launched_env() -> dict[str, str]:
    """The environment of a launched job (it must not relaunch itself)."""
    return {**os.environ, LAUNCHED_ENV: "1"}
