from __future__ import annotations

import pytest
import yaml

from coevolve.cli import build_parser
from coevolve.cli.train import CONFIG_DIR, accelerate_config, launch_command


def test_accelerate_configs_are_shipped_and_valid():
    for name, kind in (("zero3", "DEEPSPEED"), ("fsdp", "FSDP"), ("multi_gpu", "MULTI_GPU")):
        config = yaml.safe_load(accelerate_config(name).read_text())
        assert config["distributed_type"] == kind
        assert config["mixed_precision"] == "bf16"
    assert yaml.safe_load((CONFIG_DIR / "zero3.yaml").read_text())["deepspeed_config"]["zero_stage"] == 3
    with pytest.raises(FileNotFoundError, match="zero9"):
        accelerate_config("zero9")


def test_launch_command_drops_launcher_flags():
    argv = ["train", "dpo", "--model", "m", "--pairs", "p.jsonl", "--out", "o", "--launcher", "accelerate",
            "--accelerate-config", "zero3", "--num-processes=8", "--set", "beta=0.5"]  # fmt: skip
    args = build_parser().parse_args(argv)
    cmd = launch_command(args, argv)
    assert cmd[1:4] == ["launch", "--config_file", str(CONFIG_DIR / "zero3.yaml")]
    assert cmd[cmd.index("-m") :] == ["-m", "coevolve.cli", "train", "dpo", "--model", "m", "--pairs", "p.jsonl",
                                      "--out", "o", "--set", "beta=0.5"]  # fmt: skip
    assert "--num_processes" in cmd and cmd[cmd.index("--num_processes") + 1] == "8"
