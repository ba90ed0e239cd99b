"""The typed config tree: every shipped config validates, typos fail at load with the closest key,
configs/defaults.yaml is current, CLI flags come from the config classes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coevolve.cli import build_parser, main
from coevolve.configtree import ConfigError, field_help, parse_overrides
from coevolve.envs.base import UnknownName
from coevolve.pipeline.config import EnvConfig, RunConfig, load_config
from coevolve.pipeline.study import is_study_file, load_study, study_configs
from coevolve.pipeline.validate import defaults_yaml, preflight
from coevolve.training.settings import DPOConfig, SFTConfig

ROOT = Path(__file__).parents[2]
RUN_CONFIGS = sorted(p for p in (ROOT / "configs").rglob("*.yaml") if p.parent.name != "accelerate")
BASE = "method: coevolve\nenvs:\n  - name: sciworld\n    eval_splits: [seen, unseen]\n"


@pytest.mark.parametrize("path", RUN_CONFIGS, ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_every_run_config_under_configs_validates(path, monkeypatch):
    # downloads allowed (validation never downloads): a paper config's expert file, absent here, counts
    # as resolvable because it has a pinned URL; with downloads off it would be refused (next test)
    monkeypatch.delenv("COEVOLVE_OFFLINE", raising=False)
    if is_study_file(path):  # configs/studies/: a `study:` section over a base config (coevolve study)
        study, base = load_study(path)
        configs = study_configs(study, base, "runs/unused", str(path))  # every (seed, method), validated
        config = configs[study.seeds[0]]["sft"]  # the others start from its SFT model
    else:
        config = load_config(path)
    notes = preflight(config, where=str(path))
    assert all(isinstance(n, str) for n in notes)


def test_offline_validation_refuses_an_expert_file_it_cannot_get(monkeypatch, tmp_path):
    from coevolve.data.resources import ResourceMissing

    monkeypatch.setenv("COEVOLVE_OFFLINE", "1")
    monkeypatch.setenv("COEVOLVE_CACHE_DIR", str(tmp_path))
    config = load_config(ROOT / "configs" / "paper" / "webshop.yaml", [f"data_dir={tmp_path}"])
    with pytest.raises(ResourceMissing, match="webshop_sft.json"):
        preflight(config, where="webshop.yaml")


def test_accelerate_configs_are_mappings_accelerate_reads():
    files = sorted((ROOT / "configs" / "accelerate").glob("*.yaml"))
    assert files
    for path in files:
        data = yaml.safe_load(path.read_text())
        assert isinstance(data, dict) and "distributed_type" in data, path


def test_defaults_yaml_is_current_and_loads_to_the_defaults():
    path = ROOT / "configs" / "defaults.yaml"
    assert path.read_text() == defaults_yaml(), (
        "regenerate: coevolve validate --defaults > configs/defaults.yaml"
    )
    assert load_config(path) == RunConfig(envs=[EnvConfig(name="intercode_sql")])
    text = path.read_text()
    for cls in (SFTConfig, DPOConfig):  # the override sections document every setting
        for name in field_help(cls):
            assert f"# {name}:" in text, name


@pytest.mark.parametrize(
    "override, message",
    [
        ("iteratons=2", r"unknown key\(s\) \['iteratons'\]; did you mean 'iterations'\?"),
        ("pairs.trunction=drop", r"pairs: unknown setting 'trunction'; did you mean 'truncation'\?"),
        ("pairs.truncation=dorp", r"truncation.*'dorp'"),
        ("dpo.lerning_rate=1e-6", r"dpo: unknown setting 'lerning_rate'; did you mean 'learning_rate'\?"),
        ("sft.epochs=three", r"sft.epochs: expected a number"),
        (
            "envs.0.trian_limit=1",
            r"envs\[0\]: unknown key\(s\) \['trian_limit'\]; did you mean 'train_limit'\?",
        ),
        ("rollout.backnd=hf", r"rollout: unknown key\(s\) \['backnd'\]; did you mean 'backend'\?"),
        ("launcher.knd=none", r"did you mean 'kind'\?"),
        ("target_sampling.temprature=1", r"target_sampling: unknown key.*did you mean 'temperature'\?"),
        ("eval_sampling.n=4", r"'eval_sampling.n' must be 1; set 'eval_sampling.samples_per_task'"),
    ],
)
def test_a_typo_in_any_section_fails_at_load_naming_the_closest_key(tmp_path, override, message):
    path = tmp_path / "run.yaml"
    path.write_text(BASE)
    with pytest.raises(ConfigError, match=message):
        load_config(path, [override])


def test_preflight_checks_envs_splits_and_experts(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(BASE)
    with pytest.raises(ConfigError, match=r"unknown split 'tset'"):
        preflight(load_config(path, ["envs.0.eval_splits=[tset]"]))
    with pytest.raises(ConfigError, match=r"neither 'gold', a file, nor a data resource"):
        preflight(load_config(path, [f"envs.0.experts={tmp_path / 'missing.json'}"]))
    with pytest.raises(UnknownName, match=r"did you mean .jvm_heap."):
        preflight(load_config(path, ["envs.0.env_kwargs={jvm_haep: 1g}"]))
    with pytest.raises(ConfigError, match="no such checkpoint"):
        preflight(load_config(path, [f"base_model={tmp_path}/nothing"]))


def test_validate_command_names_the_key_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(BASE + "dpo: {lerning_rate: 1.0e-6}\n")
    assert main(["validate", str(path)]) == 2
    assert "did you mean 'learning_rate'?" in capsys.readouterr().err
    path.write_text(BASE)
    assert main(["validate", str(path)]) == 0
    assert "ok" in capsys.readouterr().out


def _action(argv: list[str], dest: str):
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[argv[0]]
    if len(argv) > 1:
        sub = sub._subparsers._group_actions[0].choices[argv[1]]
    return {a.dest: a for a in sub._actions}.get(dest)


def test_cli_flags_come_from_the_config_classes():
    # one default for max_new_tokens: the run config's and `coevolve eval`'s are SamplingConfig's
    assert RunConfig().eval_sampling.max_new_tokens == RunConfig().target_sampling.max_new_tokens == 512
    assert "512" in _action(["eval"], "max_new_tokens").help
    for algo in ("sft", "dpo"):
        for name in ("epochs", "learning_rate", "batch_size", "max_length", "max_steps", "seed"):
            assert _action(["train", algo], f"setting_{name}") is not None, (algo, name)
    assert _action(["train", "dpo"], "setting_beta") is not None
    assert _action(["run"], "cfg_iterations") is not None


def test_run_flags_become_overrides_before_set(tmp_path):
    from coevolve.cli.run import flag_overrides

    args = build_parser().parse_args(
        ["run", "x.yaml", "--iterations", "2", "--no-eval-sft", "--set", "seed=3"]
    )
    assert flag_overrides(args) == ["iterations=2", "eval_sft=False"]
    assert parse_overrides(flag_overrides(args)) == [("iterations", 2), ("eval_sft", False)]


def test_train_flags_reach_the_settings():
    from coevolve.cli.train import _overrides
    from coevolve.training.settings import apply_overrides

    args = build_parser().parse_args(
        [
            "train",
            "sft",
            "--data",
            "d.json",
            "--model",
            "m",
            "--out",
            "o",
            "--lr",
            "2e-5",
            "--min-reward",
            "0.7",
        ]
    )
    settings = apply_overrides(SFTConfig(), _overrides(args))
    assert (settings.learning_rate, settings.min_reward) == (2e-5, 0.7)
