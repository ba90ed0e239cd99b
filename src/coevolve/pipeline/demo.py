"""The embedded default: SmolLM2-135M on CPU, small slices of all three benchmarks, sft / eto / coevolve.

All methods share one SFT model and one expert set (same data, same budget): the `sft` run trains
and evaluates it, the other runs start from its checkpoint. WebShop runs on the generated catalogue
unless the official product files are present; its column is labelled accordingly in the report.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from coevolve.pipeline.config import RunConfig, from_dict
from coevolve.pipeline.runner import Pipeline

log = logging.getLogger(__name__)

DEMO_METHODS = ("sft", "eto", "coevolve")
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
    if method != "sft":
        shared = out / "sft"
        data["sft_checkpoint"] = str(shared / "checkpoints" / "sft")
        data["eval_sft"] = False
        for env in data["envs"]:
            env["experts"] = str(shared / "experts" / f"{env['name']}.jsonl")
    return data


def run_demo(
    out: Path, quick: bool = False, methods: tuple[str, ...] = DEMO_METHODS, data_dir: str | None = None
) -> list[Path]:
    if methods[0] != "sft":
        methods = ("sft", *[m for m in methods if m != "sft"])
    run_dirs = []
    for method in methods:
        run_dir = out / method
        log.info("demo: method %s in %s", method, run_dir)
        config = from_dict(demo_config(method, out, quick, data_dir), f"demo:{method}")
        if method != "sft" and "eto" in methods[: methods.index(method)]:
            share_first_rollouts(out / "eto", run_dir, config)
        Pipeline(config, run_dir).run()
        run_dirs.append(run_dir)
    return run_dirs


def share_first_rollouts(source: Path, run_dir: Path, config: RunConfig) -> None:
    """Reuse eto's iteration-1 target rollouts: the same SFT model, tasks, seed and greedy decoding
    produce the same episodes, which the rollout engine then skips instead of generating again."""
    if config.target_sampling.temperature != 0:
        return
    for spec in config.envs:
        src = source / "iter1" / "rollouts" / spec.name / "target.jsonl"
        dst = run_dir / "iter1" / "rollouts" / spec.name / "target.jsonl"
        if src.exists() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
