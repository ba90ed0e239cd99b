"""Token caps against the experts: pure rules on hand-built trajectories, then the pipeline's experts stage."""

from __future__ import annotations

import ladder_env  # noqa: F401  registers the "ladder" environment
import pytest

from coevolve.data.records import Message, Task, Trajectory
from coevolve.pipeline.checks import Longest, cap_errors, longest_episode, longest_turn
from coevolve.pipeline.config import ConfigError, from_dict
from coevolve.pipeline.runner import Pipeline


def _traj(task_id: str, turns: list[str], env: str = "sciworld") -> Trajectory:
    messages = [Message("user", "task")]
    for text in turns:
        messages += [Message("assistant", text), Message("user", "Observation: ok")]
    return Trajectory(Task(env, "train", task_id), "expert", "instr", messages, 1.0, True, "done")


def words(text: str) -> int:
    return len(text.split())


def test_longest_turn_counts_content_plus_end_token_and_names_the_turn():
    trajs = [_traj("a", ["one two", "one two three four"]), _traj("b", ["x y z"])]
    turn = longest_turn(trajs, words)
    assert (turn.task_id, turn.turn, turn.tokens) == ("a", 1, 5)
    assert longest_turn([], words) is None
    episode = longest_episode(trajs, lambda t: len(t.messages))
    assert (episode.task_id, episode.tokens, episode.turn) == ("a", 5, None)


def test_cap_errors_name_benchmark_key_and_longest_turn():
    turn = Longest("intercode_sql", "17", 70, 2, "Thought: q\nAction: ```sql\nSELECT name FROM t```")
    episode = Longest("intercode_sql", "9", 1500)
    generation = {"eval_sampling.max_new_tokens": 48, "target_sampling.max_new_tokens": 70}
    errors = cap_errors("intercode_sql", turn, episode, generation, {"sft.max_length": 1024})
    assert len(errors) == 2
    assert errors[0].startswith("intercode_sql: eval_sampling.max_new_tokens = 48")
    assert "task 17, assistant turn 2" in errors[0] and "SELECT name" in errors[0] and ">= 70" in errors[0]
    assert "sft.max_length = 1024" in errors[1] and "task 9" in errors[1] and ">= 1500" in errors[1]
    assert cap_errors("x", turn, episode, {"a": 70}, {"b": 1500}) == []


def _config(model: str, **extra) -> dict:
    return {
        "method": "eto",
        "base_model": model,
        "iterations": 1,
        "envs": [{"name": "ladder", "eval_splits": ["test"]}],
        "sft": {"max_length": 512},
        "dpo": {"max_length": 512},
        "target_sampling": {"max_new_tokens": 64},
        "eval_sampling": {"max_new_tokens": 64},
        "rollout": {"backend": "hf", "num_workers": 0},
        **extra,
    }


def test_experts_stage_stops_on_short_caps(tmp_path, tiny_model_dir):
    ok = Pipeline(from_dict(_config(str(tiny_model_dir))), tmp_path / "ok")
    assert ok.make_experts() == {"experts": {"ladder": 3}}
    short = _config(str(tiny_model_dir), eval_sampling={"max_new_tokens": 4}, dpo={"max_length": 8})
    with pytest.raises(ConfigError) as err:
        Pipeline(from_dict(short), tmp_path / "short").make_experts()
    text = str(err.value)
    assert "ladder: eval_sampling.max_new_tokens = 4" in text and "climb one rung" in text
    assert "ladder: dpo.max_length = 8" in text and "target_sampling" not in text
    off = Pipeline(from_dict({**short, "check_token_caps": False}), tmp_path / "off")
    assert off.make_experts() == {"experts": {"ladder": 3}}
