"""A small deterministic text environment for engine tests (a real Env subclass, run by a real EnvPool).

Task `k`: the episode is done after `k` turns (any text is an action), with reward 1.0 for even `k` and
0.5 for odd `k`; tasks with `k > CAP` hit the step cap first and score 0. Observations echo the turn
count and the action's length, so they depend on what the model wrote.
"""

from __future__ import annotations

from coevolve.data.records import Message, Task
from coevolve.envs.base import Env, StepResult
from coevolve.envs.prompts import PromptTemplate
from coevolve.envs.registry import register_env

CAP = 4


@register_env("counting")
class CountingEnv(Env):
    splits = ("test", "dev")  # the same tasks under two names (evaluation of several splits)

    def __init__(self, data_dir: str | None = None, num_tasks: int = 6) -> None:
        super().__init__(data_dir)
        self.num_tasks = num_tasks
        self.count = 0

    def tasks(self, split: str) -> list[Task]:
        self.check_split(split)
        return [Task("counting", split, str(k)) for k in range(1, self.num_tasks + 1)]

    def prompt(self) -> PromptTemplate:
        example = [Message("user", "Count to 1."), Message("assistant", "Thought: one turn.\nAction: 1")]
        return PromptTemplate("Count the turns. Answer with Thought and Action.", [example])

    def max_steps(self, task: Task) -> int:
        return CAP

    def parse_action(self, output: str) -> str | None:
        return output  # every text counts as an action

    def _reset(self, task: Task) -> str:
        self.count = 0
        return f"Count to {task.id}."

    def _step(self, action: str) -> StepResult:
        assert self.task is not None
        self.count += 1
        target = int(self.task.id)
        done = self.count >= target
        reward = (1.0 if target % 2 == 0 else 0.5) if done else 0.0
        return StepResult(f"Observation: turn {self.count}, you wrote {len(action)} characters", reward, done)

    def reward_at_step_cap(self, last: StepResult) -> float:
        return 0.0
