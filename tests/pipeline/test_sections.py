"""The typed `sft` / `dpo` / `pairs` sections: same keys and types as the settings classes, only what is set
is layered, and the run fingerprint / config.yaml read as when the sections were plain mappings."""

from __future__ import annotations

from typing import get_type_hints

import pytest
import yaml

from coevolve.configtree import ConfigError, field_names, plain
from coevolve.pairs.settings import PairConfig
from coevolve.pipeline.config import RunConfig, flatten, load_config, to_yaml
from coevolve.pipeline.schedule import dpo_overrides, normalise_dpo
from coevolve.pipeline.sections import (
    DPOIterationConfig,
    DPOOverrideConfig,
    LoraOverrideConfig,
    PairOverrideConfig,
    SFTOverrideConfig,
)
from coevolve.training.settings import DPOConfig, LoraConfig, SFTConfig, apply_overrides

BASE = """
method: coevolve
base_model: smollm2-135m
envs:
  - name: sciworld
sft: {epochs: 2, learning_rate: 5.0e-5, lora: {r: 8}, save_total_limit: null, lora.alpha: 4}
dpo:
  max_length: 2048
  lora: true
  by_iteration:
    2: {beta: 0.3, epochs: 1}
pairs: {truncation: drop, expert_reward_one_envs: [sciworld]}
"""
OVERRIDES = ["dpo.by_iteration.2.beta=0.4", "dpo.by_iteration.3.sft_weight=0.2", "pairs.max_extra_messages=4"]


def _load(tmp_path, text: str = BASE, overrides: list[str] = OVERRIDES) -> RunConfig:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return load_config(path, list(overrides))


@pytest.mark.parametrize(
    "section, settings, extra",
    [
        (SFTOverrideConfig, SFTConfig, set()),
        (DPOIterationConfig, DPOConfig, set()),
        (DPOOverrideConfig, DPOConfig, {"schedule", "by_iteration"}),
        (PairOverrideConfig, PairConfig, set()),
        (LoraOverrideConfig, LoraConfig, set()),
    ],
)
def test_sections_have_the_settings_keys_and_types(section, settings, extra):
    assert field_names(section) == [*field_names(settings), *[n for n in field_names(section) if n in extra]]
    assert set(field_names(section)) - set(field_names(settings)) == extra
    ours, theirs = get_type_hints(section), get_type_hints(settings)
    for name in field_names(settings):
        if name != "lora":
            assert ours[name] == theirs[name], name
    if "lora" in theirs:
        assert ours["lora"] == bool | LoraOverrideConfig | None


def _old_fingerprint(config: RunConfig, text: str, overrides: list[str]) -> dict:
    """HEAD's RunConfig.fingerprint: the sections were the loaded mappings (dpo.by_iteration keys as ints)."""
    from coevolve.pipeline.config import load_config_dict

    path_data = load_config_dict(None, overrides, yaml.safe_load(text))
    raw = {name: path_data.get(name, {}) for name in ("sft", "dpo", "pairs")}
    raw["dpo"] = normalise_dpo(raw["dpo"])
    exclude = ("iterations", "eval_every_iteration", "data_dir", "check_token_caps")
    data = {k: raw.get(k, v) for k, v in plain(config).items() if k not in exclude}
    return flatten(data)


def test_fingerprint_is_the_one_of_the_plain_mappings(tmp_path):
    config = _load(tmp_path)
    new = config.fingerprint()
    assert new == _old_fingerprint(config, BASE, OVERRIDES)
    assert new["sft.lora.r"] == 8 and new["sft.lora.alpha"] == 4 and new["sft.save_total_limit"] is None
    assert new["dpo.lora"] is True and new["dpo.by_iteration.2.beta"] == 0.4
    assert "sft.batch_size" not in new and "pairs.multi_sample" not in new  # unset keys are not recorded


def test_config_yaml_round_trips(tmp_path):
    config = _load(tmp_path)
    path = tmp_path / "config.yaml"
    path.write_text(to_yaml(config))
    again = load_config(path)
    assert again == config and again.fingerprint() == config.fingerprint()
    assert to_yaml(again) == to_yaml(config)


def test_sections_are_typed_and_only_what_is_set_is_layered(tmp_path):
    config = _load(tmp_path)
    assert isinstance(config.sft, SFTOverrideConfig) and config.sft.epochs == 2.0
    assert config.sft.lora == LoraOverrideConfig(r=8, alpha=4) and config.sft.lora.dropout is None
    assert config.sft.batch_size is None and not config.sft.is_set("batch_size")
    assert config.sft.is_set("save_total_limit") and config.sft.save_total_limit is None
    assert set(config.dpo.by_iteration) == {2, 3} and config.dpo.by_iteration[2].beta == 0.4
    assert config.pairs.expert_reward_one_envs == ("sciworld",) and config.pairs.max_extra_messages == 4

    sft = apply_overrides(SFTConfig(), config.sft.overrides())
    assert (sft.epochs, sft.save_total_limit, sft.batch_size) == (2.0, None, SFTConfig().batch_size)
    assert (sft.lora.r, sft.lora.alpha, sft.lora.dropout) == (8, 4, LoraConfig().dropout)
    dpo = DPOConfig.preset("target", 3, **dpo_overrides(config.dpo, 3))
    assert (dpo.sft_weight, dpo.dpo_weight, dpo.beta, dpo.max_length) == (0.2, 0.5, 0.5, 2048)
    assert dpo.lora == LoraConfig()
    pairs = PairConfig(**config.pairs.overrides())
    assert (pairs.truncation, pairs.max_extra_messages, pairs.multi_sample) == ("drop", 4, "all")


def test_a_section_given_as_a_mapping_in_code_is_built_and_checked():
    config = RunConfig(sft={"max_length": 512}, dpo={"by_iteration": {"2": {"beta": 0.2}}})
    assert isinstance(config.sft, SFTOverrideConfig) and config.sft.max_length == 512
    assert config.dpo.by_iteration[2].beta == 0.2
    with pytest.raises(
        ConfigError, match=r"sft: unknown key\(s\) \['max_lenght'\]; did you mean 'max_length'"
    ):
        RunConfig(sft={"max_lenght": 512})


@pytest.mark.parametrize(
    "extra, message",
    [
        ("sft: {max_length: long}\n", r"sft.max_length: expected an integer"),
        ("dpo: {by_iteration: {2: {beta: high}}}\n", r"dpo.by_iteration.2.beta: expected a number"),
        ("pairs: {failure_failure: 3}\n", r"pairs.failure_failure: expected true/false"),
        ("sft: {lora: 3}\n", r"sft.lora: expected"),
    ],
)
def test_bad_values_fail_at_load_naming_the_key(tmp_path, extra, message):
    text = "method: coevolve\nenvs:\n  - name: sciworld\n" + extra
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, text, [])
