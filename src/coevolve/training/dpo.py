"""Multi-turn DPO (+ per-pair-weighted NLL) of a policy on preference pairs."""

from __future__ import annotations

import logging
from pathlib import Path

from datasets import Dataset
from trl import DPOConfig

from coevolve.data.records import PreferencePair
from coevolve.models import check_template, load_causal_lm, load_tokenizer
from coevolve.training.common import (
    is_done,
    last_checkpoint,
    log_callbacks,
    peft_config,
    save_final,
    setup_fast_path,
    trainer_kwargs,
)
from coevolve.training.data import dpo_rows
from coevolve.training.masked_dpo import MaskedDPOTrainer
from coevolve.training.settings import DPOSettings

log = logging.getLogger(__name__)


def dpo_config(settings: DPOSettings, out_dir: Path) -> DPOConfig:
    return DPOConfig(
        **trainer_kwargs(settings, out_dir),
        beta=settings.beta,
        loss_type=["sigmoid"],
        loss_weights=[settings.dpo_weight],
        precompute_ref_log_probs=settings.precompute_ref,
        truncation_mode="keep_start",
        disable_dropout=True,
    )


def build_dpo_trainer(
    model: str,
    pairs: list[PreferencePair],
    out_dir: Path,
    settings: DPOSettings,
    ref_model: str | None = None,
) -> MaskedDPOTrainer:
    """The trainer, ready to `train()`. Reference: `ref_model` if given, else the starting checkpoint."""
    if not pairs:
        raise ValueError("DPO: no preference pair to train on")
    tokenizer = load_tokenizer(model)
    check_template(tokenizer)  # a template without usable assistant masks fails before any compute
    policy = load_causal_lm(model, dtype=settings.dtype)
    path = setup_fast_path(settings, policy, Path(out_dir))
    # TRL reloads the reference from the policy's path when none is given; an explicit one must be an object.
    ref = load_causal_lm(ref_model, dtype=settings.dtype).eval() if ref_model else None
    return MaskedDPOTrainer(
        model=policy,
        ref_model=ref,
        args=dpo_config(settings, out_dir),
        train_dataset=Dataset.from_list(dpo_rows(pairs)),
        processing_class=tokenizer,
        peft_config=peft_config(settings.lora),
        callbacks=log_callbacks(settings, out_dir),
        sft_loss_weight=settings.sft_weight,
        drop_truncated_chosen=settings.drop_truncated_chosen,
        fast_path=path,
    )


def train_dpo(
    model: str,
    pairs: list[PreferencePair],
    out_dir: Path,
    settings: DPOSettings,
    ref_model: str | None = None,
) -> Path:
    """DPO from checkpoint `model`; saves model + tokenizer to out_dir, resuming from checkpoint-* dirs."""
    out_dir = Path(out_dir)
    if is_done(out_dir):
        log.info("DPO already finished in %s", out_dir)
        return out_dir
    trainer = build_dpo_trainer(model, pairs, out_dir, settings, ref_model)
    resume = last_checkpoint(out_dir)
    if resume:
        log.info("resuming DPO from %s", resume)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    summary = {"algorithm": "dpo", "model": model, "ref_model": ref_model or model, "pairs": len(pairs)}
    return save_final(trainer, trainer.processing_class, out_dir, settings, summary)
