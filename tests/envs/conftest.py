"""ScienceWorld fixtures: one simulator per test module (a JVM start costs 1-2 s)."""

from __future__ import annotations

import os
import shutil

import pytest


def java_pids_under(pid: int) -> list[int]:
    """Java processes among the children of `pid` (a pool worker's JVMs)."""
    found = []
    for thread in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{thread}/children") as fh:
            for child in fh.read().split():
                with open(f"/proc/{child}/cmdline", "rb") as cmd:
                    if b"java" in cmd.read():
                        found.append(int(child))
    return found


@pytest.fixture
def java_children():
    return java_pids_under


@pytest.fixture(scope="module")
def sciworld():
    if shutil.which("java") is None:
        pytest.skip("needs Java")
    from coevolve.envs.registry import make_env

    env = make_env("sciworld")
    yield env
    env.close()
