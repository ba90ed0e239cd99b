"""The run configuration: one typed config tree, loaded from YAML with `key.sub=value` overrides.

A method (sft, eto, coevolve, positive-agent, frozen-failure) is a preset of this config
(`pipeline/methods.py`), never a code path of its own.

Every section is a `*Config` dataclass (help on each field; `coevolve validate --defaults` prints them
all, configs/defaults.yaml is that output). `sft`, `dpo` and `pairs` are override configs
(pipeline/sections.py): typed like `SFTConfig`, `DPOConfig` and `PairConfig`, every key optional, only the
keys set layered over the method's presets and ETO's DPO schedule. Their keys and values are checked at
load time, so a typo fails before any compute, naming the closest key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from coevolve.agents.base import SamplingConfig
from coevolve.configtree import ConfigError, build, check_type, parse_overrides, plain, set_dotted
from coevolve.configtree import type_name as _type_name
from coevolve.pipeline.sections import (
    SECTIONS,
    DPOOverrideConfig,
    PairOverrideConfig,
    SFTOverrideConfig,
    build_sections,
    section,
)

__all__ = ["ConfigError", "EnvConfig", "LauncherConfig", "RolloutConfig", "RunConfig", "SamplingConfig",
           "check_type", "load_config", "set_dotted", "_type_name"]  # fmt: skip


@dataclass
class EnvConfig:
    """One benchmark in the run: which tasks train and evaluate, and where the experts come from."""

    name: str
    train_split: str = "train"
    train_limit: int | None = None  # first N training tasks (gold experts that fail are skipped); None = all
    train_per_type: int | None = None  # gold experts: at most N training tasks per task type (before train_limit)
    train_ids: list[str] | None = None  # explicit training task ids (overrides the split order)
    # exploration: the first N tasks per task type / in all of the training tasks with an expert, every
    # iteration (None: every one, as in the paper); a small CPU run explores a slice of what SFT saw
    explore_per_type: int | None = None
    explore_limit: int | None = None
    # evaluation splits; None: the splits of the benchmark's report columns (its `Benchmark.columns`)
    eval_splits: list[str] | None = None
    eval_limit: int | None = None  # first N tasks of each evaluation split
    eval_ids: dict[str, list[str]] | None = None  # explicit ids per evaluation split
    # "gold": generated from the environment's gold paths; otherwise a data resource name or a path
    # of an ETO/IPR SFT file (JSON list or JSONL).
    experts: str = "gold"
    min_expert_reward: float | None = None  # keep experts with reward strictly above (None: the benchmark's rule)
    drop_noops: bool = True  # generated ("gold") experts leave out steps the env reports as no-ops
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    # keep only tasks whose Task.meta[key] is one of the values, e.g. {"task_name": [...]} (all splits)
    task_filter: dict[str, list[Any]] = field(default_factory=dict)
    # seconds one env step may take before the episode ends with an error (None: the env's default)
    step_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.eval_splits is None:
            self.eval_splits = default_eval_splits(self.name)


def default_eval_splits(env: str) -> list[str]:
    """The splits of the benchmark's report columns, or ["test"] for a name no registry knows (yet)."""
    from coevolve.envs.benchmark import get_benchmark

    try:
        return [column.split for column in get_benchmark(env).report_columns()]
    except Exception:  # an env registered later (a plugin) is checked at validation time
        return ["test"]


@dataclass
class RolloutConfig:
    """How rollouts and evaluations run: the generation backend and how many episodes live at once."""

    backend: str = "hf"  # hf | vllm | openai
    max_concurrent: int = 16  # live episodes per generation batch
    num_workers: int = 2  # env worker processes (0 = in-process)
    backend_kwargs: dict[str, Any] = field(default_factory=dict)  # passed to the policy (device, dtype, ...)
    with_examples: bool = True  # in-context example in rollout/eval prompts (ETO: on)


@dataclass
class LauncherConfig:
    """How training stages run: in this process, or as `accelerate launch` jobs (multi-GPU)."""

    kind: str = "none"  # none | accelerate
    config: str = "zero3"  # a name in configs/accelerate/ (zero3, fsdp, ...) or a file
    num_processes: int | None = None  # default: what the accelerate config says


@dataclass
class RFTConfig:
    """Rejection-sampling fine-tuning (method `rft`, pipeline/baselines.py): which of the target's own
    rollouts join the experts, and which model each iteration's SFT starts from."""

    success_threshold: float = 1.0  # keep rollouts with reward >= this (1.0: success; e.g. 0.7 for partial-credit rewards)
    init: str = "sft"  # sft | base | previous: the model each iteration fine-tunes on experts + successes
    distinct: bool = True  # per task, keep a success only if its assistant turns differ from those kept
    max_per_task: int | None = None  # at most this many own successes per task (all iterations); None = all
    # exploration: this many samples per task at this temperature (top_p, max_new_tokens: target_sampling)
    samples_per_task: int = 4
    temperature: float = 0.7


