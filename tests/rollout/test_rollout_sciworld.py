"""Rollout through the real ScienceWorld simulator in an env worker process (tiny model, Java)."""

from __future__ import annotations

import pytest

from coevolve.agents import SamplingParams
from coevolve.data.jsonl import trajectory_file
from coevolve.evaluation.runner import evaluate

pytestmark = pytest.mark.java


def test_sciworld_eval_in_worker_process(tiny_model_dir, tmp_path):
    summary = evaluate(
        str(tiny_model_dir), "sciworld", "unseen", tmp_path, limit=2, max_steps=2, num_workers=1,
        params=SamplingParams(max_new_tokens=4), show_progress=False,
        # the byte-level tiny tokenizer makes the ETO prompt longer than its nominal 2048 positions
        policy_kwargs={"device": "cpu", "max_context": 8192},
    )  # fmt: skip
    assert summary["episodes"] == 2 and summary["end_reasons"] == {"step_cap": 2}
    assert (summary["data"], summary["prompts"]) == ("official", "embedded")
    trajs = trajectory_file(tmp_path / "episodes.jsonl").read()
    assert [t.task.id for t in trajs] == ["0_21", "0_22"]
    for traj in trajs:
        assert traj.messages[0].content.startswith("Task Description:\nYour task is to boil")
        assert traj.instruction.startswith("You are an agent that carries out science tasks")  # embedded
        assert traj.num_steps == 2 and traj.meta == {"with_examples": True, "max_steps": 2}
        for step in traj.steps:  # the model's text went to the simulator's wrapper, which answered
            assert step.observation.startswith("Observation:")
