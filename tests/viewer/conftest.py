"""A small real run for the viewer and training-log tests: the ladder env, the tiny model trained for real
(SFT, DPO of both agents), acting scripted so the run has successes, hard negatives and failures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pipeline"))

import ladder_env  # noqa: E402,F401  registers the "ladder" environment
import scripted  # noqa: E402,F401  registers the "ladder_script" policy backend

from coevolve.pipeline.config import from_dict  # noqa: E402
from coevolve.pipeline.runner import Pipeline  # noqa: E402


def run_config(method: str, model: Path) -> dict:
    train = {"epochs": 1, "batch_size": 2, "micro_batch_size": 1, "max_length": 512, "logging_steps": 1}
    return {
        "method": method,
        "base_model": str(model),
        "iterations": 2,
        "envs": [{"name": "ladder", "eval_splits": ["test"]}],
        "sft": train,
        "dpo": train,
        "target_sampling": {"max_new_tokens": 32, "samples_per_task": 2},
        "aux_sampling": {"max_new_tokens": 32, "temperature": 1.0, "samples_per_task": 2},
        "eval_sampling": {"max_new_tokens": 32},
        "rollout": {"backend": "ladder_script", "max_concurrent": 4, "num_workers": 0},
    }


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict[str, Path]:
    """Finished coevolve and eto runs (K = 2) in one folder: {method: run dir}."""
    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for method in ("coevolve", "eto"):
        runs[method] = root / method
        Pipeline(from_dict(run_config(method, tiny_model_dir)), runs[method]).run()
    return runs
