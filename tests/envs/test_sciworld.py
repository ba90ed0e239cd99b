"""ScienceWorld with ETO's conventions, against the real simulator."""

from __future__ import annotations

import json

import pytest

from coevolve.data.records import RecordError
from coevolve.data.resources import ResourceMissing
from coevolve.envs.base import Env, StepResult
from coevolve.envs.sciworld import SciWorldEnv, thought_for
from coevolve.experts import play_expert


def test_splits_ids_and_caps():
    env = SciWorldEnv()
    sizes = {split: len(env.tasks(split)) for split in env.splits}
    assert sizes == {"train": 1483, "seen": 194, "unseen": 211}
    task = env.tasks("unseen")[0]
    assert task.id == "0_21" and task.meta["task_name"] == "task-1-boil" and env.max_steps(task) == 100
    assert {t.meta["task_name"][:6] for t in env.tasks("unseen")} >= {"task-1", "task-3", "task-7"}
    assert not any("task-8" in t.meta["task_name"] for t in env.tasks("train"))


def test_malformed_split_file_names_the_item(tmp_path, monkeypatch):
    (tmp_path / "eto/sciworld").mkdir(parents=True)
    (tmp_path / "eto/sciworld/test_indices.json").write_text(json.dumps([["task-1-boil", 21], ["x"]]))
    with pytest.raises(RecordError, match=r"test_indices.json: item 1"):
        SciWorldEnv(data_dir=str(tmp_path)).tasks("unseen")


def test_offline_splits_come_from_the_packaged_lists(tmp_path, monkeypatch):
    monkeypatch.setenv("COEVOLVE_OFFLINE", "1")
    monkeypatch.setenv("COEVOLVE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COEVOLVE_CACHE_DIR", str(tmp_path / "cache"))
    assert len(SciWorldEnv(data_dir=str(tmp_path / "empty")).tasks("seen")) == 194


