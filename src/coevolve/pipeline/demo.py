"""The embedded default: SmolLM2-135M on CPU, one model per benchmark (as in the paper), sft / eto / coevolve.

`coevolve demo` runs ScienceWorld, the core of the demo; `coevolve demo --env intercode_sql|webshop`
runs one of the other benchmarks the same way. Per benchmark all methods share one SFT model and one
expert set (pipeline/compare.py): OUT/<env>/sft builds the experts, trains and evaluates the SFT model,
OUT/<env>/{eto,coevolve} start from its checkpoint. WebShop runs on the generated catalogue unless the
official product files are present; its column is labelled accordingly in the report.

Sizing (2-core CPU, where training SmolLM2-135M is the bottleneck):
- ScienceWorld: the three `find` task types (short episodes, 120 training variations each), 20 gold
  experts per type; evaluation on all 30 seen (ETO dev) and 30 unseen (ETO test) variations of these
  types, so every column has 30 episodes and a 95 % CI. A measured SFT on 120 such experts reached 73
  unseen (issue 13); the model learns the format and the search from a few dozen examples.
- One iteration (K = 1): the failure agent still trains (its pairs come from the iteration's rollouts).
- DPO at the paper's iteration-1 learning rate (1e-6) and beta 0.1, batch 2, 1 epoch (one optimizer
  step per two pairs: ~15 for eto, ~30 for the coevolve target): real steps, but small ones. At 5e-6
  one iteration of DPO wiped out most of what SFT taught (issue 13; README, "DPO stability").
- Token caps cover the experts (checked after the experts stage, pipeline/checks.py).
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from coevolve.pipeline.compare import run_comparison, share_first_rollouts, shared_sft

__all__ = [
    "DEMO_ENVS",
    "DEMO_METHODS",
    "demo_config",
    "demo_settings",
    "run_demo",
    "share_first_rollouts",
]

log = logging.getLogger(__name__)

DEMO_METHODS = ("sft", "eto", "coevolve")
DEMO_PROMPT_SET = "auto"  # ETO's/IPR's prompts when already local (data dir, cache), else embedded
# Short ScienceWorld task types (10-20 step caps, >= 100 gold experts each) that a 135M model can learn.
SHORT_SCIWORLD = [
    "task-3-find-living-thing",
    "task-3-find-non-living-thing",
    "task-3-find-plant",
]

COMMON: dict[str, Any] = {
    "base_model": "smollm2-135m",
    "iterations": 1,
    "sft": {"epochs": 2, "learning_rate": 1e-4, "batch_size": 4, "micro_batch_size": 1},
    "dpo": {
        "epochs": 1,
        "learning_rate": 1e-6,
        "beta": 0.1,
        "schedule": "constant",
        "batch_size": 2,
        "micro_batch_size": 1,
    },  # fmt: skip
    "aux_sampling": {"temperature": 0.7},
    "eval_every_iteration": False,
    # An SFT'd model needs no in-context example; one torch thread beside the simulator JVMs.
    "rollout": {
        "backend": "hf",
        "max_concurrent": 30,
        "num_workers": 2,
        "with_examples": False,
        "backend_kwargs": {"num_threads": 1},
    },
}

# Per benchmark: its env spec, the generation cap (covers the longest expert turn) and the training
# max_length (covers the longest expert episode); `quick` shrinks the slices to a smoke run.
DEMO_ENVS: dict[str, dict[str, Any]] = {
    "sciworld": {
        "env": {
            "name": "sciworld",
            "train_per_type": 20,
            "eval_splits": ["seen", "unseen"],
            "task_filter": {"task_name": SHORT_SCIWORLD},
        },
        "quick": {"train_per_type": 2, "eval_limit": 3},
        "max_new_tokens": 64,
        "max_length": 2048,
    },
    "intercode_sql": {
        "env": {"name": "intercode_sql", "train_limit": 100, "eval_splits": ["test"], "eval_limit": 30},
        "quick": {"train_limit": 4, "eval_limit": 3},
        "max_new_tokens": 192,
        "max_length": 2048,
    },
    "webshop": {
        "env": {"name": "webshop", "train_limit": 100, "eval_splits": ["test"], "eval_limit": 30},
        "quick": {"train_limit": 4, "eval_limit": 3},
        "max_new_tokens": 96,
        "max_length": 3072,
    },
}


def demo_settings(env: str = "sciworld", quick: bool = False) -> dict[str, Any]:
    """The run config (without method) of one benchmark's demo."""
    if env not in DEMO_ENVS:
        raise ValueError(f"unknown demo benchmark {env!r}; choose one of {sorted(DEMO_ENVS)}")
    spec = DEMO_ENVS[env]
    data = copy.deepcopy(COMMON)
    envspec = {**spec["env"], **(spec["quick"] if quick else {})}
    if quick and "train_per_type" in envspec:
        envspec.pop("train_limit", None)
    data["envs"] = [envspec]
    tokens = spec["max_new_tokens"]
    for key in ("target_sampling", "aux_sampling", "eval_sampling"):
        data[key] = {**data.get(key, {}), "max_new_tokens": tokens}
    for key in ("sft", "dpo"):
        data[key]["max_length"] = spec["max_length"]
    if quick:  # a smoke run: every stage, a few optimizer steps
        data["sft"].update(epochs=1, batch_size=2)
        data["rollout"]["max_concurrent"] = 8
    return data


def demo_config(
    method: str, out: Path, quick: bool, data_dir: str | None, env: str = "sciworld"
) -> dict[str, Any]:
    data = {"method": method, "data_dir": data_dir, **demo_settings(env, quick)}
    for spec in data["envs"]:  # upstream prompts when their files are local, else the embedded ones
        spec.setdefault("env_kwargs", {}).setdefault("prompt_set", DEMO_PROMPT_SET)
    return shared_sft(data, method, out)


def run_demo(
    out: Path,
    quick: bool = False,
    methods: tuple[str, ...] = DEMO_METHODS,
    data_dir: str | None = None,
    env: str = "sciworld",
) -> list[Path]:
    """Run the demo of one benchmark in OUT (OUT/sft, OUT/eto, ...); returns the run directories."""
    if methods[0] != "sft":
        methods = ("sft", *[m for m in methods if m != "sft"])
    announce_data(demo_config(methods[0], out, quick, data_dir, env), data_dir)
    return run_comparison(demo_config("sft", out, quick, data_dir, env), out, methods, where=f"demo:{env}")


def announce_data(config: dict[str, Any], data_dir: str | None) -> list[str]:
    """Say at start-up which data each environment uses (embedded vs upstream; see README, Data)."""
    from coevolve.data.sources import describe

    lines = [describe(env["name"], env.get("env_kwargs"), data_dir) for env in config["envs"]]
    for line in lines:
        log.info("demo data: %s", line)
    return lines
