"""Supervised fine-tuning (behaviour cloning) on expert trajectories, loss on assistant turns only.

`FastSFTTrainer` keeps TRL's SFTTrainer (data preparation, assistant masks, collator, schedule,
checkpoints) and replaces only `compute_loss` by the fast path of `training/fastpath.py`: the same
token-mean NLL over assistant tokens, computed without full-vocabulary logits at unscored positions
and without padding, under bf16 autocast where the CPU has bf16 units.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path

import torch
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
    setup_fast_path,
    trainer_kwargs,
)
from coevolve.training.data import sft_token_rows
from coevolve.training.fastpath import FastPath, scored_logps
from coevolve.training.settings import SFTSettings

log = logging.getLogger(__name__)


def sft_config(settings: SFTSettings, out_dir: Path) -> SFTConfig:
    # Rows arrive tokenized with their assistant masks (any chat template), which TRL turns into labels.
    return SFTConfig(**trainer_kwargs(settings, out_dir), assistant_only_loss=False, packing=settings.packing)


def zero_loss(model) -> torch.Tensor:
    """A zero that keeps every trainable parameter in the graph (a batch with nothing scored)."""
    return sum(p.sum() for p in model.parameters() if p.requires_grad) * 0.0


class FastSFTTrainer(SFTTrainer):
    """SFTTrainer whose loss is computed on the fast path (`fast_path.enabled`), else TRL's own."""

    def __init__(self, *args, fast_path: FastPath | None = None, **kwargs):
        self.fast_path = fast_path
        super().__init__(*args, **kwargs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        path = self.fast_path
        if path is None or not path.enabled or return_outputs or "attention_mask" not in inputs:
            with path.context() if path is not None else nullcontext():
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        mode = "train" if self.model.training else "eval"
        labels = inputs["labels"]
        with path.context():
            scored = scored_logps(model, inputs["input_ids"], inputs["attention_mask"], labels != -100, path)
        count = scored.logps.numel() if num_items_in_batch is None else num_items_in_batch
        if scored.logps.numel() == 0:
            loss = zero_loss(model)
        else:
            loss = -scored.logps.sum() / torch.as_tensor(count, device=scored.logps.device).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        self._log_fast_metrics(mode, scored, inputs["attention_mask"])
        return loss

    def _log_fast_metrics(self, mode: str, scored, attention_mask) -> None:
        gather = self.accelerator.gather_for_metrics
        n = gather(torch.tensor(scored.logps.numel(), device=attention_mask.device)).sum()
        ent = gather(scored.entropy.sum().reshape(1)).sum()
        top1 = gather(scored.top1.sum().reshape(1)).sum()
        self._metrics[mode]["entropy"].append((ent / n).item() if n > 0 else 0.0)
        self._metrics[mode]["mean_token_accuracy"].append((top1 / n).item() if n > 0 else 0.0)
        if mode == "train":
            self._total_train_tokens += gather(attention_mask.sum()).sum().item()
        self._metrics[mode]["num_tokens"] = [self._total_train_tokens]


def build_sft_trainer(model: str, trajectories: list[Trajectory], out_dir: Path, settings: SFTSettings):
    """The trainer, ready to `train()` (used by `train_sft` and the benchmark)."""
    tokenizer = load_tokenizer(model)
    check_template(tokenizer)
    rows = sft_token_rows(trajectories, tokenizer)
    args = sft_config(settings, Path(out_dir))
    policy = load_causal_lm(model, dtype=settings.dtype)
    path = setup_fast_path(settings, policy, Path(out_dir))
    return FastSFTTrainer(
        model=policy,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config(settings.lora),
        callbacks=log_callbacks(settings, Path(out_dir)),
        fast_path=path,
    )


def train_sft(model: str, trajectories: list[Trajectory], out_dir: Path, settings: SFTSettings) -> Path:
    """Train `model` on the trajectories and save model + tokenizer to out_dir (resumes checkpoints)."""
    out_dir = Path(out_dir)
    if is_done(out_dir):
        log.info("SFT already finished in %s", out_dir)
        return out_dir
    trajectories = filter_by_reward(trajectories, settings.min_reward)
    if not trajectories:
        raise ValueError("SFT: no trajectory left to train on (check --min-reward)")
    trainer = build_sft_trainer(model, trajectories, out_dir, settings)
    resume = last_checkpoint(out_dir)
    if resume:
        log.info("resuming SFT from %s", resume)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    summary = {"algorithm": "sft", "model": model, "trajectories": len(trajectories)}
    return save_final(trainer, trainer.processing_class, out_dir, settings, summary)