@dataclass
class BestOfNConfig:
    """Evaluation with `eval_select: best` (method `best-of-n`): samples per test task and their
    temperature (top_p, max_new_tokens: eval_sampling). The papers do not state N's temperature."""

    samples: int = 4
    temperature: float = 0.7


@dataclass
class RunConfig:
    """One run: a method (preset) on one backbone over one or more benchmarks."""

    method: str = "coevolve"  # sft | eto | coevolve | frozen-failure | positive-agent (pipeline/methods.py)
    base_model: str = "smollm2-135m"  # hub id, checkpoint dir, or an alias (smollm2-135m)
    envs: list[EnvConfig] = field(default_factory=list)  # the benchmarks (one entry each)
    iterations: int = 3  # K: 3 or 5 per benchmark in the paper (configs/paper/)
    seed: int = 0  # base of every derived seed (sampling requests per agent and iteration)
    data_dir: str | None = None  # folder with local copies of data resources (or COEVOLVE_DATA_DIR)

    # --- what the method does (presets in methods.py)
    aux_agent: str = "failure"  # none | failure | positive: the second agent and what it is trained toward
    aux_frozen_after: int | None = None  # frozen-failure ablation: stop updating after this iteration
    target_pairs: str = "coevolve"  # eto | coevolve: how the target's DPO pairs are built
    target_preset: str = "target"  # DPO preset of the target update: target (0.5 DPO + 0.5 SFT) | eto
    aux_preset: str = "failure"  # DPO preset of the second agent
    update_order: str = "same_rollouts"  # | failure_first: update pi_f, re-sample it, then train pi_t
    reference: str = "iteration_start"  # | sft: the DPO reference model
    rft: RFTConfig = field(default_factory=RFTConfig)
    # avg_reward of an evaluation: "mean" over every episode (eval_sampling, any samples_per_task), or
    # "best": best_of_n.samples per task, each task's best sample by environment reward (an oracle)
    eval_select: str = "mean"
    best_of_n: BestOfNConfig = field(default_factory=BestOfNConfig)

    # --- per-stage settings (overrides of the stage dataclasses' defaults)
    # SFTConfig overrides (coevolve.training)
    sft: SFTOverrideConfig = field(default_factory=SFTOverrideConfig)
    # DPOConfig overrides for both agents, plus `schedule` and `by_iteration` (pipeline/schedule.py)
    dpo: DPOOverrideConfig = field(default_factory=DPOOverrideConfig)
    # PairConfig overrides (coevolve.pairs)
    pairs: PairOverrideConfig = field(default_factory=PairOverrideConfig)
    target_sampling: SamplingConfig = field(default_factory=SamplingConfig)  # the target's exploration
    # The failure agent starts as a copy of the SFT model: sampled at 0.7 its first rollouts differ from the
    # target's greedy ones, so iteration 1 already yields failure pairs (greedy copies would all tie).
    aux_sampling: SamplingConfig = field(default_factory=lambda: SamplingConfig(temperature=0.7))
    eval_sampling: SamplingConfig = field(default_factory=SamplingConfig)  # evaluations (greedy)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    launcher: LauncherConfig = field(default_factory=LauncherConfig)
    eval_sft: bool = True  # evaluate the SFT model too (iteration 0)
    eval_every_iteration: bool = True  # else only after the last iteration
    sft_checkpoint: str | None = None  # start from this SFT model instead of training one
    # after the experts stage: stop unless generation caps and SFT/DPO max_length cover every expert
    check_token_caps: bool = True

    def __post_init__(self) -> None:  # a section given as a mapping (code, not YAML) becomes its config
        for name in SECTIONS:
            setattr(self, name, section(name, getattr(self, name), "RunConfig"))

    def fingerprint(
        self, exclude: tuple[str, ...] = ("iterations", "eval_every_iteration", "data_dir", "check_token_caps")
    ) -> dict[str, Any]:
        """Flattened config used to detect edits of finished stages (sft/dpo/pairs: the keys set)."""
        data = {k: v for k, v in plain(self).items() if k not in exclude}
        return flatten(data)


VALID_CHOICES = {
    "aux_agent": ("none", "failure", "positive"),
    "target_pairs": ("eto", "coevolve"),
    "update_order": ("same_rollouts", "failure_first"),
    "reference": ("iteration_start", "sft"),
    "eval_select": ("mean", "best"),
}
RFT_INITS = ("sft", "base", "previous")
LAUNCHERS = ("none", "accelerate")


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    if isinstance(data, list) and data and isinstance(data[0], dict):
        out = {}
        for i, value in enumerate(data):
            out.update(flatten(value, f"{prefix}{i}."))
        return out
    return {prefix.rstrip("."): data}


