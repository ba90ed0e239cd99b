import pytest

from coevolve.pipeline.config import ConfigError, load_config
from coevolve.pipeline.manifest import ConfigChanged, Manifest

BASE = """
method: {method}
base_model: smollm2-135m
envs:
  - name: sciworld
    eval_splits: [seen, unseen]
    train_limit: 4
"""


def _write(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "method, aux, pairs, preset, iterations",
    [
        ("sft", "none", "eto", "eto", 0),
        ("eto", "none", "eto", "eto", 3),
        ("coevolve", "failure", "coevolve", "target", 3),
        ("frozen-failure", "failure", "coevolve", "target", 3),
        ("positive-agent", "positive", "coevolve", "target", 3),
    ],
)
def test_methods_are_presets(tmp_path, method, aux, pairs, preset, iterations):
    config = load_config(_write(tmp_path, BASE.format(method=method)))
    assert (config.aux_agent, config.target_pairs, config.target_preset, config.iterations) == (
        aux,
        pairs,
        preset,
        iterations,
    )
    assert config.envs[0].eval_splits == ["seen", "unseen"]


def test_overrides_and_explicit_keys_beat_the_preset(tmp_path):
    path = _write(tmp_path, BASE.format(method="coevolve") + "iterations: 5\n")
    overrides = ["envs.0.train_limit=8", "target_sampling.temperature=0.7", "dpo.by_iteration.1.beta=0.2"]
    config = load_config(path, overrides)
    assert config.iterations == 5
    assert config.envs[0].train_limit == 8
    assert config.target_sampling.temperature == 0.7
    assert config.dpo == {"by_iteration": {1: {"beta": 0.2}}}


@pytest.mark.parametrize(
    "extra, message",
    [
        ("iteratons: 2\n", r"unknown key\(s\) \['iteratons'\]"),
        ("update_order: random\n", "'update_order' must be one of"),
        ("target_sampling: {temp: 1}\n", r"run.yaml.target_sampling: unknown key"),
    ],
)
def test_bad_config_names_the_key(tmp_path, extra, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, BASE.format(method="coevolve") + extra))


def test_unknown_method_lists_methods(tmp_path):
    with pytest.raises(ConfigError, match="positive-agent"):
        load_config(_write(tmp_path, BASE.format(method="ppo")))


def test_manifest_refuses_edited_config_after_a_finished_stage(tmp_path):
    config = load_config(_write(tmp_path, BASE.format(method="coevolve")))
    manifest = Manifest(tmp_path / "manifest.json")
    manifest.check_config(config.fingerprint())
    t0 = manifest.start("sft")
    manifest.finish("sft", t0)
    # more iterations is an extension, not an edit
    longer = load_config(_write(tmp_path, BASE.format(method="coevolve") + "iterations: 4\n"))
    Manifest(tmp_path / "manifest.json").check_config(longer.fingerprint())
    edited = load_config(_write(tmp_path, BASE.format(method="coevolve")), ["sft.learning_rate=0.1"])
    with pytest.raises(ConfigChanged, match=r"sft\.learning_rate: None -> 0\.1"):
        Manifest(tmp_path / "manifest.json").check_config(edited.fingerprint())
    changed = Manifest(tmp_path / "manifest.json").check_config(edited.fingerprint(), accept_changes=True)
    assert changed == ["sft.learning_rate"]


def test_manifest_survives_reload_and_sums_attempt_time(tmp_path):
    manifest = Manifest(tmp_path / "manifest.json")
    t0 = manifest.start("iter1/explore")
    manifest.interrupt("iter1/explore", t0 - 2.0)
    reloaded = Manifest(tmp_path / "manifest.json")
    assert reloaded.stages["iter1/explore"].status == "running"
    t1 = reloaded.start("iter1/explore")
    reloaded.finish("iter1/explore", t1 - 1.0)
    final = Manifest(tmp_path / "manifest.json")
    assert final.done("iter1/explore")
    assert final.stages["iter1/explore"].attempts == 2
    assert final.stages["iter1/explore"].seconds >= 3.0
