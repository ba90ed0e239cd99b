"""Rollout engine on the counting environment with the tiny random model (in-process env pool)."""

from __future__ import annotations

from pathlib import Path

import pytest
from counting_env import CAP

from coevolve.agents import SamplingParams, make_policy
from coevolve.data.jsonl import trajectory_file
from coevolve.envs.registry import make_env
from coevolve.rollout import run_rollouts

PARAMS = SamplingParams(max_new_tokens=6)


@pytest.fixture(scope="module")
def policy(tiny_model_dir: Path):
    return make_policy("hf", str(tiny_model_dir), device="cpu")


@pytest.fixture(scope="module")
def tasks():
    return make_env("counting").tasks("test")


def _run(policy, tasks, out: Path, **kw):
    kw.setdefault("max_concurrent", 4)
    return run_rollouts(
        "counting",
        tasks,
        policy,
        out,
        agent="target",
        params=PARAMS,
        num_workers=0,
        show_progress=False,
        **kw,
    )


def test_episodes_follow_env_rules_and_are_written(policy, tasks, tmp_path):
    out = tmp_path / "roll.jsonl"
    trajs = _run(policy, tasks, out, iteration=2)
    assert [t.task.id for t in trajs] == [t.id for t in tasks]
    for traj in trajs:
        k = int(traj.task.id)
        if k <= CAP:
            assert (traj.end_reason, traj.num_steps) == ("done", k)
            assert traj.reward == (1.0 if k % 2 == 0 else 0.5)
        else:
            assert (traj.end_reason, traj.num_steps, traj.reward) == ("step_cap", CAP, 0.0)
        assert traj.success == (traj.reward == 1.0)
        # episode = first task turn, then assistant/observation turns, ending on the last action
        assert traj.messages[0].content == f"Count to {k}."
        assert [m.role for m in traj.messages] == ["user"] + ["assistant", "user"] * (traj.num_steps - 1) + [
            "assistant"
        ]
        assert all(m.token_ids for m in traj.messages if m.role == "assistant")
        assert [s.raw for s in traj.steps] == [m.content for m in traj.messages if m.role == "assistant"]
        assert traj.completion_tokens == sum(len(m.token_ids or []) for m in traj.messages)
        assert traj.prompt_tokens > 0 and traj.iteration == 2 and traj.model == policy.name
        assert traj.instruction == "Count the turns. Answer with Thought and Action."
        assert traj.sampling["max_new_tokens"] == 6
    stored = trajectory_file(out).read()
    assert sorted(t.key for t in stored) == sorted(t.key for t in trajs)


def test_batching_does_not_change_greedy_episodes(policy, tasks, tmp_path):
    batched = _run(policy, tasks, tmp_path / "b.jsonl", max_concurrent=6)
    single = _run(policy, tasks, tmp_path / "s.jsonl", max_concurrent=1)
    assert [[m.content for m in t.messages] for t in batched] == [
        [m.content for m in t.messages] for t in single
    ]


def test_rerun_skips_finished_episodes(policy, tasks, tmp_path):
    out = tmp_path / "roll.jsonl"
    first = _run(policy, tasks[:3], out)
    lines_before = out.read_text().count("\n")
    again = _run(policy, tasks[:3], out)
    assert out.read_text().count("\n") == lines_before  # nothing re-run
    assert [t.key for t in again] == [t.key for t in first]
    more = _run(policy, tasks, out)  # only the 3 new tasks run
    assert out.read_text().count("\n") == len(tasks)
    assert [t.task.id for t in more] == [t.id for t in tasks]


def test_samples_per_task_are_separate_episodes(policy, tasks, tmp_path):
    trajs = _run(policy, tasks[:2], tmp_path / "r.jsonl", samples_per_task=3)
    assert [(t.task.id, t.sample_index) for t in trajs] == [(i, s) for i in ("1", "2") for s in range(3)]
    assert len({t.key for t in trajs}) == 6


def test_context_overflow_ends_episode(tiny_model_dir, tasks, tmp_path):
    from coevolve.data.records import Message

    probe = make_policy("hf", str(tiny_model_dir), device="cpu")
    template = make_env("counting").prompt()
    first_prompt = len(probe.render(template.messages([Message("user", "Count to 6.")])))
    # Room for the first turn and little more: later turns outgrow the context.
    small = make_policy(
        "hf", str(tiny_model_dir), device="cpu", max_context=first_prompt + PARAMS.max_new_tokens + 2
    )
    trajs = _run(small, tasks[5:], tmp_path / "r.jsonl")
    assert trajs[0].end_reason == "context_length"
    assert 1 <= trajs[0].num_steps < 6
    assert trajs[0].reward == 0.0 and not trajs[0].success
