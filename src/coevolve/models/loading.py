"""Resolve model names and load tokenizers / causal LMs the same way in training and rollout."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from coevolve.models.smollm2 import ALIAS, smollm2_dir

DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
          "float16": torch.float16, "fp16": torch.float16}  # fmt: skip


def resolve_model_path(name_or_path: str) -> str:
    """`smollm2-135m` -> the cached plain checkpoint dir; a local dir or hub id is returned unchanged."""
    if name_or_path == ALIAS:
        return str(smollm2_dir())
    return str(name_or_path)


def default_dtype(device: str | torch.device | None = None) -> torch.dtype:
    """bf16 on a GPU, fp32 on CPU (bf16 matmuls are slow and imprecise on most CPUs)."""
    on_cuda = torch.cuda.is_available() if device is None else torch.device(device).type == "cuda"
    return torch.bfloat16 if on_cuda else torch.float32


def as_dtype(dtype: str | torch.dtype | None, device: str | torch.device | None = None) -> torch.dtype:
    if dtype is None or dtype == "auto":
        return default_dtype(device)
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {sorted(DTYPES)}")
    return DTYPES[dtype]


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerBase:
    """The model's tokenizer with its own chat template, whatever it is (masks: `assistant_tokens`)."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(name_or_path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(
    name_or_path: str, dtype: str | torch.dtype | None = None, device: str | torch.device | None = None
) -> PreTrainedModel:
    """Causal LM loaded with an explicit dtype (an implicit one made ETO's DPO irreproducible)."""
    path = resolve_model_path(name_or_path)
    if Path(path).is_file():
        raise ValueError(f"{path}: expected a checkpoint directory or hub id, got a file")
    model = AutoModelForCausalLM.from_pretrained(path, dtype=as_dtype(dtype, device))
    return model.to(device) if device is not None else model
