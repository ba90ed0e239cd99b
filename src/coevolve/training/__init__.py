"""Training: SFT on expert trajectories and observation-masked multi-turn DPO (+ NLL) on TRL."""

from coevolve.training.dpo import build_dpo_trainer, train_dpo
from coevolve.training.settings import (
    DPOConfig,
    DPOSettings,
    LoraConfig,
    LoraSettings,
    SFTConfig,
    SFTSettings,
    apply_overrides,
)
from coevolve.training.sft import train_sft

__all__ = [
    "DPOConfig",
    "DPOSettings",
    "LoraConfig",
    "LoraSettings",
    "SFTConfig",
    "SFTSettings",
    "apply_overrides",
    "build_dpo_trainer",
    "train_dpo",
    "train_sft",
]
