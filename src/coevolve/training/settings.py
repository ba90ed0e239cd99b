"""Training settings: one dataclass per algorithm (TRL style), defaults from the paper / ETO.

Every field can be overridden with `key=value` strings (`--set` on the command line; the parser is
`coevolve.configtree`'s, the run config's). `batch_size` is the *global* batch; gradient accumulation is
derived from it, the micro batch and the world size. Names end in `Config` like every config class; the
former `*Settings` names stay as aliases.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from coevolve.configtree import did_you_mean, parse_value, split_overrides


@dataclass
class LoraConfig:
    """PEFT LoRA adapter; `merge` folds the adapter into the saved model (rollout needs no PEFT)."""

    r: int = 16  # adapter rank
    alpha: int = 32  # scaling numerator (alpha / r)
    dropout: float = 0.05  # dropout on the adapter input
    target_modules: list[str] = field(  # module names that get an adapter
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    merge: bool = True  # save the adapter merged into the model


@dataclass
class TrainConfig:
    """Fields shared by SFT and DPO."""

    epochs: float = 3.0  # passes over the data
    learning_rate: float = 1e-5  # peak learning rate
    batch_size: int = 48  # global: micro_batch_size x processes x gradient accumulation
    micro_batch_size: int = 4
    lr_scheduler: str = "cosine"  # transformers scheduler name
    warmup: float = 0.03  # < 1: a ratio of the total steps
    weight_decay: float = 0.0  # AdamW weight decay
    max_grad_norm: float = 1.0  # gradient clipping
    max_steps: int = -1  # > 0 overrides epochs (smoke tests)
    max_length: int = 4096  # tokens per conversation; longer ones are cut
    dtype: str | None = None  # None: bf16 on GPU, fp32 on CPU; always passed explicitly
    gradient_checkpointing: bool | None = None  # None: on for GPU, off on CPU
    lora: LoraConfig | None = None  # a LoRA adapter (PEFT); `lora: true` for the defaults, null: full model
    # speed (training/fastpath.py): scored-only logits, unpadded rows, bf16 autocast on CPUs with bf16 units
    fast_path: bool = True  # false: TRL's default loss path (as before the fast path)
    cpu_bf16: bool | None = None  # None: autocast when the CPU has AMX / AVX512-BF16; false: fp32
    threads: int | None = None  # torch threads; None: all usable cores
    seed: int = 42  # data order and initialisation (runs: the run config's seed)
    # < 1: a ratio of the stage's total steps (0.2: a checkpoint every fifth of the stage, so a kill
    # loses at most that much of a ~100-step paper stage); >= 1: every N optimizer steps
    save_steps: float = 0.2
    save_total_limit: int | None = 2  # checkpoints kept (None: all)
    # keep the checkpoint-N folders once training has finished (they only serve to resume an interrupted
    # stage; a 135M model's weights + optimizer state are 1.6 GB each, a 7B model's ~80 GB)
    keep_checkpoints: bool = False
    logging_steps: float = 0.02  # < 1: a ratio of the total steps (~50 points per stage)
    # "tensorboard" (event files in logging_dir), "none", or a comma list adding "wandb" / "trackio"
    # (those must be installed; refused before training otherwise)
    report_to: str = "tensorboard"
    logging_dir: str | None = None  # None: OUT/logs

    def gradient_accumulation(self, world_size: int | None = None) -> int:
        world = world_size or int(os.environ.get("WORLD_SIZE", "1"))
        per_step = self.micro_batch_size * world
        if self.batch_size % per_step:
            raise ValueError(
                f"batch_size={self.batch_size} is not a multiple of micro_batch_size x processes = {per_step}"
            )
        return self.batch_size // per_step

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class SFTConfig(TrainConfig):
    """Behaviour cloning on expert trajectories (paper appendix B: 3 epochs, batch 48, lr 1e-5, 3 % warmup,
    cosine). Loss on assistant turns only."""

    min_reward: float | None = None  # keep trajectories with reward > min_reward (e.g. 0.7)
    packing: bool = False  # pack several conversations into one row


@dataclass
class DPOConfig(TrainConfig):
    """Multi-turn DPO with observation masking, plus an optional NLL term on the chosen side.

    loss = dpo_weight * sigmoid-DPO + sft_weight * token-mean NLL of chosen assistant tokens, each pair's
    NLL scaled by its `PreferencePair.sft_weight` (0 for a non-expert chosen).
    """

    epochs: float = 3.0
    learning_rate: float = 1e-6
    batch_size: int = 32
    micro_batch_size: int = 2
    lr_scheduler: str = "constant_with_warmup"
    warmup: float = 0.1
    beta: float = 0.1  # DPO temperature (runs: ETO's schedule, pipeline/schedule.py)
    dpo_weight: float = 1.0  # weight of the sigmoid-DPO term (runs: from the agent's preset)
    sft_weight: float = 0.0  # weight of the chosen-side NLL term (runs: from the agent's preset)
    precompute_ref: bool = True  # reference log-probs computed once, reference freed
    drop_truncated_chosen: bool = False  # False: keep and report pairs whose chosen side is cut

    @classmethod
    def preset(cls, name: str, iteration: int = 1, **overrides: Any) -> DPOConfig:
        """`target` (0.5 DPO + 0.5 SFT), `failure` / `eto` (DPO only); ETO's beta/lr schedule per iteration."""
        if name not in PRESETS:
            raise ValueError(f"unknown DPO preset {name!r}; choose one of {sorted(PRESETS)}")
        if iteration < 1:
            raise ValueError(f"iteration must be >= 1, got {iteration}")
        return apply_overrides(cls(**PRESETS[name], **eto_schedule(iteration)), overrides)


