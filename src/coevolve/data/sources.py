"""Which data an environment will use, said in one line before anything runs (`coevolve demo`).

Each benchmark's description (`Benchmark.data`, envs/) mirrors the choices its environment makes itself
(prompt set, task set, catalogue), without starting a simulator, a database connection or a catalogue
build. The labels are the ones written into every summary.json (`data`, `prompts`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coevolve.envs.benchmark import get_benchmark
from coevolve.envs.prompts import EMBEDDED, choose_prompt_set


def describe(env: str, env_kwargs: dict[str, Any] | None = None, data_dir: str | Path | None = None) -> str:
    """E.g. "NAME: data=generated (a generated catalogue ...), prompts=embedded (...)"."""
    kwargs = dict(env_kwargs or {})
    label, tasks = get_benchmark(env).describe_data(kwargs, data_dir)
    prompts = choose_prompt_set(env, kwargs.get("prompt_set", EMBEDDED), data_dir)
    how = "coevolve's own, no download" if prompts == EMBEDDED else f"{prompts.upper()}'s files"
    return f"{env}: data={label} ({tasks}), prompts={prompts} ({how})"
