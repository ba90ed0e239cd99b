"""What the rest of coevolve may know about a benchmark: one `Benchmark` description per environment.

Pairs, the report, the evaluation runner, the demo and the CLI ask this description instead of knowing
benchmark names: its display name, report columns (one per evaluation split, e.g. seen/unseen), metric,
how an expert's task turn relates to the env's first turn (the env class's `task_turn_difference`),
the expert reward rule (ETO counts a ScienceWorld expert as 1.0; the paper keeps WebShop experts above
0.7), the outside service it needs and how to start, stop and inspect it (`coevolve service`), its
upstream data files (`coevolve data`), its data label, and its tasks and prompt read
without starting a simulator or opening a database connection.

An env module registers its description next to its class (`register_benchmark(Benchmark(...))`);
the name's entry in `registry.ENV_MODULES` imports both on first use, so adding a benchmark touches
`envs/` and that one entry. An env registered without a description (a test env) gets a default one:
its name, one report column per split (shown only where a run evaluated it), no service, reward as
recorded. Project-own design, after lm-evaluation-harness's task configs (a task declares its metrics
and splits; the harness asks it).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coevolve.data.records import Task
from coevolve.data.resources import Resource, register_resource
from coevolve.envs.base import Env, UnknownName
from coevolve.envs.prompts import PromptTemplate
from coevolve.envs.registry import ENV_MODULES, check_kwargs, get_env_class, make_env
from coevolve.registry import Registry

Kwargs = dict[str, Any]
DataDir = str | Path | None


@dataclass(frozen=True)
class Column:
    """One column of the results table: an evaluation split under a short title ("SciW seen")."""

    title: str
    split: str


@dataclass(frozen=True)
class Service:
    """An outside process the benchmark needs (a database server) and how to make sure it runs.

    `start()` is idempotent and returns a line saying what it did ("started ..." / "already running");
    `stop()` (optional) stops it. `running()` keeps it up for one job and stops it after only if it
    started it there.
    When `external_env_var` is set in the environment the user runs their own server: nothing starts.
    `coevolve service start|stop|status NAME` runs `command(args)` with the options `add_arguments`
    declares (`args.action` is the action); without a `command` it can only start. `kind` groups
    services under a short command (`coevolve db ...` runs every service of kind "database").
    `user_error(exc)` tells the CLI that an exception of the service's client (server down, wrong
    password) is a setup problem to print in one line, not a bug to show with a traceback.
    """

    name: str
    start: Callable[[], str]
    external_env_var: str | None = None
    how_to_start: str = ""  # a command line for the README/CLI, e.g. "coevolve service start NAME"
    kind: str = ""  # "database": `coevolve db` is a short form of `coevolve service` for it
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    command: Callable[[argparse.Namespace], int] | None = None
    user_error: Callable[[BaseException], bool] | None = None
    stop: Callable[[], str] | None = None  # stops what `start` started; the line saying what it did

    def ensure(self) -> str | None:
        """Start the service unless the user points at their own; the status line, or None."""
        if self.external_env_var and os.environ.get(self.external_env_var):
            return None
        return self.start()

    @contextmanager
    def running(self, say: Callable[[str], object] = print) -> Iterator[str | None]:
        """The service up for one job (a demo): started unless the user points at their own, and stopped
        afterwards only if this call started it (a server that was already running stays up)."""
        status = self.ensure()
        if status:
            say(f"{self.name}: {status}")
        try:
            yield status
        finally:
            if status and status.startswith("started") and self.stop is not None:
                say(f"{self.name}: {self.stop()}")


def _no_data_rule(kwargs: Kwargs, data_dir: DataDir) -> tuple[str, str]:
    return "official", "its own tasks"


@dataclass(frozen=True)
class Benchmark:
    """A benchmark as the rest of the package sees it (see the module docstring)."""

    name: str  # the env registry name
    display_name: str  # "ScienceWorld"
    columns: tuple[Column, ...] = ()  # report columns, in table order; () = one per split of the env
    # always a column of `coevolve report` (the paper's table); False: only where a run evaluated it
    results_table: bool = False
    metric: str = "average final reward (x100 in tables); success = reward 1.0"
    expert_reward_one: bool = False  # an expert counts as reward 1.0 whatever its record says (ETO)
    min_expert_reward: float | None = None  # expert files: keep experts with reward > this (None: all)
    service: Service | None = None
    # (env_kwargs, data_dir) -> (summary `data` label, one-line description), without starting anything
    data: Callable[[Kwargs, DataDir], tuple[str, str]] = _no_data_rule
    # (split, data_dir, env_kwargs) -> tasks; None: a throwaway instance lists them
    task_list: Callable[[str, DataDir, Kwargs], list[Task]] | None = None
    # (data_dir, env_kwargs) -> the prompt, its `prompt_set` filled; None: a throwaway instance gives it
    prompt_loader: Callable[[DataDir, Kwargs], PromptTemplate] | None = None
    demo: dict[str, Any] = field(default_factory=dict)  # `coevolve demo --env NAME` sizing; {} = none
    # its upstream data files (split lists, prompts, expert files, catalogues): `coevolve data` lists them
    resources: tuple[Resource, ...] = ()

    # ------------------------------------------------------------ the env behind it

    def env_class(self) -> type[Env]:
        return get_env_class(self.name)

    def check_split(self, split: str) -> str:
        return self.env_class().check_split(split)

    def check_kwargs(self, env_kwargs: Kwargs | None) -> Kwargs:
        """The kwargs, after refusing a key the env does not take (a typo in `env_kwargs`)."""
        kwargs = dict(env_kwargs or {})
        check_kwargs(self.env_class(), {"data_dir": None, **kwargs})
        return kwargs

    def report_columns(self) -> tuple[Column, ...]:
        return self.columns or tuple(Column(self.name, s) for s in self.env_class().splits)

    # ------------------------------------------------------------ rules

    def task_turn_difference(self, first_turn: str, expert_turn: str) -> str | None:
        """None when an expert's task turn shows the env's first turn of the same task, else why not."""
        return self.env_class().task_turn_difference(first_turn, expert_turn)

    def expert_reward(self, recorded: float) -> float:
        """The reward an expert counts with in pairs (1.0 for benchmarks whose experts all succeed)."""
        return 1.0 if self.expert_reward_one else recorded

    # ------------------------------------------------------------ data without a live env

    def describe_data(self, env_kwargs: Kwargs | None = None, data_dir: DataDir = None) -> tuple[str, str]:
        return self.data(self.check_kwargs(env_kwargs), data_dir)

    def tasks(self, split: str, data_dir: DataDir = None, env_kwargs: Kwargs | None = None) -> list[Task]:
        self.check_split(split)
        if self.task_list is not None:
            return list(self.task_list(split, data_dir, self.check_kwargs(env_kwargs)))
        with self._instance(data_dir, env_kwargs) as env:
            return env.tasks(split)

    def prompt(self, data_dir: DataDir = None, env_kwargs: Kwargs | None = None) -> PromptTemplate:
        """The prompt an env built with these kwargs uses; `prompt_set` names it for summaries."""
        if self.prompt_loader is not None:
            return self.prompt_loader(data_dir, self.check_kwargs(env_kwargs))
        with self._instance(data_dir, env_kwargs) as env:
            template = env.prompt()
            template.prompt_set = template.prompt_set or env.prompt_set
            return template

    def _instance(self, data_dir: DataDir, env_kwargs: Kwargs | None) -> Env:
        kwargs = dict(env_kwargs or {})
        if data_dir is not None:
            kwargs.setdefault("data_dir", str(data_dir))
        return make_env(self.name, **kwargs)


# ------------------------------------------------------------------ registry

BENCHMARKS: Registry[Benchmark] = Registry("benchmark", lazy=ENV_MODULES)


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    """Register an env's description and its data resources (call it in the env's module, next to
    `@register_env`)."""
    for resource in benchmark.resources:
        register_resource(resource)
    return BENCHMARKS.register(benchmark.name, benchmark)


def get_benchmark(name: str) -> Benchmark:
    """The registered description, or a default one for an env registered without one."""
    if name in BENCHMARKS:
        try:
            return BENCHMARKS.get(name)
        except UnknownName:
            pass  # an env module that registers no description
    cls = get_env_class(name)  # raises for an unknown env, naming the valid ones
    return Benchmark(
        name=name, display_name=cls.name, data=lambda kwargs, data_dir: (cls.data_label, "its own tasks")
    )


def benchmarks(loaded_only: bool = False) -> list[Benchmark]:
    """Every description: the package's (imported on demand) and those registered from outside, in
    `ENV_MODULES` order, then registration order."""
    if not loaded_only:
        for name in ENV_MODULES:
            BENCHMARKS.get(name)
    found = BENCHMARKS.loaded()
    order = [*ENV_MODULES, *found]
    return [found[name] for name in dict.fromkeys(order) if name in found]
