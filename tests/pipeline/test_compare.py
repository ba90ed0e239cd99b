"""`coevolve compare`: every method from one SFT model, resumable as a whole, configs checked first."""

from __future__ import annotations

import json

import ladder_env  # noqa: F401  registers the "ladder" environment
import pytest
from test_runner import _config

from coevolve.cli import main
from coevolve.data.jsonl import read_jsonl
from coevolve.pipeline.compare import PAPER_METHODS, comparison_configs, method_order, run_comparison
from coevolve.pipeline.config import ConfigError


def _experts(run_dir):
    return [(r["id"], r["conversations"], r["reward"]) for r in read_jsonl(run_dir / "experts/ladder.jsonl")]


def test_method_order_puts_sft_first_once_and_rejects_unknown_names():
    assert method_order(["eto", "coevolve", "eto"]) == ("sft", "eto", "coevolve")
    assert method_order(["coevolve", "sft"]) == ("sft", "coevolve")
    with pytest.raises(ConfigError, match="unknown method"):
        method_order(["sft", "co-evolve"])


def test_every_method_starts_from_the_shared_sft_and_its_experts(tmp_path):
    configs = comparison_configs(_config("coevolve"), tmp_path, list(PAPER_METHODS))
    assert list(configs) == list(PAPER_METHODS)
    assert configs["sft"].sft_checkpoint is None and configs["sft"].iterations == 0
    for method in PAPER_METHODS[1:]:
        config = configs[method]
        assert config.method == method and config.sft_checkpoint == str(tmp_path / "sft/checkpoints/sft")
        assert config.envs[0].experts == str(tmp_path / "sft/experts/ladder.jsonl") and not config.eval_sft
    # a bad override fails for every method before anything runs
    with pytest.raises(ConfigError, match="unknown key"):
        comparison_configs({**_config("coevolve"), "nonsense": 1}, tmp_path, ["sft", "eto"])


def test_comparison_trains_sft_once_and_resumes_as_a_whole(tmp_path, tiny_model_dir):
    data = _config("coevolve", str(tiny_model_dir), iterations=1)
    out = tmp_path / "cmp"
    methods = ["sft", "eto", "coevolve", "frozen-failure", "positive-agent"]
    run_dirs = run_comparison(data, out, methods)
    assert [d.name for d in run_dirs] == methods
    assert (out / "sft/checkpoints/sft/training_done.json").exists()
    for run_dir in run_dirs[1:]:
        stages = json.loads((run_dir / "manifest.json").read_text())["stages"]
        assert "sft" not in stages and "experts" in stages and "eval/iter1" in stages
        assert not (run_dir / "checkpoints/sft").exists()
        assert _experts(run_dir) == _experts(out / "sft")
    # eto's greedy iteration-1 target rollouts are reused, so coevolve explores the same episodes
    eto = (out / "eto/iter1/rollouts/ladder/target.jsonl").read_text()
    assert (out / "coevolve/iter1/rollouts/ladder/target.jsonl").read_text() == eto
    # rerun: every stage of every method is already done
    mtimes = {p: p.stat().st_mtime for p in out.glob("*/manifest.json")}
    run_comparison(data, out, methods)
    for path in mtimes:
        stages = json.loads(path.read_text())["stages"]
        assert all(rec["attempts"] == 1 and rec["status"] == "done" for rec in stages.values()), path


def test_cli_check_validates_every_method(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps(_config("coevolve")))  # JSON is YAML
    assert (
        main(["compare", str(config), "--methods", "eto,coevolve", "--out", str(tmp_path / "o"), "--check"])
        == 0
    )
    out = capsys.readouterr().out
    assert "sft: ok" in out and "eto: ok" in out and "coevolve: ok" in out
    assert main(["compare", str(config), "--methods", "eto,nope", "--check"]) == 2
    assert "unknown method" in capsys.readouterr().err


def test_cli_runs_the_run_preflight_for_every_method_before_any_compute(tmp_path, capsys):
    # an env_kwargs typo passes load_config; `coevolve run`'s preflight refuses it, so must compare
    config = tmp_path / "c.yaml"
    data = _config("coevolve")
    data["envs"][0]["env_kwargs"] = {"data_dri": "x"}
    config.write_text(json.dumps(data))
    out = tmp_path / "o"
    assert main(["compare", str(config), "--methods", "eto", "--out", str(out)]) == 2
    assert "did you mean 'data_dir'" in capsys.readouterr().err
    assert not out.exists()  # nothing ran, nothing was written


def test_preflight_checks_every_methods_caps_against_the_shared_experts(tmp_path, tiny_model_dir):
    from coevolve.pipeline.compare import preflight_comparison
    from coevolve.pipeline.runner import Pipeline

    data = _config("coevolve", str(tiny_model_dir), iterations=1, check_token_caps=True)
    data["eval_sampling"] = data["target_sampling"] = data["aux_sampling"] = {"max_new_tokens": 64}
    data["sft"]["max_length"] = data["dpo"]["max_length"] = 2048
    out = tmp_path / "cmp"
    # before OUT/sft exists its checkpoint and experts are not checked as files; caps wait for the experts
    notes = preflight_comparison(comparison_configs(data, out, ["sft", "eto"]), out)
    assert any("token caps: checked once" in n for n in notes)
    sft = comparison_configs(data, out, ["sft"])["sft"]
    Pipeline(sft, out / "sft").make_experts()  # the shared run's experts stage
    assert "token caps cover the experts" in preflight_comparison(comparison_configs(data, out, ["eto"]), out)
    # eto's exploration cap is shorter than an expert turn: found now, not after the shared SFT
    short = {**data, "target_sampling": {"max_new_tokens": 4}}
    with pytest.raises(
        ConfigError, match=r"(?s)\[method eto\]: token caps.*target_sampling.max_new_tokens = 4"
    ):
        preflight_comparison(comparison_configs(short, out, ["sft", "eto"]), out)