def config_hash(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def from_dict(data: dict[str, Any], where: str = "config") -> RunConfig:
    from coevolve.pipeline.methods import apply_method

    data = apply_method(data, where)
    raw = {name: data.pop(name) for name in SECTIONS if name in data}
    config = build(RunConfig, data, where)
    check_values(config, where)
    for name, value in build_sections(raw, where).items():
        setattr(config, name, value)
    check_sampling(config, where)
    return config


def validate(config: RunConfig, where: str = "config") -> None:
    check_values(config, where)
    check_sections(config, where)


def check_values(config: RunConfig, where: str = "config") -> None:
    """Choices, envs, iterations and ranges of every section but sft/dpo/pairs."""
    for key, choices in VALID_CHOICES.items():
        if getattr(config, key) not in choices:
            raise ConfigError(f"{where}: '{key}' must be one of {choices}, got {getattr(config, key)!r}")
    if config.launcher.kind not in LAUNCHERS:
        raise ConfigError(
            f"{where}: 'launcher.kind' must be one of {LAUNCHERS}, got {config.launcher.kind!r}"
        )
    if not config.envs:
        raise ConfigError(f"{where}: 'envs' must list at least one environment")
    if config.iterations < 0:
        raise ConfigError(f"{where}: 'iterations' must be >= 0")
    if config.rft.init not in RFT_INITS:
        raise ConfigError(f"{where}: 'rft.init' must be one of {RFT_INITS}, got {config.rft.init!r}")
    check_ranges(config, where)


def check_sections(config: RunConfig, where: str = "config") -> None:
    """`sft` / `dpo` / `pairs` keys name real settings (did-you-mean) and their values fit the field types;
    `dpo` keeps ETO's schedule unless told not to; sampling sections leave `n` to `samples_per_task`."""
    build_sections({name: getattr(config, name).overrides() for name in SECTIONS}, where)
    check_sampling(config, where)


def check_sampling(config: RunConfig, where: str = "config") -> None:
    for name in ("target_sampling", "aux_sampling", "eval_sampling"):
        if getattr(config, name).n != 1:
            raise ConfigError(f"{where}: '{name}.n' must be 1; set '{name}.samples_per_task' for more samples")


_BOUNDS = {"iterations": 0, "aux_frozen_after": 0}  # key -> smallest valid value
_ENV_BOUNDS = {
    "train_limit": 1, "eval_limit": 1, "train_per_type": 1, "explore_per_type": 1, "explore_limit": 1
}  # fmt: skip
_SAMPLING_BOUNDS = {"samples_per_task": 1, "max_new_tokens": 1}


def check_ranges(config: RunConfig, where: str = "config") -> None:
    """Counts and limits in range, each error naming its key (a -1 must not slice a task away)."""

    def check(value: Any, low: float, key: str, strict: bool = False) -> None:
        if value is not None and (value <= low if strict else value < low):
            raise ConfigError(f"{where}: '{key}' must be {'>' if strict else '>='} {low}, got {value!r}")

    for key, low in _BOUNDS.items():
        check(getattr(config, key), low, key)
    for i, spec in enumerate(config.envs):
        for key, low in _ENV_BOUNDS.items():
            check(getattr(spec, key), low, f"envs[{i}].{key}")
        check(spec.step_timeout, 0, f"envs[{i}].step_timeout", strict=True)
    for name in ("target_sampling", "aux_sampling", "eval_sampling"):
        for key, low in _SAMPLING_BOUNDS.items():
            check(getattr(getattr(config, name), key), low, f"{name}.{key}")
    check(config.rft.max_per_task, 1, "rft.max_per_task")
    check(config.rft.samples_per_task, 1, "rft.samples_per_task")
    check(config.rft.temperature, 0, "rft.temperature")
    check(config.best_of_n.samples, 1, "best_of_n.samples")
    check(config.best_of_n.temperature, 0, "best_of_n.temperature", strict=True)  # N greedy samples tie
    check(config.rollout.max_concurrent, 1, "rollout.max_concurrent")
    check(config.rollout.num_workers, 0, "rollout.num_workers")


def load_config(path: str | Path | None, overrides: list[str] = (), base: dict | None = None) -> RunConfig:
    return from_dict(load_config_dict(path, overrides, base), str(path or "config"))


def load_config_dict(
    path: str | Path | None, overrides: list[str] = (), base: dict | None = None
) -> dict[str, Any]:
    """The YAML file's mapping with `key.sub=value` overrides applied, before presets and validation."""
    data: dict[str, Any] = dict(base or {})
    if path is not None:
        path = Path(path)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        data.update(loaded)
    for key, value in parse_overrides(list(overrides)):
        set_dotted(data, key, value)
    return data


def to_yaml(config: RunConfig) -> str:
    return yaml.safe_dump(plain(config), sort_keys=False)


# former names, kept for code written against them
EnvSpec, SamplingSpec, RolloutSpec, LauncherSpec = EnvConfig, SamplingConfig, RolloutConfig, LauncherConfig
