"""The environment contract every benchmark implements.

An environment turns an agent's text into an action, applies it, and answers with the next user turn.
The base class owns what is common to ETO/IPR's wrappers: the `Action:` parsing, the invalid-format
observation (the step still counts), the per-task step cap and the end reason. Subclasses implement
`_reset`, `_step`, `tasks` and, optionally, `expert` (gold actions with short thoughts).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from coevolve.data.records import Task
from coevolve.envs.prompts import PromptTemplate

# ETO: the action is the text after the first "Action: " (dot matches newline).
ACTION_RE = re.compile(r"Action: (.*)", re.DOTALL)


class EnvError(RuntimeError):
    """The environment itself failed (simulator crash, lost server); the episode may be retried."""


class ServiceError(RuntimeError):
    """A service a benchmark needs (a database server) cannot be started or reached; the message says
    why and what to do. The CLI prints it without a traceback."""


class UnknownName(KeyError):
    """An unknown env, split or task name; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError quotes its message; show it as written
        return str(self.args[0])


@dataclass
class StepResult:
    observation: str  # the next user turn, exactly as the agent sees it
    reward: float  # the episode's reward so far (final once done)
    done: bool
    action: str | None = None  # the parsed action, None when the output had no valid action
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExpertStep:
    thought: str
    action: str

    def text(self, env: Env) -> str:
        """The assistant turn as the model should write it."""
        return env.format_output(self.thought, self.action)


def name_error(kind: str, name: str, valid: list[str], limit: int = 20) -> UnknownName:
    shown = ", ".join(valid[:limit]) + (f", ... ({len(valid)} in all)" if len(valid) > limit else "")
    return UnknownName(f"unknown {kind} {name!r}; valid: {shown}")


class Env(ABC):
    """One environment instance holds at most one live episode."""

    name: ClassVar[str]
    splits: ClassVar[tuple[str, ...]]
    invalid_format_observation: ClassVar[str] = (
        "Observation: Invalid format. The input must contains 'Action: '"
    )
    # Deadlines the EnvPool gives one step and one reset (seconds; overridable per run: EnvSpec).
    step_timeout: ClassVar[float] = 60.0
    reset_timeout: ClassVar[float] = 300.0

    # Which data an instance uses, recorded in every evaluation summary: the tasks ("official", or
    # "generated"/"sample" when they are not the benchmark's) and the prompt set ("embedded", "eto", "ipr").
    data_label: str = "official"
    prompt_set: str = "embedded"

    def __init__(self, data_dir: str | None = None) -> None:
        self.data_dir = data_dir
        self.task: Task | None = None
        self.num_steps = 0
        self.done = False
        self.last_reward = 0.0

    # ------------------------------------------------------------ subclass API

    @abstractmethod
    def tasks(self, split: str) -> list[Task]:
        """The tasks of a split, in the benchmark's order."""

    @abstractmethod
    def _reset(self, task: Task) -> str:
        """Start the episode; return the first task turn (user message)."""

    @abstractmethod
    def _step(self, action: str) -> StepResult:
        """Apply a parsed action."""

    @abstractmethod
    def prompt(self) -> PromptTemplate:
        """Instruction and in-context examples, as the benchmark's wrapper uses them."""

    def max_steps(self, task: Task) -> int:
        return 10

    def reward_at_step_cap(self, last: StepResult) -> float:
        """Reward when the cap ends an unfinished episode (WebShop: 0; ScienceWorld: keep the max)."""
        return last.reward

    def parse_action(self, output: str) -> str | None:
        match = ACTION_RE.search(output)
        return match.group(1).strip() if match else None

    def format_output(self, thought: str, action: str) -> str:
        return f"Thought: {thought}\nAction: {action}"

    def expert(self, task: Task) -> list[ExpertStep]:
        """Gold actions for a task with short factual thoughts (generated, not GPT-4 annotated)."""
        raise NotImplementedError(f"{self.name} has no expert generator")

    def is_noop(self, result: StepResult) -> bool:
        """True when the step changed nothing (ScienceWorld: opening a door that is already open).

        The env decides from its own observation; generated experts drop such steps (`experts.py`).
        By default no step is a no-op.
        """
        return False

    def take_back(self, reward_before: float) -> None:
        """Forget the last step for the step count (only for a no-op, which changed nothing): it no
        longer counts toward the cap, and an episode that the cap ended on it goes on."""
        self.num_steps -= 1
        self.done, self.last_reward = False, reward_before

    def close(self) -> None:  # noqa: B027 - optional hook, most envs hold nothing
        """Release processes and connections."""

    # ------------------------------------------------------------ expert files vs rollouts

    @classmethod
    def task_turn_key(cls, text: str) -> str:
        """A first task turn without this env's presentation details (a header, a prefix), so that one
        task's turn compares equal across rollouts, gold-path experts and ETO/IPR expert files."""
        return text.strip()

    @classmethod
    def task_turn_difference(cls, first_turn: str, expert_turn: str) -> str | None:
        """How an expert's task turn relates to this env's first turn of the same task: None when they
        show the same task once `task_turn_key` is applied to both, else a short reason that the pair
        statistics count ("text" here; envs name differences they know, e.g. WebShop's price cap)."""
        return None if cls.task_turn_key(first_turn) == cls.task_turn_key(expert_turn) else "text"

    # ------------------------------------------------------------ episode driver

    @classmethod
    def check_split(cls, split: str) -> str:
        if split not in cls.splits:
            raise name_error(f"{cls.name} split", split, list(cls.splits))
        return split

    def get_task(self, split: str, task_id: str) -> Task:
        tasks = self.tasks(self.check_split(split))
        for task in tasks:
            if task.id == str(task_id):
                return task
        raise name_error(f"{self.name} {split} task", str(task_id), [t.id for t in tasks])

    def reset(self, task: Task) -> str:
        self.task, self.num_steps, self.done, self.last_reward = task, 0, False, 0.0
        return self._reset(task)

    def act(self, output: str) -> StepResult:
        """One agent turn: parse the model's text, then step (an unparsable turn still counts)."""
        action = self.parse_action(output)
        if action is None:
            return self._count(StepResult(self.invalid_format_observation, self.last_reward, False))
        return self.step(action)

    def step(self, action: str) -> StepResult:
        """Apply an already-parsed environment action."""
        if self.task is None:
            raise EnvError(f"{self.name}: step() before reset()")
        if self.done:
            raise EnvError(f"{self.name}: step() after the episode ended")
        result = self._step(action)
        result.action = action
        return self._count(result)

    def _count(self, result: StepResult) -> StepResult:
        assert self.task is not None
        self.num_steps += 1
        if result.done:
            result.info.setdefault("end_reason", "done")
        elif self.num_steps >= self.max_steps(self.task):
            result.done = True
            result.reward = self.reward_at_step_cap(result)
            result.info["end_reason"] = "step_cap"
        self.done, self.last_reward = result.done, result.reward
        return result

    def __enter__(self) -> Env:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
