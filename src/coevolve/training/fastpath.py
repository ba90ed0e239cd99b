"""Training fast path shared by SFT and masked DPO: precision choice, scored-only logits, no padding.

Project code (no upstream provenance). What it changes against TRL's defaults, and why:

- **precision**: on a CPU with bf16 matrix units (AMX or AVX512-BF16, read from /proc/cpuinfo and
  torch's CPU capability) the forward runs under `torch.autocast("cpu", bfloat16)` with fp32 master
  weights and fp32 optimizer state; elsewhere on CPU fp32; on CUDA the model's own dtype (bf16 as
  before). The choice is returned as a `FastPath` record that the trainers write to `fast_path.json`
  and the final `training_done.json`.
- **scored-only logits**: the lm_head and log-softmax run only at the positions whose next token is
  scored (assistant tokens), via the model's `logits_to_keep` index tensor, instead of a
  [tokens x vocabulary] matrix over every position (49k columns for SmolLM2).
- **no padding waste**: on CPU each row of a micro-batch is run on its own, unpadded (a CPU matmul is
  already efficient at ~1k rows); on CUDA or under DDP the padded batch runs in one forward.
- **threads / allocator**: torch threads = usable cores; glibc's mmap threshold is raised so the large
  activation buffers are reused from the heap instead of being mapped and unmapped (page faults, system
  time) at every step.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import os
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from coevolve.hardware import cpu_bf16_flags, cpu_flags, usable_cores  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FastPath:
    """How a training run computes: recorded in the run's output (fast_path.json, training_done.json)."""

    enabled: bool
    device: str
    precision: str  # "bf16-autocast" (fp32 master weights) | "fp32" | the model dtype on CUDA
    cpu_bf16: list[str]  # bf16 matrix features found on this CPU
    per_row: bool  # rows run one at a time, unpadded
    scored_logits_only: bool
    gradient_checkpointing: bool
    threads: int

    @property
    def autocast(self) -> bool:
        return self.precision == "bf16-autocast"

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "autocast": self.autocast}

    def context(self):
        """The autocast context of a forward (a no-op unless bf16-autocast)."""
        if self.autocast:
            return torch.autocast(self.device, dtype=torch.bfloat16)
        return nullcontext()


def choose(
    enabled: bool, cpu_bf16: bool | None, model_dtype: torch.dtype, checkpointing: bool, threads: int
) -> FastPath:
    """The fast path for this machine. `cpu_bf16` None: autocast where the CPU has bf16 matrix units."""
    cuda = torch.cuda.is_available()
    found = [] if cuda else cpu_bf16_flags()
    if cuda:
        precision = str(model_dtype).removeprefix("torch.")
    elif enabled and model_dtype == torch.float32 and (cpu_bf16 if cpu_bf16 is not None else bool(found)):
        precision = "bf16-autocast"
    else:
        precision = str(model_dtype).removeprefix("torch.")
    return FastPath(
        enabled=enabled,
        device="cuda" if cuda else "cpu",
        precision=precision,
        cpu_bf16=found,
        per_row=enabled and not cuda and int(os.environ.get("WORLD_SIZE", "1")) == 1,
        scored_logits_only=enabled,
        gradient_checkpointing=checkpointing,
        threads=threads,
    )


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def tune_cpu_runtime(threads: int | None = None) -> int:
    """Torch threads = usable cores (or `threads`); keep freed activation buffers in the heap. Returns threads."""
    n = threads or usable_cores()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    try:  # glibc only; the values are glibc's documented maxima for 64-bit (32 MiB mmap threshold)
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)
        libc.mallopt(M_TRIM_THRESHOLD, 1024 * 2**20)
    except (OSError, AttributeError):
        pass
    return n


# ---------------------------------------------------------------------------- scored log-probs


@dataclass
class Scored:
    """Per-token log-probs of the scored tokens of a batch, flat, with the row each came from."""

    logps: torch.Tensor  # [n] log p(token) at scored positions
    rows: torch.Tensor  # [n] row index
    entropy: torch.Tensor  # [n] (detached) entropy of the predictive distribution there ([0] if stats=False)
    top1: torch.Tensor  # [n] bool: the scored token is the argmax ([0] if stats=False)

    def per_row_sum(self, num_rows: int) -> torch.Tensor:
        return torch.zeros(num_rows, dtype=self.logps.dtype, device=self.logps.device).index_add(
            0, self.rows, self.logps
        )


def _token_logps(logits: torch.Tensor, targets: torch.Tensor, stats: bool = True) -> tuple[torch.Tensor, ...]:
    logp = logits.float().log_softmax(-1)
    picked = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    if not stats:  # the reference pass needs the log-probs only (entropy/argmax: ~7 % of its time)
        return picked, picked.new_zeros(0), targets.new_zeros(0, dtype=torch.bool)
    with torch.no_grad():
        entropy = -(logp.exp() * logp).sum(-1)
        top1 = logp.argmax(-1) == targets
    return picked, entropy, top1


def scored_logps(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    score_mask: torch.Tensor,
    path: FastPath,
    stats: bool = True,
) -> Scored:
    """Log-probs of tokens t where score_mask[t] (and t > 0), predicted from position t - 1.

    Right-padded batch in (attention_mask marks real tokens). The lm_head runs only at the predicting
    positions; per row and unpadded when `path.per_row`. `stats=False`: no entropy / top-1 (left empty).
    """
    target_mask = score_mask.bool() & attention_mask.bool()
    target_mask[:, 0] = False
    if path.per_row:
        parts = [
            _row_logps(model, input_ids[r], attention_mask[r], target_mask[r], r, stats)
            for r in range(len(input_ids))
        ]
        return Scored(*(torch.cat(x) for x in zip(*parts, strict=True)))
    return _batch_logps(model, input_ids, attention_mask, target_mask, stats)


def _row_logps(model, ids, mask, targets, r: int, stats: bool = True):
    length = int(mask.sum())
    pos = targets[:length].nonzero().squeeze(1) - 1  # predicting positions
    if len(pos) == 0:  # nothing scored: keep the graph connected at zero cost
        empty = ids.new_zeros(0)
        return empty.float(), empty, empty.float(), empty.bool()
    out = model(input_ids=ids[None, :length], logits_to_keep=pos, use_cache=False)
    logps, entropy, top1 = _token_logps(out.logits[0], ids[pos + 1], stats)
    return logps, torch.full_like(pos, r), entropy, top1


def _batch_logps(model, input_ids, attention_mask, target_mask, stats: bool = True) -> Scored:
    pred = torch.zeros_like(target_mask)
    pred[:, :-1] = target_mask[:, 1:]
    keep = pred.any(0).nonzero().squeeze(1)  # union over rows of predicting positions
    out = model(input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=keep, use_cache=False)
    rows, cols = pred[:, keep].nonzero(as_tuple=True)
    logits = out.logits[rows, cols]
    logps, entropy, top1 = _token_logps(logits, input_ids[rows, keep[cols] + 1], stats)
    return Scored(logps, rows, entropy, top1)
