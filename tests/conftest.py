"""Shared fixtures: a tiny random model (fast tests) and the converted SmolLM2-135M (slow tests)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random Llama (hidden 64, 2 layers, vocab 512) + BPE tokenizer with a Llama-2 chat template."""
    from coevolve.models import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct converted once from the offline GGUF into the coevolve cache."""
    from coevolve.models import smollm2_dir as convert

    return convert()