# ETO's per-iteration DPO schedule: iteration 1, then every later iteration (run configs: pipeline/schedule.py)
ETO_SCHEDULE: dict[str, dict[str, float]] = {
    "first": {"beta": 0.1, "learning_rate": 1e-6},
    "later": {"beta": 0.5, "learning_rate": 5e-7},
}


def eto_schedule(iteration: int) -> dict[str, float]:
    return dict(ETO_SCHEDULE["first" if iteration == 1 else "later"])


PRESETS: dict[str, dict[str, float]] = {
    "target": {"dpo_weight": 0.5, "sft_weight": 0.5},
    "failure": {"dpo_weight": 1.0, "sft_weight": 0.0},
    "eto": {"dpo_weight": 1.0, "sft_weight": 0.0},
}


def _coerce(value: Any, current: Any, name: str) -> Any:
    if not isinstance(value, str):
        return value
    parsed = parse_value(value)
    if isinstance(current, bool) or isinstance(parsed, bool):
        if not isinstance(parsed, bool):
            raise ValueError(f"setting '{name}' expects true/false, got {value!r}")
        return parsed
    if isinstance(current, (int, float)) and not isinstance(parsed, (int, float)):
        raise ValueError(f"setting '{name}' expects a number, got {value!r}")
    if isinstance(current, float) and isinstance(parsed, int):
        return float(parsed)
    return parsed


def apply_overrides(settings: TrainConfig, overrides: dict[str, Any] | list[str]) -> Any:
    """A copy with fields replaced; `overrides` is a dict or `key=value` strings (`lora.r=8` for LoRA)."""
    if isinstance(overrides, list):
        overrides = dict(split_overrides(overrides, example="key=value"))
    names = {f.name for f in dataclasses.fields(settings)}
    changes: dict[str, Any] = {}
    lora_changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key.startswith("lora."):
            lora_changes[key.removeprefix("lora.")] = value
            continue
        if key not in names:
            raise ValueError(f"unknown setting {key!r} for {type(settings).__name__}{did_you_mean(key, sorted(names))}")
        if key == "lora":
            changes[key] = _lora_value(value)
            continue
        changes[key] = _coerce(value, getattr(settings, key), key)
    result = dataclasses.replace(settings, **changes)
    if lora_changes:
        lora = result.lora or LoraConfig()
        lora_names = {f.name for f in dataclasses.fields(LoraConfig)}
        for key, value in lora_changes.items():
            if key not in lora_names:
                raise ValueError(f"unknown LoRA setting 'lora.{key}'; known: {sorted(lora_names)}")
            lora = dataclasses.replace(lora, **{key: _coerce(value, getattr(lora, key), f"lora.{key}")})
        result = dataclasses.replace(result, lora=lora)
    return result


def _lora_value(value: Any) -> LoraConfig | None:
    if isinstance(value, LoraConfig) or value is None:
        return value
    if isinstance(value, dict):
        return LoraConfig(**value)
    parsed = parse_value(value) if isinstance(value, str) else value
    if parsed in (False, None, "none"):
        return None
    if parsed is True:
        return LoraConfig()
    raise ValueError(f"setting 'lora' expects true/false, got {value!r}")


# former names (training/sft.py, training/dpo.py and tests use them; TRL's SFTConfig/DPOConfig live there)
LoraSettings, TrainSettings, SFTSettings, DPOSettings = LoraConfig, TrainConfig, SFTConfig, DPOConfig