def test_upstream_prompt_set_offline_names_the_missing_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COEVOLVE_OFFLINE", "1")
    monkeypatch.setenv("COEVOLVE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COEVOLVE_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ResourceMissing, match="eto/prompts/sciworld_inst.txt"):
        SciWorldEnv(prompt_set="eto").prompt()
    with pytest.raises(ValueError, match="unknown prompt_set 'ipr'; valid: embedded, auto, eto"):
        SciWorldEnv(prompt_set="ipr")


def test_thoughts_restate_the_action():
    assert thought_for("teleport to kitchen") == "I should go to the kitchen."
    assert thought_for("move lead to metal pot") == "I should move the lead to the metal pot."
    assert "focus" in thought_for("focus on buzzer") and "buzzer" in thought_for("focus on buzzer")
    assert thought_for("dance") == "I should dance."


@pytest.mark.java
def test_first_turn_prompt_and_invalid_inputs(sciworld: Env):
    task = sciworld.get_task("unseen", "18_27")
    first = sciworld.reset(task)
    assert first.startswith("Task Description:\nYour task is to use chemistry to create")
    prompt = sciworld.prompt()
    assert prompt.prompt_set == "embedded" and len(prompt.examples) == 1  # the default: no download
    assert prompt.examples[0][0].content.startswith("Your task is")  # as ETO's example: no header
    bad = sciworld.act("I think I should look")
    assert bad.observation == Env.invalid_format_observation and not bad.done and sciworld.num_steps == 1
    unknown = sciworld.act("Thought: try\nAction: flibber the gadget")
    assert unknown.observation == "Observation: No known action matches that input."
    look = sciworld.act("Thought: look\nAction: look around")
    assert look.observation.startswith("Observation: This room is called")


@pytest.mark.java
def test_header_can_be_dropped():
    env = SciWorldEnv(keep_task_header=False)
    try:
        assert env.reset(env.get_task("unseen", "13_225")).startswith("Your task is to find")
    finally:
        env.close()


@pytest.mark.java
def test_fatal_action_keeps_the_best_reward(sciworld: Env):
    # power-component: reaching the workshop scores; focusing on the wrong object is fatal (-100)
    task = sciworld.get_task("unseen", "7_16")
    gold = [s.action for s in sciworld.expert(task)]
    sciworld.reset(task)
    best = 0.0
    for action in gold[: gold.index("focus on buzzer")]:
        best = sciworld.step(action).reward
    assert 0 < best < 1
    fatal = sciworld.step("focus on air")
    assert fatal.done and fatal.info["score"] < 0
    assert fatal.reward == best and fatal.info["end_reason"] == "done"


@pytest.mark.java
def test_step_cap_ends_the_episode_keeping_the_reward(sciworld: Env):
    task = sciworld.get_task("unseen", "20_93")  # lifespan: cap 10
    sciworld.reset(task)
    results = [sciworld.step("look around") for _ in range(sciworld.max_steps(task))]
    assert [r.done for r in results] == [False] * 9 + [True]
    assert results[-1].info["end_reason"] == "step_cap" and results[-1].reward == results[-2].reward


@pytest.mark.java
def test_expert_reaches_full_reward(sciworld: Env):
    task = sciworld.get_task("unseen", "14_225")  # find a plant: the gold path opens open doors
    gold = [s.action for s in sciworld.expert(task)]  # the simulator's path, no-ops included
    noops = [a for a in gold if a.startswith("open door")]
    traj = play_expert(sciworld, task)
    actions = [s.action for s in traj.steps]
    assert noops and not any(a.startswith("open door") for a in actions)  # doors start open in easy mode
    assert traj.meta == {"noops": "dropped", "dropped_noops": len(noops)}
    assert [a for a in gold if not a.startswith("open door")][: len(actions)] == actions
    assert traj.reward == 1.0 and traj.end_reason == "done"
    sciworld.reset(task)  # the kept actions alone replay to the same end
    for action in actions:
        result = sciworld.step(action)
    assert result.done and result.reward == 1.0 and result.info["end_reason"] == "done"


def test_already_open_is_a_noop():
    env = SciWorldEnv()  # the simulator starts on first use; is_noop reads the observation only
    assert env.is_noop(StepResult("Observation: The door is already open.", 0.0, False))
    assert not env.is_noop(StepResult("Observation: The door is now open.", 0.0, False))
    assert not env.is_noop(StepResult("Observation: You move to the kitchen.", 0.0, False))


def _play(env: Env, task, actions: list[str]) -> list[tuple]:
    first = env.reset(task)
    results = [(first,)]
    for action in actions:
        result = env.step(action)
        results.append((result.observation, result.reward, result.done, result.info["score"]))
        if result.done:
            break
    return results


@pytest.mark.java
def test_episode_depends_only_on_task_and_actions(sciworld: Env):
    # power-component: with the JVM's default identity hashing, whether the buzzer powered on in the
    # tick of the last `connect` or one `wait` later depended on what that JVM had run before.
    task = sciworld.get_task("unseen", "7_16")
    fresh = SciWorldEnv()
    try:
        actions = [s.action for s in fresh.expert(task)] + ["wait1", "wait1"]
        expected = _play(fresh, task, actions)
    finally:
        fresh.close()
    assert expected[-1][1:3] == (1.0, True)
    others = [sciworld.get_task("unseen", i) for i in ("0_21", "13_225", "18_27")]
    for other in others:  # other episodes
        _play(sciworld, other, ["look around", "inventory", "wait1"])
    assert _play(sciworld, task, actions) == expected
    for other in [*others, task]:  # gold-path loads (they hash many more objects)
        gold = [s.action for s in sciworld.expert(other)]
        assert _play(sciworld, task, actions) == expected
    assert gold == actions[:-2]


@pytest.mark.java
def test_gold_path_does_not_depend_on_earlier_tasks(sciworld: SciWorldEnv):
    task = sciworld.get_task("unseen", "10_451")
    fresh = SciWorldEnv()
    try:
        expected = fresh.gold_actions(task)
    finally:
        fresh.close()
    for other in ("0_21", "9_676", "10_450"):  # the gold agent used to reuse their room-search route
        sciworld.gold_actions(sciworld.get_task("unseen", other))
    assert sciworld.gold_actions(task) == expected
