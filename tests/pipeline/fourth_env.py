"""A fourth benchmark registered from outside the package: an env class and its `Benchmark` description.

This module is the whole of what adding a benchmark takes (README, "Extending"): an `Env` subclass
registered with `@register_env` and a `Benchmark` registered with `register_benchmark`. In the package
the module would live under `coevolve/envs/` with one line in `registry.ENV_MODULES`; nothing in pairs,
the report, the evaluation runner or the CLI names it.

Task `k` asks the agent to `pass` the baton `k` times; the reward is the share of `pass` actions so far,
final after `k` steps. The first turn carries a "Relay task:" header that expert files leave out; the
env's `task_turn_key` says so, and the pairs ask the description for that rule.
"""

from __future__ import annotations

from coevolve.data.records import Message, Task
from coevolve.data.resources import Resource
from coevolve.envs.base import Env, ExpertStep, StepResult
from coevolve.envs.benchmark import Benchmark, Column, Service, register_benchmark
from coevolve.envs.prompts import PromptTemplate
from coevolve.envs.registry import register_env

HEADER = "Relay task:\n"
SPLITS = ("dev", "test")
STARTED: list[str] = []  # what the fake service's start() was asked to do


def relay_tasks(split: str) -> list[Task]:
    offset = 0 if split == "dev" else 10
    return [Task("relay", split, str(k + offset), meta={"k": k}) for k in (1, 2, 3)]


def relay_prompt() -> PromptTemplate:
    example = [
        Message("user", f"{HEADER}Pass the baton 1 times."),
        Message("assistant", "Thought: go.\nAction: pass"),
    ]
    return PromptTemplate(
        "Pass the baton. Answer with Thought and Action.", [example], prompt_set="relay-own"
    )


@register_env("relay")
class RelayEnv(Env):
    splits = SPLITS
    data_label = "sample"
    instances = 0  # counts constructions: the description must not need one for tasks and prompt

    def __init__(self, data_dir: str | None = None, length: int = 3) -> None:
        super().__init__(data_dir)
        RelayEnv.instances += 1
        self.length, self.passed = length, 0

    def tasks(self, split: str) -> list[Task]:
        return relay_tasks(self.check_split(split))

    def prompt(self) -> PromptTemplate:
        return relay_prompt()

    def max_steps(self, task: Task) -> int:
        return task.meta["k"] + 1

    def _reset(self, task: Task) -> str:
        self.passed = 0
        return f"{HEADER}Pass the baton {task.meta['k']} times."

    def _step(self, action: str) -> StepResult:
        assert self.task is not None
        k = self.task.meta["k"]
        self.passed += action == "pass"
        return StepResult(f"Observation: {self.passed} passes", self.passed / k, self.num_steps + 1 >= k)

    def expert(self, task: Task) -> list[ExpertStep]:
        return [ExpertStep("I should pass the baton.", "pass")] * task.meta["k"]

    @classmethod
    def task_turn_key(cls, text: str) -> str:
        return text.removeprefix(HEADER).strip()


RUNNING: list[bool] = []  # the fake server's state: [True] while it runs


def _start_service() -> str:
    STARTED.append("start")
    if RUNNING:
        return "already running"
    RUNNING.append(True)
    return "started (relay)"


def _stop_service() -> str:
    STARTED.append("stop")
    RUNNING.clear()
    return "stopped (relay)"


BENCHMARK = register_benchmark(
    Benchmark(
        name="relay",
        display_name="Relay",
        columns=(Column("Relay dev", "dev"), Column("Relay test", "test")),
        metric="share of passes x100",
        expert_reward_one=True,  # its experts always finish the relay, whatever a file records
        min_expert_reward=0.5,
        service=Service(
            "relay server",
            _start_service,
            external_env_var="RELAY_URL",
            how_to_start="relay up",
            stop=_stop_service,
        ),
        data=lambda kwargs, data_dir: ("sample", "three relay tasks per split"),
        task_list=lambda split, data_dir, kwargs: relay_tasks(split),
        prompt_loader=lambda data_dir, kwargs: relay_prompt(),
        resources=(Resource("relay/tasks.json", url=None, sha256=None, source="the relay's own tasks"),),
    )
)


def expert_file_turn(text: str) -> str:
    """The task turn as an expert file would show it (no header), for the pair-rule test."""
    return text.removeprefix(HEADER)


__all__ = ["BENCHMARK", "RUNNING", "STARTED", "RelayEnv", "expert_file_turn"]
