"""The `sft`, `dpo` and `pairs` sections of a run config: typed override configs.

Project code. Each section mirrors a settings class (`training.settings.SFTConfig` / `DPOConfig`,
`pairs.settings.PairConfig`): same keys, same types, every key optional. A key left out is decided by
what the section is layered over: the settings class defaults, the agent's DPO preset (`target_preset`,
`aux_preset`: dpo_weight/sft_weight) and ETO's per-iteration schedule (`dpo.schedule`,
`dpo.by_iteration`, pipeline/schedule.py). `overrides()` gives the keys that were set, which is what the
runner layers and what the run fingerprint and config.yaml record (so both read as they did when these
sections were plain mappings).

The fields are written out here, not derived, so that loading a config imports no training code;
tests/pipeline/test_sections.py keeps them equal to the settings classes. Unknown keys fail at load time
naming the section and the closest key (`build_sections`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from coevolve.configtree import ConfigError, OverrideConfig, build
from coevolve.pairs.settings import EtoSamples, MultiSample, PromptMismatch, SubSuccessExpert, Truncation

SECTIONS = ("sft", "dpo", "pairs")


@dataclass(init=False, eq=False, repr=False)
class LoraOverrideConfig(OverrideConfig):
    """`lora: {...}` in `sft` / `dpo`: LoraConfig keys (training/settings.py); unset ones keep its defaults."""

    r: int = None  # adapter rank
    alpha: int = None  # scaling numerator (alpha / r)
    dropout: float = None  # dropout on the adapter input
    target_modules: list[str] = None  # module names that get an adapter
    merge: bool = None  # save the adapter merged into the model


@dataclass(init=False, eq=False, repr=False)
class TrainOverrideConfig(OverrideConfig):
    """Keys of both `sft` and `dpo` (TrainConfig, training/settings.py); unset: that class's default."""

    epochs: float = None  # passes over the data
    learning_rate: float = None  # peak learning rate (dpo: see `schedule`)
    batch_size: int = None  # global: micro_batch_size x processes x gradient accumulation
    micro_batch_size: int = None
    lr_scheduler: str = None  # transformers scheduler name
    warmup: float = None  # < 1: a ratio of the total steps
    weight_decay: float = None  # AdamW weight decay
    max_grad_norm: float = None  # gradient clipping
    max_steps: int = None  # > 0 overrides epochs (smoke tests)
    max_length: int = None  # tokens per conversation; longer ones are cut
    dtype: str | None = None  # None: bf16 on GPU, fp32 on CPU
    gradient_checkpointing: bool | None = None  # None: on for GPU, off on CPU
    # a LoRA adapter: true for the defaults, a mapping of LoRA keys, null: full model
    lora: bool | LoraOverrideConfig | None = None
    fast_path: bool = None  # false: TRL's default loss path (training/fastpath.py)
    cpu_bf16: bool | None = None  # None: autocast when the CPU has AMX / AVX512-BF16; false: fp32
    threads: int | None = None  # torch threads; None: all usable cores
    seed: int = None  # runs pass the run config's seed unless this is set
    save_steps: float = None  # < 1: a ratio of the stage's total steps; >= 1: every N optimizer steps
    save_total_limit: int | None = None  # checkpoints kept (None: all)
    keep_checkpoints: bool = None  # keep the checkpoint-N folders once training has finished
    logging_steps: float = None  # < 1: a ratio of the total steps
    report_to: str = None  # "tensorboard", "none", or a comma list adding "wandb" / "trackio"
    logging_dir: str | None = None  # runs pass the stage's log folder unless this is set


@dataclass(init=False, eq=False, repr=False)
class SFTOverrideConfig(TrainOverrideConfig):
    """The `sft` section: SFTConfig keys for the SFT stage (and RFT's SFT updates)."""

    min_reward: float | None = None  # keep trajectories with reward > min_reward (e.g. 0.7)
    packing: bool = None  # pack several conversations into one row


@dataclass(init=False, eq=False, repr=False)
class DPOIterationConfig(TrainOverrideConfig):
    """DPOConfig keys: one entry of `dpo.by_iteration`, on top of the section's plain keys and the schedule."""

    beta: float = None  # DPO temperature (default: ETO's schedule)
    dpo_weight: float = None  # weight of the sigmoid-DPO term (default: the agent's preset)
    sft_weight: float = None  # weight of the chosen-side NLL term (default: the agent's preset)
    precompute_ref: bool = None  # reference log-probs computed once, reference freed
    drop_truncated_chosen: bool = None  # False: keep and report pairs whose chosen side is cut


