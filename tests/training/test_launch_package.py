"""Accelerate configs are package data (training/launch.py), equal to the configs/accelerate copies;
a pipeline launches training with `accelerate launch` on the packaged config."""

from __future__ import annotations

from pathlib import Path

import pytest

import coevolve.pipeline.runner as runner
from coevolve.pipeline.config import from_dict
from coevolve.training.launch import CONFIG_DIR, accelerate_config, config_names, without_launch_flags

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "accelerate"


def test_packaged_configs_match_the_repository_copies():
    assert CONFIG_DIR.is_relative_to(Path(runner.__file__).resolve().parents[1])  # inside the package
    assert (
        config_names()
        == sorted(p.stem for p in REPO_CONFIGS.glob("*.yaml"))
        == ["fsdp", "multi_gpu", "zero3"]
    )
    for name in config_names():
        assert accelerate_config(name).read_text() == (REPO_CONFIGS / f"{name}.yaml").read_text()
    with pytest.raises(FileNotFoundError, match="not one of \\['fsdp', 'multi_gpu', 'zero3'\\]"):
        accelerate_config("zero2")


def test_without_launch_flags():
    argv = [
        "train",
        "sft",
        "--launcher",
        "accelerate",
        "--num-processes=2",
        "--accelerate-config",
        "fsdp",
        "--x",
    ]
    assert without_launch_flags(argv) == ["train", "sft", "--x"]


def test_pipeline_launches_accelerate_directly(tmp_path, monkeypatch):
    config = from_dict(
        {
            "method": "sft",
            "envs": [{"name": "sciworld"}],
            "launcher": {"kind": "accelerate", "config": "fsdp", "num_processes": 4},
        }  # fmt: skip
    )
    calls = []
    monkeypatch.setattr(runner, "run_group", lambda cmd, env=None, pass_fds=(): calls.append((cmd, env)) or 0)
    runner.Pipeline(config, tmp_path)._launch(["sft", "--model", "m"], tmp_path / "out", {"epochs": 1})
    ((cmd, env),) = calls
    assert cmd[1:6] == ["launch", "--config_file", str(CONFIG_DIR / "fsdp.yaml"), "--num_processes", "4"]
    assert cmd[6:] == ["-m", "coevolve.cli", "train", "sft", "--model", "m", "--out", str(tmp_path / "out"),
                       "--set", "epochs=1"]  # fmt: skip
    assert env["COEVOLVE_LAUNCHED"] == "1"
