"""Supervised fine-tuning (behaviour cloning) on expert trajectories, loss on assistant turns only."""

from __future__ import annotations

import logging
from pathlib import Path

from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from coevolve.data.formats import filter_by_reward
from coevolve.data.records import Trajectory
from coevolve.models import check_template, load_causal_lm, load_tokenizer
from coevolve.training.common import (
    is_done,
    last_checkpoint,
    log_callbacks,
    peft_config,
    save_final,
    trainer_kwargs,
)
from coevolve.training.data import sft_token_rows
from coevolve.training.settings import SFTSettings

log = logging.getLogger(__name__)


def sft_config(settings: SFTSettings, out_dir: Path) -> SFTConfig:
    # Rows arrive tokenized with their assistant masks (any chat template), which TRL turns into labels.
    return SFTConfig(**trainer_kwargs(settings, out_dir), assistant_only_loss=False, packing=settings.packing)


def train_sft(model: str, trajectories: list[Trajectory], out_dir: Path, settings: SFTSettings) -> Path:
    """Train `model` on the trajectories and save model + tokenizer to out_dir (resumes checkpoints)."""
    out_dir = Path(out_dir)
    if is_done(out_dir):
        log.info("SFT already finished in %s", out_dir)
        return out_dir
    trajectories = filter_by_reward(trajectories, settings.min_reward)
    if not trajectories:
        raise ValueError("SFT: no trajectory left to train on (check --min-reward)")
    tokenizer = load_tokenizer(model)
    check_template(tokenizer)
    rows = sft_token_rows(trajectories, tokenizer)
    args = sft_config(settings, out_dir)
    policy = load_causal_lm(model, dtype=settings.dtype)
    trainer = SFTTrainer(
        model=policy,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config(settings.lora),
        callbacks=log_callbacks(settings, out_dir),
    )
    resume = last_checkpoint(out_dir)
    if resume:
        log.info("resuming SFT from %s", resume)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    summary = {"algorithm": "sft", "model": model, "trajectories": len(trajectories)}
    return save_final(trainer, tokenizer, out_dir, settings, summary)
