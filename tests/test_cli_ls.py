"""`coevolve ls`: names come from the registries, including ones registered at run time."""

from __future__ import annotations

from pathlib import Path

from coevolve.cli import main
from coevolve.cli.ls import listing
from coevolve.pipeline.recipes import METHODS, register_method

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_ls_envs_backends_stages_pairs(capsys):
    assert main(["ls", "envs"]) == 0
    assert {"sciworld", "webshop", "intercode_sql"} <= set(capsys.readouterr().out.split())
    assert {"hf", "vllm", "openai"} <= set(listing("backends"))
    assert {"explore", "train_target", "eval"} <= set(listing("stages"))
    assert "failure  (aux)" in listing("pairs") and "eto  (target)" in listing("pairs")


def test_ls_methods_shows_presets_and_registered_ones():
    register_method("listed-method", preset={"aux_agent": "none"})
    try:
        lines = listing("methods")
    finally:
        METHODS._items.pop("listed-method")
    assert "listed-method  (aux_agent=none)" in lines
    assert any(line.startswith("sft  (") and "iterations=0" in line for line in lines)


def test_ls_configs_lists_run_and_accelerate_configs():
    lines = listing("configs", CONFIGS)
    assert str((CONFIGS / "paper" / "webshop.yaml").as_posix()) in lines
    assert "accelerate: zero3" in lines and not any("accelerate/" in line for line in lines)
