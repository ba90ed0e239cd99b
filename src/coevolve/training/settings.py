"""Training settings: one dataclass per algorithm (TRL style), defaults from the paper / ETO.

Every field can be overridden with `key=value` strings (`--set` on the command line). `batch_size` is
the *global* batch; gradient accumulation is derived from it, the micro batch and the world size.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass
class LoraSettings:
    """PEFT LoRA adapter; `merge` folds the adapter into the saved model (rollout needs no PEFT)."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    merge: bool = True


@dataclass
class TrainSettings:
    """Fields shared by SFT and DPO."""

    # optimisation
    epochs: float = 3.0
    learning_rate: float = 1e-5
    batch_size: int = 48  # global: micro_batch_size x processes x gradient accumulation
    micro_batch_size: int = 4
    lr_scheduler: str = "cosine"
    warmup: float = 0.03  # < 1: a ratio of the total steps
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs (smoke tests)
    # data
    max_length: int = 4096
    # model
    dtype: str | None = None  # None: bf16 on GPU, fp32 on CPU; always passed explicitly
    gradient_checkpointing: bool | None = None  # None: on for GPU, off on CPU
    lora: LoraSettings | None = None
    # speed (training/fastpath.py): scored-only logits, unpadded rows, bf16 autocast on CPUs with bf16 units
    fast_path: bool = True  # false: TRL's default loss path (as before the fast path)
    cpu_bf16: bool | None = None  # None: autocast when the CPU has AMX / AVX512-BF16; false: fp32
    threads: int | None = None  # torch threads; None: all usable cores
    # bookkeeping
    seed: int = 42
    # < 1: a ratio of the stage's total steps (0.2: a checkpoint every fifth of the stage, so a kill
    # loses at most that much of a ~100-step paper stage); >= 1: every N optimizer steps
    save_steps: float = 0.2
    save_total_limit: int | None = 2
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
class SFTSettings(TrainSettings):
    """Behaviour cloning on expert trajectories (paper appendix B: 3 epochs, batch 48, lr 1e-5, 3 % warmup,
    cosine). Loss on assistant turns only."""

    min_reward: float | None = None  # keep trajectories with reward > min_reward (WebShop: 0.7)
    packing: bool = False


@dataclass
class DPOSettings(TrainSettings):
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
    beta: float = 0.1
    dpo_weight: float = 1.0
    sft_weight: float = 0.0
    precompute_ref: bool = True  # reference log-probs computed once, reference freed
    drop_truncated_chosen: bool = False  # False: keep and report pairs whose chosen side is cut

    @classmethod
    def preset(cls, name: str, iteration: int = 1, **overrides: Any) -> DPOSettings:
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


def _number(text: str) -> Any:
    for kind in (int, float):  # YAML 1.1 reads "2e-5" as a string
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _coerce(value: Any, current: Any, name: str) -> Any:
    if not isinstance(value, str):
        return value
    parsed = yaml.safe_load(value)
    if isinstance(parsed, str):
        parsed = _number(parsed)
    if isinstance(current, bool) or isinstance(parsed, bool):
        if not isinstance(parsed, bool):
            raise ValueError(f"setting '{name}' expects true/false, got {value!r}")
        return parsed
    if isinstance(current, (int, float)) and not isinstance(parsed, (int, float)):
        raise ValueError(f"setting '{name}' expects a number, got {value!r}")
    if isinstance(current, float) and isinstance(parsed, int):
        return float(parsed)
    return parsed


def apply_overrides(settings: TrainSettings, overrides: dict[str, Any] | list[str]) -> Any:
    """A copy with fields replaced; `overrides` is a dict or `key=value` strings (`lora.r=8` for LoRA)."""
    if isinstance(overrides, list):
        pairs = {}
        for item in overrides:
            if "=" not in item:
                raise ValueError(f"setting {item!r} must look like key=value")
            key, value = item.split("=", 1)
            pairs[key.strip()] = value
        overrides = pairs
    names = {f.name for f in dataclasses.fields(settings)}
    changes: dict[str, Any] = {}
    lora_changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key.startswith("lora."):
            lora_changes[key.removeprefix("lora.")] = value
            continue
        if key not in names:
            raise ValueError(f"unknown setting {key!r} for {type(settings).__name__}; known: {sorted(names)}")
        if key == "lora":
            changes[key] = _lora_value(value)
            continue
        changes[key] = _coerce(value, getattr(settings, key), key)
    result = dataclasses.replace(settings, **changes)
    if lora_changes:
        lora = result.lora or LoraSettings()
        lora_names = {f.name for f in dataclasses.fields(LoraSettings)}
        for key, value in lora_changes.items():
            if key not in lora_names:
                raise ValueError(f"unknown LoRA setting 'lora.{key}'; known: {sorted(lora_names)}")
            lora = dataclasses.replace(lora, **{key: _coerce(value, getattr(lora, key), f"lora.{key}")})
        result = dataclasses.replace(result, lora=lora)
    return result


def _lora_value(value: Any) -> LoraSettings | None:
    if isinstance(value, LoraSettings) or value is None:
        return value
    if isinstance(value, dict):
        return LoraSettings(**value)
    parsed = yaml.safe_load(value) if isinstance(value, str) else value
    if parsed in (False, None, "none"):
        return None
    if parsed is True:
        return LoraSettings()
    raise ValueError(f"setting 'lora' expects true/false, got {value!r}")
