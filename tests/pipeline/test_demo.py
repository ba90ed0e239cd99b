"""The demo's configs: one model per benchmark, sized slices, valid for every method."""

from __future__ import annotations

from pathlib import Path

import ladder_env  # noqa: F401  registers the "ladder" environment
import pytest

from coevolve.cli import main
from coevolve.envs.sciworld import SHORT_TASK_TYPES as SHORT_SCIWORLD
from coevolve.pipeline.config import from_dict
from coevolve.pipeline.demo import DEMO_ENVS, DEMO_METHODS, demo_config, demo_settings
from coevolve.pipeline.runner import Pipeline


@pytest.mark.parametrize("env", sorted(DEMO_ENVS))
@pytest.mark.parametrize("quick", [False, True])
def test_every_method_config_is_valid_and_has_one_benchmark(env, quick, tmp_path):
    methods = {*DEMO_METHODS, "eto"}  # the default ones and what --methods adds
    configs = {m: from_dict(demo_config(m, tmp_path, quick, None, env)) for m in methods}
    for method, config in configs.items():
        assert [s.name for s in config.envs] == [env]
        assert config.method == method
    sft, co = configs["sft"], configs["coevolve"]
    assert co.sft_checkpoint == str(tmp_path / "sft" / "checkpoints" / "sft")
    assert co.envs[0].experts == str(tmp_path / "sft" / "experts" / f"{env}.jsonl")
    caps = {c.max_new_tokens for c in (co.target_sampling, co.aux_sampling, co.eval_sampling)}
    assert caps == {DEMO_ENVS[env]["max_new_tokens"]}
    assert sft.sft["max_length"] == co.dpo["max_length"] == DEMO_ENVS[env]["max_length"]
    assert co.aux_sampling.temperature > 0 and co.target_sampling.temperature == 0


def test_sciworld_is_sized_to_learn_and_quick_is_small():
    full, quick = demo_settings("sciworld"), demo_settings("sciworld", quick=True)
    spec = full["envs"][0]
    assert spec["task_filter"] == {"task_name": SHORT_SCIWORLD} and spec["train_per_type"] >= 20
    assert spec.get("eval_limit") is None and spec["eval_splits"] == ["seen", "unseen"]  # 30 + 30 episodes
    assert (
        full["sft"]["epochs"] * len(SHORT_SCIWORLD) * spec["train_per_type"] // full["sft"]["batch_size"]
        >= 20
    )
    assert quick["envs"][0]["train_per_type"] < spec["train_per_type"] and quick["envs"][0]["eval_limit"] <= 5
    assert full["dpo"]["learning_rate"] <= 1e-6
    with pytest.raises(ValueError, match="unknown demo benchmark 'alfworld'"):
        demo_settings("alfworld")


def test_train_per_type_limits_generated_experts(tmp_path, tiny_model_dir):
    data = {
        "method": "sft",
        "base_model": str(tiny_model_dir),
        "envs": [{"name": "ladder", "train_per_type": 2, "eval_splits": ["test"]}],
        "eval_sampling": {"max_new_tokens": 64},
    }
    assert Pipeline(from_dict(data), tmp_path).make_experts() == {"experts": {"ladder": 2}}


def test_cli_rejects_an_unknown_benchmark(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--env", "nope"])
    assert "sciworld" in capsys.readouterr().err


def test_default_output_folder_is_per_benchmark(monkeypatch, tmp_path):
    seen = {}

    def fake_run_demo(out, quick, methods, data_dir, env):
        seen.update(out=out, env=env, quick=quick)
        return []

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("coevolve.cli.demo.run_demo", fake_run_demo)
    monkeypatch.setattr("coevolve.evaluation.report.write_report", lambda dirs, out, console: Path(out))
    assert main(["demo", "--env", "webshop", "--quick"]) == 0
    assert seen == {"out": Path("runs/demo-quick/webshop"), "env": "webshop", "quick": True}