@dataclass(init=False, eq=False, repr=False)
class DPOOverrideConfig(DPOIterationConfig):
    """The `dpo` section: DPOConfig keys for both agents in every iteration, ETO's schedule, and
    per-iteration keys (pipeline/schedule.py)."""

    # eto (default): beta/learning_rate per iteration as ETO; constant: the plain values in every iteration
    schedule: Literal["eto", "constant"] = None
    by_iteration: dict[int, DPOIterationConfig] = (
        None  # iteration (from 1) -> DPO keys of that iteration only
    )


@dataclass(init=False, eq=False, repr=False)
class PairOverrideConfig(OverrideConfig):
    """The `pairs` section: PairConfig keys (pairs/settings.py, where each is documented)."""

    truncation: Truncation = None  # a rejected rollout longer than the expert + max_extra_messages
    max_extra_messages: int = None  # messages allowed beyond the expert's episode (ETO: 10)
    reverse_when_better: bool = None  # a rollout that beats a sub-1.0 expert becomes the chosen side
    expert_reward_one_envs: tuple[str, ...] | None = None  # envs whose expert counts as reward 1.0
    multi_sample: MultiSample = None  # failure-failure / success-failure pairs of one task
    eto_samples: EtoSamples = None  # ETO pairs of a task explored with several samples
    expert_vs_target: bool = None  # build expert-vs-target pairs
    expert_vs_failure_agent: bool = None  # build expert-vs-failure-agent pairs
    failure_failure: bool = None  # build failure-failure pairs (paper v1)
    sub_success_expert: SubSuccessExpert = None  # an expert with reward < 1 against a better failure
    failure_agent_successes: Literal["drop", "positive"] = None  # pair failure-agent successes or not
    success_sft_weight: float = None  # sft_weight of success_vs_failure pairs
    prompt_mismatch: PromptMismatch = None  # a pair whose sides' task turns differ: keep | skip | error


SECTION_CLASSES: dict[str, type[OverrideConfig]] = {
    "sft": SFTOverrideConfig, "dpo": DPOOverrideConfig, "pairs": PairOverrideConfig
}  # fmt: skip


def fold_lora_keys(values: dict[str, Any]) -> dict[str, Any]:
    """`lora.r: 8` style keys as a nested `lora: {r: 8}` (they set fields of the default adapter)."""
    dotted = {k.removeprefix("lora."): v for k, v in values.items() if str(k).startswith("lora.")}
    if not dotted:
        return values
    out = {k: v for k, v in values.items() if not str(k).startswith("lora.")}
    lora = out.get("lora")
    out["lora"] = {**(lora if isinstance(lora, dict) else {}), **dotted}
    return out


def section(name: str, values: Any, where: str = "config") -> OverrideConfig:
    """The typed section from its mapping (keys checked against the section class only)."""
    if isinstance(values, OverrideConfig):
        return values
    if not isinstance(values, dict):
        raise ConfigError(f"{where}.{name}: expected a mapping, got {type(values).__name__}")
    if name != "pairs":
        values = fold_lora_keys(values)
    if name == "dpo" and isinstance(values.get("by_iteration"), dict):
        from coevolve.pipeline.schedule import ScheduleError, normalise_dpo

        try:
            by_iteration = normalise_dpo(values, f"{where}.dpo")["by_iteration"]  # keys as ints, merged
        except ScheduleError as exc:
            raise ConfigError(str(exc)) from None
        values = {**values, "by_iteration": {k: fold_lora_keys(v) for k, v in by_iteration.items()}}
    return build(SECTION_CLASSES[name], values, f"{where}: {name}")


def build_sections(raw: dict[str, Any], where: str = "config") -> dict[str, OverrideConfig]:
    """The three sections of a loaded config: keys and values checked against the settings classes
    (did-you-mean naming the section), ETO's schedule rule, then the typed sections."""
    from coevolve.configtree import check_keys
    from coevolve.pairs.settings import PairConfig
    from coevolve.pipeline.schedule import (
        SECTION_KEYS,
        ScheduleError,
        check_dpo,
        check_settings,
        normalise_dpo,
    )
    from coevolve.training.settings import DPOConfig, SFTConfig

    sft, dpo, pairs = (raw.get(name, {}) for name in SECTIONS)
    try:
        check_settings(sft, SFTConfig, "sft")
        check_dpo(dpo, "dpo")
        check_keys(sft, SFTConfig, f"{where}: sft")
        check_keys(dpo, DPOConfig, f"{where}: dpo", SECTION_KEYS)
        dpo = normalise_dpo(dpo)
        for k, values in dpo.get("by_iteration", {}).items():
            check_keys(values, DPOConfig, f"{where}: dpo.by_iteration.{k}")
        check_keys(pairs, PairConfig, f"{where}: pairs")
        build(PairConfig, pairs, f"{where}: pairs")
    except ScheduleError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return {
        "sft": section("sft", sft, where),
        "dpo": section("dpo", dpo, where),
        "pairs": section("pairs", pairs, where),
    }
