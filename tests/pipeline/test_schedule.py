"""Per-iteration DPO settings in run configs (dpo.schedule / dpo.by_iteration) and sft/dpo key checks."""

from __future__ import annotations

import pytest

from coevolve.pipeline.config import ConfigError, load_config
from coevolve.pipeline.schedule import dpo_overrides
from coevolve.training import DPOSettings

BASE = """
method: coevolve
base_model: smollm2-135m
iterations: 3
envs:
  - name: sciworld
"""


def _load(tmp_path, extra: str = "", overrides: list[str] = ()):
    path = tmp_path / "run.yaml"
    path.write_text(BASE + extra)
    return load_config(path, list(overrides))


def _resolved(config, k: int, preset: str = "target") -> tuple[float, float]:
    s = DPOSettings.preset(preset, k, **dpo_overrides(config.dpo, k))
    return s.beta, s.learning_rate


def test_default_is_etos_schedule(tmp_path):
    config = _load(tmp_path, "dpo: {epochs: 2}\n")
    assert [_resolved(config, k) for k in (1, 2, 3)] == [(0.1, 1e-6), (0.5, 5e-7), (0.5, 5e-7)]
    assert DPOSettings.preset("target", 2, **dpo_overrides(config.dpo, 2)).epochs == 2


def test_by_iteration_changes_one_iteration_only(tmp_path):
    extra = "dpo:\n  by_iteration:\n    1: {beta: 0.2, learning_rate: 2.0e-6}\n    3: {epochs: 1}\n"
    config = _load(tmp_path, extra)
    assert [_resolved(config, k) for k in (1, 2, 3)] == [(0.2, 2e-6), (0.5, 5e-7), (0.5, 5e-7)]
    assert DPOSettings.preset("eto", 3, **dpo_overrides(config.dpo, 3)).epochs == 1
    assert DPOSettings.preset("eto", 2, **dpo_overrides(config.dpo, 2)).epochs == 3


def test_set_override_merges_with_yaml_iteration(tmp_path):
    extra = "dpo:\n  by_iteration:\n    2: {beta: 0.3, epochs: 1}\n"
    config = _load(tmp_path, extra, ["dpo.by_iteration.2.beta=0.4"])
    assert config.dpo["by_iteration"] == {2: {"beta": 0.4, "epochs": 1}}
    assert _resolved(config, 2) == (0.4, 5e-7)


def test_plain_beta_or_lr_needs_constant_schedule(tmp_path):
    with pytest.raises(ConfigError, match=r"dpo.learning_rate: would replace ETO's per-iteration schedule"):
        _load(tmp_path, "dpo: {learning_rate: 2.0e-6}\n")
    with pytest.raises(ConfigError, match=r"by_iteration.<k>.beta"):
        _load(tmp_path, "", ["dpo.beta=0.3"])
    config = _load(tmp_path, "dpo: {learning_rate: 2.0e-6, schedule: constant}\n")
    assert [_resolved(config, k) for k in (1, 2, 3)] == [(0.1, 2e-6)] * 3
    both = _load(tmp_path, "dpo: {schedule: constant, beta: 0.3, by_iteration: {2: {beta: 0.4}}}\n")
    assert [_resolved(both, k)[0] for k in (1, 2, 3)] == [0.3, 0.4, 0.3]


@pytest.mark.parametrize(
    "extra, message",
    [
        ("dpo: {beat: 0.1, schedule: constant}\n", r"dpo: unknown setting 'beat'; did you mean 'beta'\?"),
        (
            "dpo: {by_iteration: {1: {learnig_rate: 1.0}}}\n",
            r"dpo.by_iteration.1: unknown setting 'learnig_rate'",
        ),
        ("dpo: {by_iteration: {first: {beta: 0.1}}}\n", r"'first' is not an iteration number"),
        ("dpo: {by_iteration: {0: {beta: 0.1}}}\n", r"iterations start at 1"),
        ("dpo: {schedule: cosine}\n", r"dpo.schedule: must be one of"),
        ("sft: {epoch: 1}\n", r"sft: unknown setting 'epoch'; did you mean 'epochs'\?"),
        ("sft: {lora: {rank: 8}}\n", r"sft.lora: unknown setting 'rank'"),
        ("sft: {lora.alhpa: 8}\n", r"did you mean 'lora.alpha'\?"),
        ("sft: {beta: 0.1}\n", r"sft: unknown setting 'beta'"),
    ],
)
def test_unknown_keys_are_refused_at_load_time(tmp_path, extra, message):
    with pytest.raises(ConfigError, match=message) as err:
        _load(tmp_path, extra)
    assert "run.yaml" in str(err.value)


def test_shipped_configs_still_load():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "configs"
    for path in sorted([*root.glob("paper/*.yaml"), *root.glob("examples/*.yaml")]):
        config = load_config(path)
        assert all(_resolved(config, k)[0] > 0 for k in (1, 2))


def _pair(i: int):
    from coevolve.data.records import Message, PreferencePair

    return PreferencePair(
        id=str(i), env="ladder", prompt=[Message("user", "Climb."), Message("assistant", "OK"),
                                         Message("user", f"You are on rung {i}.")],
        chosen=[Message("assistant", "Action: up")], rejected=[Message("assistant", "Action: down")],
        kind="expert_vs_target", chosen_reward=1.0, rejected_reward=0.0,
    )  # fmt: skip


def test_training_stage_records_the_resolved_beta_and_lr(tmp_path, tiny_model_dir):
    import json

    import ladder_env  # noqa: F401  registers the "ladder" environment

    from coevolve.data.jsonl import JsonlWriter
    from coevolve.data.records import to_dict
    from coevolve.pipeline.config import from_dict
    from coevolve.pipeline.runner import Pipeline
    from coevolve.training.common import DONE_FILE

    config = from_dict({
        "method": "eto", "base_model": str(tiny_model_dir), "sft_checkpoint": str(tiny_model_dir),
        "iterations": 2, "envs": [{"name": "ladder"}],
        "dpo": {"max_steps": 1, "batch_size": 2, "micro_batch_size": 2, "report_to": "none",
                "by_iteration": {2: {"beta": 0.3}}},
    })  # fmt: skip
    pipeline = Pipeline(config, tmp_path / "run")
    for k in (1, 2):
        with JsonlWriter(pipeline.pairs_path(k, "target")) as writer:
            writer.write_all(to_dict(_pair(i)) for i in range(2 if k == 1 else 0))
    first = pipeline.train_target(1)
    assert first.pop("trained_tokens") > 0  # cost accounting (issue 16)
    assert first == {"pairs": 2, "trained": True, "beta": 0.1, "learning_rate": 1e-6, "schedule": "eto"}
    done = json.loads((tmp_path / "run/checkpoints/iter1/target" / DONE_FILE).read_text())
    assert (done["settings"]["beta"], done["settings"]["learning_rate"]) == (0.1, 1e-6)
    # no pairs in iteration 2: nothing trains, the record still says what would have run
    assert pipeline.train_target(2) == {
        "pairs": 0, "trained": False, "beta": 0.3, "learning_rate": 5e-7, "schedule": "eto"
    }  # fmt: skip
