"""Methods as registered recipes: a method registered from outside runs its declared stages; pair
builders and the run layout are looked up by name, not by branches in Pipeline."""

from __future__ import annotations

import ladder_env  # noqa: F401  registers the "ladder" environment
import pytest

from coevolve.data.records import Message, PreferencePair
from coevolve.pairs.builders import PAIR_BUILDERS, builder_names, register_pairs
from coevolve.pipeline.config import ConfigError, from_dict
from coevolve.pipeline.layout import RunLayout
from coevolve.pipeline.recipes import (
    METHODS,
    STAGES,
    get_method,
    method_names,
    register_method,
    register_stage,
)
from coevolve.pipeline.runner import Pipeline

CONFIG = {"base_model": "unused", "iterations": 2, "envs": [{"name": "ladder"}], "check_token_caps": False}


@pytest.fixture
def custom_method():
    """A method with its own stage kind, registered the way a newcomer would; removed afterwards."""
    calls = []

    @register_stage("count_rollouts", outputs=lambda pipe, k: [pipe.layout.iteration(k) / "count.txt"])
    def count_rollouts(pipe, k):
        calls.append(k)
        return {"k": k}

    register_method(
        "counting", preset={"aux_agent": "none"}, iteration=lambda cfg: ["explore", "count_rollouts"]
    )
    yield calls
    METHODS._items.pop("counting")
    STAGES._items.pop("count_rollouts")


def test_builtin_methods_are_registered_with_their_presets():
    assert {"sft", "eto", "coevolve", "frozen-failure", "positive-agent"} <= set(method_names())
    assert get_method("sft").apply({"iterations": 3, "aux_agent": "failure"})["iterations"] == 0
    assert get_method("frozen-failure").apply({})["aux_frozen_after"] == 1
    assert get_method("coevolve").apply({"target_preset": "eto"})["target_preset"] == "eto"  # config wins


def test_registered_method_runs_its_declared_stages(tmp_path, custom_method):
    pipeline = Pipeline(from_dict({**CONFIG, "method": "counting", "eval_every_iteration": False}), tmp_path)
    plan = pipeline.stages()
    assert [s.name for s in plan] == [
        "experts", "sft", "eval/iter0", "iter1/explore", "iter1/count_rollouts",
        "iter2/explore", "iter2/count_rollouts", "eval/iter2",
    ]  # fmt: skip
    assert plan[4].outputs == [tmp_path / "iter1" / "count.txt"]
    assert plan[6].run() == {"k": 2} and custom_method == [2]


def test_unknown_method_and_stage_kind_name_the_closest(tmp_path, custom_method):
    with pytest.raises(ConfigError, match="did you mean 'counting'"):
        from_dict({**CONFIG, "method": "countng"})
    register_method("broken", iteration=lambda cfg: ["explor"])
    try:
        with pytest.raises(KeyError, match="unknown stage kind 'explor' \\(did you mean 'explore'"):
            Pipeline(from_dict({**CONFIG, "method": "broken"}), tmp_path).stages()
    finally:
        METHODS._items.pop("broken")


def test_pair_builders_by_role():
    assert set(builder_names("target")) >= {"eto", "coevolve"}
    assert set(builder_names("aux")) >= {"failure", "positive"}
    assert PAIR_BUILDERS.get("eto").uses_aux is False and PAIR_BUILDERS.get("failure").checks_prompts is False
    with pytest.raises(ValueError, match="role must be"):
        register_pairs("x", role="both")


def test_target_pairs_go_through_the_named_builder(tmp_path):
    """A registered builder replacing `coevolve` is what the target_pairs stage calls."""
    seen = {}
    original = PAIR_BUILDERS.get("coevolve")
    pair = PreferencePair(id="0", env="ladder", prompt=[Message("user", "task")], chosen=[Message("assistant", "a")],
                          rejected=[Message("assistant", "b")], kind="test", chosen_reward=1.0,
                          rejected_reward=0.0)  # fmt: skip

    @register_pairs("coevolve")
    def spy(experts, target, aux, settings):
        seen.update(experts=len(experts), target=len(target), aux=len(aux))
        return [pair]

    try:
        pipeline = Pipeline(from_dict({**CONFIG, "method": "coevolve"}), tmp_path)
        pipeline.experts = lambda env: {}
        pipeline.rollouts = lambda k, env, agent, fresh=False: []
        assert pipeline.make_target_pairs(1) == {"pairs": 1}
        assert seen == {"experts": 0, "target": 0, "aux": 0}
        assert pipeline.layout.pairs(1, "target").exists()
    finally:
        PAIR_BUILDERS.register("coevolve", original)


def test_run_layout_paths(tmp_path):
    layout = RunLayout(tmp_path)
    assert (
        layout.rollouts(2, "ladder", "failure", fresh=True)
        == tmp_path / "iter2/rollouts_new/ladder/failure.jsonl"
    )
    assert layout.eval_dir(1, "ladder", "test") == tmp_path / "eval/iter1/ladder_test"
    assert layout.checkpoint(3, "target") == tmp_path / "checkpoints/iter3/target"
    for k in (10, 2):
        (tmp_path / f"iter{k}").mkdir()
    (tmp_path / "iterx").mkdir()
    assert [k for k, _ in layout.iterations()] == [2, 10]
