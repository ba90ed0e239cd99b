"""Generated experts drop the steps an env calls no-ops, and say so in each record."""

from __future__ import annotations

import json

from coevolve.data.records import Task
from coevolve.envs.base import Env, ExpertStep, StepResult
from coevolve.envs.prompts import PromptTemplate
from coevolve.experts import ExpertConfig, ExpertGenerator, expert_record, play_expert

NOTHING = "Observation: nothing changes."


class StairsEnv(Env):
    """Two `climb` steps finish a task; `wave` changes nothing (a no-op). Cap: 3 steps."""

    name = "stairs"
    splits = ("train",)

    def tasks(self, split: str) -> list[Task]:
        return [Task("stairs", split, "0")]

    def prompt(self) -> PromptTemplate:
        return PromptTemplate("Climb two steps.", [])

    def max_steps(self, task: Task) -> int:
        return 3

    def _reset(self, task: Task) -> str:
        self.height = 0
        return "You are at the bottom."

    def _step(self, action: str) -> StepResult:
        if action != "climb":
            return StepResult(NOTHING, self.height / 2, False)
        self.height += 1
        return StepResult(f"Observation: height {self.height}", self.height / 2, self.height == 2)

    def is_noop(self, result: StepResult) -> bool:
        return result.observation == NOTHING

    def expert(self, task: Task) -> list[ExpertStep]:
        return [ExpertStep("up", "climb"), ExpertStep("hi", "wave"), ExpertStep("hi", "wave"),
                ExpertStep("up", "climb")]  # fmt: skip


def test_noops_are_dropped_and_do_not_count_toward_the_cap():
    env = StairsEnv()
    traj = play_expert(env, env.tasks("train")[0])
    assert [s.action for s in traj.steps] == ["climb", "climb"]
    assert traj.reward == 1.0 and traj.end_reason == "done"
    assert traj.meta == {"noops": "dropped", "dropped_noops": 2}
    record = expert_record(traj)
    assert record["noops"] == "dropped" and record["dropped_noops"] == 2
    turns = [m["value"] for m in record["conversations"] if m["from"] == "gpt"]
    assert turns == ["OK"] + ["Thought: up\nAction: climb"] * 2


def test_kept_noops_are_played_and_can_hit_the_cap():
    env = StairsEnv()
    traj = play_expert(env, env.tasks("train")[0], drop_noops=False)
    assert [s.action for s in traj.steps] == ["climb", "wave", "wave"]
    assert traj.reward == 0.5 and traj.end_reason == "step_cap"
    assert traj.meta == {"noops": "kept", "dropped_noops": 0}


def test_generator_records_the_noop_policy(tmp_path):
    out = tmp_path / "experts.jsonl"
    ExpertGenerator(ExpertConfig("stairs", "train", out), StairsEnv()).run(show_progress=False)
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["actions"] == ["climb", "climb"] and record["dropped_noops"] == 2
    kept = tmp_path / "kept.jsonl"
    counts = ExpertGenerator(ExpertConfig("stairs", "train", kept, drop_noops=False), StairsEnv()).run(
        show_progress=False
    )
    assert counts.below_reward == 1 and kept.read_text() == ""  # the cap ends it below reward 1
