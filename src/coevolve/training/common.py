"""Pieces shared by SFT and DPO: TrainingArguments fields, LoRA, resume and final save."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from coevolve.data.jsonl import write_json_atomic
from coevolve.models import as_dtype
from coevolve.training.fastpath import FastPath, choose, tune_cpu_runtime
from coevolve.training.settings import LoraSettings, TrainSettings

log = logging.getLogger(__name__)

DONE_FILE = "training_done.json"
FAST_PATH_FILE = "fast_path.json"


def on_gpu() -> bool:
    return torch.cuda.is_available()


def trainer_kwargs(settings: TrainSettings, out_dir: Path) -> dict[str, Any]:
    """TrainingArguments fields common to SFTConfig and DPOConfig; CPU: no bf16 weights (the fast path autocasts)."""
    dtype = as_dtype(settings.dtype)
    gpu = on_gpu()
    checkpointing = checkpointing_on(settings)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return {
        "output_dir": str(out_dir),
        "num_train_epochs": settings.epochs,
        "max_steps": settings.max_steps,
        "learning_rate": settings.learning_rate,
        "per_device_train_batch_size": settings.micro_batch_size,
        "gradient_accumulation_steps": settings.gradient_accumulation(),
        "lr_scheduler_type": settings.lr_scheduler,
        "warmup_steps": settings.warmup,
        "weight_decay": settings.weight_decay,
        "max_grad_norm": settings.max_grad_norm,
        "max_length": settings.max_length,
        "bf16": gpu and dtype == torch.bfloat16,
        "fp16": False,
        "gradient_checkpointing": bool(checkpointing),
        "seed": settings.seed,
        "data_seed": settings.seed,
        "save_strategy": "steps",
        "save_steps": settings.save_steps if settings.save_steps < 1 else int(settings.save_steps),
        "save_total_limit": settings.save_total_limit,
        "logging_steps": settings.logging_steps,
        "report_to": [r for r in reporters(settings) if r != "tensorboard"],  # TensorBoard: log_callbacks
        "include_num_input_tokens_seen": "non_padding",  # logs train_tokens_per_second
        "ddp_backend": None if gpu or not distributed else "gloo",
        "use_cpu": not gpu,
        "dataloader_num_workers": 0,
    }


OPTIONAL_REPORTERS = {"wandb": "wandb", "trackio": "trackio"}  # report_to name -> module


def reporters(settings: TrainSettings) -> list[str]:
    """The `report_to` list; an optional tracker asked for but not installed is refused here."""
    names = [r.strip() for r in settings.report_to.split(",") if r.strip() and r.strip() != "none"]
    for name in names:
        if name == "tensorboard":
            continue
        if name not in OPTIONAL_REPORTERS:
            raise ValueError(f"setting 'report_to': unknown logger {name!r}; use tensorboard, wandb, trackio or none")
        if importlib.util.find_spec(OPTIONAL_REPORTERS[name]) is None:
            raise ValueError(f"setting 'report_to' asks for {name!r}, which is not installed (pip install {name})")
    return names


class StepClock(TrainerCallback):
    """Wall-clock times (time.time()) of train begin/end and of each optimizer step's begin and end.

    Kept in training_done.json as `timing`, so a run's start-up (launch to first step) and the time
    outside optimizer steps (checkpoints, final save) can be split afterwards (bench/bench_training.py).
    """

    def __init__(self):
        self.timing: dict[str, Any] = {"train_begin": None, "steps": [], "train_end": None}

    def on_train_begin(self, args, state, control, **kwargs):
        self.timing["train_begin"] = time.time()

    def on_step_begin(self, args, state, control, **kwargs):
        self.timing["steps"].append([time.time(), None])

    def on_step_end(self, args, state, control, **kwargs):
        if self.timing["steps"]:
            self.timing["steps"][-1][1] = time.time()

    def on_train_end(self, args, state, control, **kwargs):
        self.timing["train_end"] = time.time()


def log_callbacks(settings: TrainSettings, out_dir: Path) -> list[Any]:
    """A `StepClock`, plus TensorBoard event files in `settings.logging_dir` (default OUT/logs), rank 0 only."""
    if "tensorboard" not in reporters(settings):
        return [StepClock()]
    from transformers.integrations import TensorBoardCallback

    callback = TensorBoardCallback()
    callback.logging_dir = str(settings.logging_dir or Path(out_dir) / "logs")
    return [StepClock(), callback]


def checkpointing_on(settings: TrainSettings) -> bool:
    """Gradient checkpointing: as set; by default on GPU only (a <1B model on CPU fits without it)."""
    return settings.gradient_checkpointing if settings.gradient_checkpointing is not None else on_gpu()


def setup_fast_path(settings: TrainSettings, model, out_dir: Path) -> FastPath:
    """Choose the fast path (threads, precision), log it and record it in out_dir/fast_path.json."""
    fast_cpu = settings.fast_path and not on_gpu()
    threads = tune_cpu_runtime(settings.threads) if fast_cpu else torch.get_num_threads()
    path = choose(settings.fast_path, settings.cpu_bf16, model.dtype, checkpointing_on(settings), threads)
    log.info("training path: %s", json.dumps(path.to_dict()))
    out_dir.mkdir(parents=True, exist_ok=True)
    if int(os.environ.get("RANK", "0")) == 0:
        (out_dir / FAST_PATH_FILE).write_text(json.dumps(path.to_dict(), indent=1) + "\n")
    return path


def peft_config(lora: LoraSettings | None):
    if lora is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        task_type="CAUSAL_LM",
    )


_CKPT = re.compile(r"^checkpoint-(\d+)$")


def last_checkpoint(out_dir: Path) -> Path | None:
    """The newest complete checkpoint-N of an interrupted run (resumed from), else None."""
    if not out_dir.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in out_dir.iterdir() if (m := _CKPT.match(p.name)) and p.is_dir()]
    found = [(n, p) for n, p in found if (p / "trainer_state.json").exists()]
    return max(found)[1] if found else None


def is_done(out_dir: Path) -> bool:
    return (out_dir / DONE_FILE).exists()


def save_final(trainer, tokenizer, out_dir: Path, settings: TrainSettings, summary: dict[str, Any]) -> Path:
    """Save model + tokenizer to out_dir (LoRA merged unless lora.merge is false), then a done marker."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    if settings.lora is not None and settings.lora.merge and hasattr(model, "merge_and_unload"):
        state = trainer.accelerator.get_state_dict(trainer.model)  # gathers ZeRO-3 shards
        if trainer.accelerator.is_main_process:
            model.load_state_dict(state, strict=False)
            merged = model.merge_and_unload()
            merged.save_pretrained(out_dir, safe_serialization=True)
    else:
        trainer.save_model(str(out_dir))
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(out_dir)
        metrics = [e for e in trainer.state.log_history if "loss" in e or "train_loss" in e]
        info = {**summary, "settings": settings.to_dict(), "global_step": trainer.state.global_step,
                "log_history": metrics}  # fmt: skip
        if getattr(trainer, "fast_path", None) is not None:
            info["fast_path"] = trainer.fast_path.to_dict()
        clock = next((c for c in trainer.callback_handler.callbacks if isinstance(c, StepClock)), None)
        if clock is not None:
            info["timing"] = {**clock.timing, "reference_pass": getattr(trainer, "reference_pass", None)}
        write_json_atomic(out_dir / DONE_FILE, info)  # the marker a resume trusts: whole or absent
        shutil.rmtree(out_dir / "dataset_cache", ignore_errors=True)
        if not settings.keep_checkpoints:  # after the done marker: a crash in between only keeps them
            for checkpoint in out_dir.glob("checkpoint-*"):
                shutil.rmtree(checkpoint, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    return out_dir
