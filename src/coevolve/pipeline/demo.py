"""The embedded default: SmolLM2-135M on CPU, one model per benchmark (as in the paper), sft and coevolve.

`coevolve demo` runs the default benchmark (the one whose description sets `demo["default"]`);
`coevolve demo --env NAME` runs another benchmark with a demo the same way. Per benchmark all methods
share one SFT model and one expert set (pipeline/compare.py): OUT/<env>/sft builds the experts, trains and
evaluates the SFT model, OUT/<env>/{eto,coevolve} start from its checkpoint. A benchmark on generated or
sample data is labelled accordingly in the report (the data label of its description).

Sizing (2-core CPU, where training SmolLM2-135M is the bottleneck):
- Each benchmark's slice (env spec, generation cap, training max_length, quick shrink) is its
  description's `demo` entry (envs/); the default one is sized so that every evaluation column has 30
  episodes and a 95 % CI (the default's 120 experts; 60 gave an SFT model of only 48.9 unseen, README).
- One iteration (K = 1) that explores a slice of the training tasks (the description's
  `explore_per_type`; the default: 8 per type, 24 episodes per agent); the failure agent still trains (its
  pairs come from the iteration's rollouts). Exploring all 120 took ~15 min per agent: over the budget.
- DPO at the paper's iteration-1 learning rate (1e-6) and beta 0.1, batch 2, 1 epoch (one optimizer
  step per two pairs): real steps, but small ones. At 5e-6
  one iteration of DPO wiped out most of what SFT taught (issue 13; README, "DPO stability").
- Token caps cover the experts (checked after the experts stage, pipeline/checks.py).
- Methods: sft and coevolve by default (`--methods sft eto coevolve` adds eto from the same SFT model and
  first rollouts): the three together measured over the 45-minute budget on 2 cores (63 min on shared
  cores, ~51 on idle ones); eto against coevolve over three seeds is the CPU study's job (configs/studies/,
  README).
- Evaluation runs the seen and unseen splits in one pool of live episodes (evaluation/runner.py).
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from coevolve.envs.benchmark import benchmarks
from coevolve.pipeline.compare import run_comparison, share_first_rollouts, shared_sft

__all__ = [
    "DEFAULT_DEMO",
    "DEMO_ENVS",
    "DEMO_METHODS",
    "demo_config",
    "demo_settings",
    "run_demo",
    "share_first_rollouts",
]

log = logging.getLogger(__name__)

DEMO_METHODS = ("sft", "coevolve")  # + eto with --methods (module docstring)
DEMO_PROMPT_SET = "auto"  # ETO's/IPR's prompts when already local (data dir, cache), else embedded

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
    # An SFT'd model needs no in-context example; the policy takes every core (its default: fastest on idle
    # cores even beside the simulator JVMs, BENCHMARKS.md).
    "rollout": {
        "backend": "hf",
        "max_concurrent": 30,
        "num_workers": 2,
        "with_examples": False,
    },
}

# Per benchmark, from its description (`Benchmark.demo`): its env spec, the generation cap (covers the
# longest expert turn) and the training max_length (covers the longest expert episode); `quick` shrinks
# the slices to a smoke run.
DEMO_ENVS: dict[str, dict[str, Any]] = {b.name: b.demo for b in benchmarks() if b.demo}
DEFAULT_DEMO = next((name for name, demo in DEMO_ENVS.items() if demo.get("default")), min(DEMO_ENVS))


def demo_settings(env: str = DEFAULT_DEMO, quick: bool = False) -> dict[str, Any]:
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
    method: str, out: Path, quick: bool, data_dir: str | None, env: str = DEFAULT_DEMO
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
    env: str = DEFAULT_DEMO,
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
