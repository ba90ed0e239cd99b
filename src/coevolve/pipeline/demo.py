"""The embedded default: SmolLM2-135M on CPU, small slices of all three benchmarks, sft / eto / coevolve.

All methods share one SFT model and one expert set (same data, same budget): the `sft` run trains
and evaluates it, the other runs start from its checkpoint
(pipeline/compare.py, as `coevolve compare`). WebShop runs on the generated catalogue
unless the official product files are present; its column is labelled accordingly in the report.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from coevolve.pipeline.compare import run_comparison, share_first_rollouts, shared_sft

__all__ = ["DEMO_METHODS", "demo_config", "demo_settings", "run_demo", "share_first_rollouts"]

log = logging.getLogger(__name__)

DEMO_METHODS = ("sft", "eto", "coevolve")
DEMO_PROMPT_SET = "auto"  # ETO's/IPR's prompts when already local (data dir, cache), else embedded
# Short ScienceWorld task types (15-step caps) that a 135M model can learn from a few experts.
SHORT_SCIWORLD = [
    "task-3-find-living-thing",
    "task-3-find-non-living-thing",
    "task-3-find-plant",
    "task-3-find-animal",
]


def demo_settings(quick: bool) -> dict[str, Any]:
    """Sized for a 2-core CPU: training SmolLM2 runs at ~80 tokens/s there, so the slices are small.

    Learning rates are higher than the paper's (1e-5 SFT, 1e-6 DPO for 7B models): a 135M model on a
    handful of examples moves little in the few optimizer steps a CPU budget allows.
    """
    train, evals = (1, 1) if quick else (2, 2)
    tokens = 32 if quick else 48
    return {
        "base_model": "smollm2-135m",
        "iterations": 1 if quick else 2,
        "envs": [
            {
                "name": "sciworld",
                "train_limit": train,
                "eval_splits": ["seen", "unseen"],
                "eval_limit": evals,
                "task_filter": {"task_name": SHORT_SCIWORLD},
            },
            {"name": "intercode_sql", "train_limit": train, "eval_splits": ["test"], "eval_limit": evals},
            {"name": "webshop", "train_limit": train, "eval_splits": ["test"], "eval_limit": evals},
        ],
        "sft": {
            "epochs": 1 if quick else 3,
            "learning_rate": 1e-4,
            "batch_size": 2,
            "micro_batch_size": 1,
            "max_length": 2048,
        },
        "dpo": {
            "epochs": 1,
            "learning_rate": 5e-6,
            "batch_size": 2,
            "micro_batch_size": 1,
            "max_length": 768,
        },
        "target_sampling": {"max_new_tokens": tokens},
        "aux_sampling": {"max_new_tokens": tokens, "temperature": 0.7},
        "eval_sampling": {"max_new_tokens": tokens},
        "eval_every_iteration": False,
        # An SFT'd model needs no in-context example; one torch thread beside the simulator JVMs.
        "rollout": {
            "backend": "hf",
            "max_concurrent": 16,
            "num_workers": 2,
            "with_examples": False,
            "backend_kwargs": {"num_threads": 1},
        },
    }


def demo_config(method: str, out: Path, quick: bool, data_dir: str | None) -> dict[str, Any]:
    data = {"method": method, "data_dir": data_dir, **demo_settings(quick)}
    for env in data["envs"]:  # upstream prompts when their files are local, else the embedded ones
        env.setdefault("env_kwargs", {}).setdefault("prompt_set", DEMO_PROMPT_SET)
    return shared_sft(data, method, out)


def run_demo(
    out: Path, quick: bool = False, methods: tuple[str, ...] = DEMO_METHODS, data_dir: str | None = None
) -> list[Path]:
    if methods[0] != "sft":
        methods = ("sft", *[m for m in methods if m != "sft"])
    announce_data(demo_config(methods[0], out, quick, data_dir), data_dir)
    return run_comparison(demo_config("sft", out, quick, data_dir), out, methods, where="demo")


def announce_data(config: dict[str, Any], data_dir: str | None) -> list[str]:
    """Say at start-up which data each environment uses (embedded vs upstream; see README, Data)."""
    from coevolve.data.sources import describe

    lines = [describe(env["name"], env.get("env_kwargs"), data_dir) for env in config["envs"]]
    for line in lines:
        log.info("demo data: %s", line)
    return lines
