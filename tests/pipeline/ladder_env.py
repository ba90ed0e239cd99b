"""A small deterministic environment for pipeline tests (a real Env subclass with gold actions).

Task `k` asks for `k` steps of `climb`; the reward is the share of steps so far whose action was
`climb`, final when `k` steps were taken, so different outputs give different failure rewards.
"""

from __future__ import annotations

from coevolve.data.records import Message, Task
from coevolve.envs.base import Env, ExpertStep, StepResult
from coevolve.envs.prompts import PromptTemplate
from coevolve.envs.registry import register_env


@register_env("ladder")
class LadderEnv(Env):
    splits = ("train", "test")

    def __init__(self, data_dir: str | None = None) -> None:
        super().__init__(data_dir)
        self.good = 0

    def tasks(self, split: str) -> list[Task]:
        offset = 0 if split == "train" else 10
        return [Task("ladder", split, str(k + offset), meta={"k": k}) for k in (1, 2, 3)]

    def prompt(self) -> PromptTemplate:
        return PromptTemplate("Climb the ladder. Answer with Thought and Action.", [])

    def max_steps(self, task: Task) -> int:
        return task.meta["k"] + 1

    def _reset(self, task: Task) -> str:
        self.good = 0
        return f"Climb {task.meta['k']} rungs."

    def _step(self, action: str) -> StepResult:
        assert self.task is not None
        k = self.task.meta["k"]
        self.good += action == "climb"
        return StepResult(f"Observation: {self.good} rungs", self.good / k, self.num_steps + 1 >= k)

    def expert(self, task: Task) -> list[ExpertStep]:
        return [ExpertStep("I should climb one rung.", "climb")] * task.meta["k"]


EXAMPLE = [Message("user", "Climb 1 rungs."), Message("assistant", "Thought: up.\nAction: climb")]
