"""Multi-turn DPO on TRL's DPOTrainer that scores assistant tokens only.

TRL's collator marks every completion token, so observations inside a multi-turn chosen/rejected side
would be scored. Here each side is rendered with its assistant mask (`coevolve.models.assistant_tokens`:
generation markers, or spans derived from how the template renders), and the collator builds
`completion_mask` = zeros over the prompt + the assistant mask of the side, leaving holes at observations
(still attended to: `attention_mask` stays 1). Policy and reference log-probs, the precomputed reference
and the metrics all follow `completion_mask`. The NLL term is ours (not TRL's `sft` loss type) so each
pair can carry its own weight (0 for a non-expert chosen side).
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from accelerate.utils import is_peft_model
from datasets import Dataset
from transformers.data.data_collator import DataCollatorMixin
from trl import DPOTrainer
from trl.data_utils import common_prefix_length
from trl.trainer.utils import global_then_local_main_first, pad, use_adapter

from coevolve.models import assistant_tokens
from coevolve.training.fastpath import FastPath, Scored, scored_logps

log = logging.getLogger(__name__)

EXTRA_COLUMNS = ["chosen_mask", "rejected_mask", "sft_weight"]


def tokenize_pair(example: dict[str, Any], tokenizer) -> dict[str, Any]:
    """prompt_ids + per side: ids after the common prefix and their assistant mask."""
    prompt_ids = tokenizer.apply_chat_template(example["prompt"], add_generation_prompt=True, tokenize=True,
                                               return_dict=True)["input_ids"]  # fmt: skip
    sides = {side: assistant_tokens(tokenizer, example["prompt"] + example[side]) for side in ("chosen", "rejected")}  # fmt: skip
    # The completion starts where prompt and prompt+side diverge (a template may render them differently).
    cut = min(common_prefix_length(prompt_ids, ids) for ids, _ in sides.values())
    row = {"prompt_ids": prompt_ids[:cut]}
    for side, (ids, mask) in sides.items():
        row[f"{side}_ids"] = ids[cut:]
        row[f"{side}_mask"] = [int(m) for m in mask[cut:]]
    row["sft_weight"] = float(example.get("sft_weight", 1.0))
    return row


@dataclass
class MaskedPreferenceCollator(DataCollatorMixin):
    """Pads [chosen..., rejected...] like TRL's collator, with `completion_mask` = assistant tokens only."""

    pad_token_id: int
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        ids, masks = [], []
        for side in ("chosen", "rejected"):
            for ex in examples:
                ids.append(ex["prompt_ids"] + ex[f"{side}_ids"])
                masks.append([0] * len(ex["prompt_ids"]) + ex[f"{side}_mask"])
        if self.max_length is not None:  # keep_start over the whole sequence
            ids = [x[: self.max_length] for x in ids]
            masks = [m[: self.max_length] for m in masks]
        kw = {"padding_side": "right", "pad_to_multiple_of": self.pad_to_multiple_of}
        out = {
            "input_ids": pad([torch.tensor(x) for x in ids], padding_value=self.pad_token_id, **kw),
            "attention_mask": pad([torch.ones(len(x), dtype=torch.long) for x in ids], padding_value=0, **kw),
            "completion_mask": pad([torch.tensor(m, dtype=torch.long) for m in masks], padding_value=0, **kw),
            "sft_weight": torch.tensor([float(ex.get("sft_weight", 1.0)) for ex in examples]),
        }
        for key in ("ref_chosen_logps", "ref_rejected_logps"):
            if key in examples[0]:
                out[key] = torch.tensor([ex[key] for ex in examples])
        return out


def weighted_nll(
    per_token_logps: torch.Tensor, shift_mask: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Token-mean NLL of the chosen half, each sequence's tokens weighted by its pair weight.

    With all weights 1 this equals TRL's `sft` loss; weight-0 pairs add nothing to numerator or denominator.
    """
    chosen_logps, _ = per_token_logps.chunk(2, dim=0)
    chosen_mask, _ = shift_mask.chunk(2, dim=0)
    token_w = chosen_mask.to(chosen_logps.dtype) * weights.to(chosen_logps.dtype).unsqueeze(1)
    denom = token_w.sum()
    if denom <= 0:
        return chosen_logps.sum() * 0.0  # keeps the graph (DDP) without contributing
    return -(chosen_logps * token_w).sum() / denom


def scored_nll(scored: Scored, pairs: int, weights: torch.Tensor) -> torch.Tensor:
    """`weighted_nll` on the flat scored tokens: rows < pairs are the chosen sides."""
    chosen = scored.rows < pairs
    token_w = weights.to(scored.logps.dtype)[scored.rows[chosen]]
    denom = token_w.sum()
    if denom <= 0:
        return scored.logps.sum() * 0.0
    return -(scored.logps[chosen] * token_w).sum() / denom


class MaskedDPOTrainer(DPOTrainer):
    """DPOTrainer with observation-masked completions and a per-pair-weighted NLL term."""

    def __init__(
        self,
        *args,
        sft_loss_weight: float = 0.0,
        drop_truncated_chosen: bool = False,
        fast_path: FastPath | None = None,
        **kwargs,
    ):
        self.fast_path = fast_path  # set before TRL's __init__, which precomputes the reference log-probs
        self.sft_loss_weight = sft_loss_weight
        self.drop_truncated_chosen = drop_truncated_chosen
        dpo_args = kwargs.get("args") if "args" in kwargs else args[1]
        tokenizer = kwargs["processing_class"]
        if kwargs.get("data_collator") is None:
            kwargs["data_collator"] = MaskedPreferenceCollator(
                pad_token_id=tokenizer.pad_token_id, max_length=dpo_args.max_length
            )
        if dpo_args.truncation_mode != "keep_start":
            raise ValueError("masked multi-turn DPO truncates with keep_start only")
        super().__init__(*args, **kwargs)

    def _set_signature_columns_if_needed(self):
        if self._signature_columns is None:
            self._signature_columns = [
                "prompt_ids", "chosen_ids", "rejected_ids", *EXTRA_COLUMNS, "ref_chosen_logps", "ref_rejected_logps",
            ]  # fmt: skip

    def _prepare_dataset(self, dataset: Dataset, processing_class, args, dataset_name: str) -> Dataset:
        if "prompt_ids" in dataset.column_names:  # already prepared (evaluate() calls this again)
            return dataset
        # Cache files in the output dir, shared by all ranks: TRL stores precomputed reference log-probs
        # next to them, and an in-memory dataset would put them in a per-process temp dir.
        cache_dir = Path(args.output_dir) / "dataset_cache"
        cache_dir.mkdir(parents=True, exist_ok=True)
        with global_then_local_main_first():
            dataset = dataset.map(
                tokenize_pair,
                fn_kwargs={"tokenizer": processing_class},
                remove_columns=[c for c in dataset.column_names if c not in ("id",)],
                cache_file_name=str(cache_dir / f"{dataset_name}-{dataset._fingerprint}.arrow"),
                desc=f"Tokenizing {dataset_name} pairs with assistant masks",
            )
            for i, row in enumerate(dataset):
                for side in ("chosen", "rejected"):
                    if not any(row[f"{side}_mask"]):
                        raise ValueError(f"{dataset_name} pair {i}: no assistant token on the {side} side")
            return self._filter_long(dataset, args.max_length, dataset_name)

    def _filter_long(self, dataset: Dataset, max_length: int | None, name: str) -> Dataset:
        """Drop pairs whose prompt fills max_length (no scored token would remain); report cut chosen sides."""
        if max_length is None:
            return dataset
        n = len(dataset)
        dataset = dataset.filter(
            lambda r: len(r["prompt_ids"]) < max_length, desc="Dropping over-long prompts"
        )
        if len(dataset) < n:
            log.warning("%s: dropped %d pair(s) whose prompt alone reaches max_length=%d", name, n - len(dataset),
                        max_length)  # fmt: skip
        cut = [len(r["prompt_ids"]) + len(r["chosen_ids"]) > max_length for r in dataset]
        if any(cut):
            if self.drop_truncated_chosen:
                keep = [i for i, c in enumerate(cut) if not c]
                dataset = dataset.select(keep)
                log.warning("%s: dropped %d pair(s) whose chosen side exceeds max_length", name, sum(cut))
            else:
                log.warning("%s: %d pair(s) have their chosen side cut at max_length=%d", name, sum(cut),
                            max_length)  # fmt: skip
        if len(dataset) == 0:
            raise ValueError(f"{name}: no pair fits max_length={max_length}")
        return dataset

    def _fast(self) -> bool:
        """The fast path covers our configuration: sigmoid loss, reverse KL, no length desensitisation."""
        path = self.fast_path
        return bool(
            path is not None and path.enabled and list(self.loss_types) == ["sigmoid"]
            and self.f_divergence_type == "reverse_kl" and self.ld_alpha is None
        )  # fmt: skip

    def _scored(self, model, inputs, stats: bool = True) -> Scored:
        return scored_logps(model, inputs["input_ids"], inputs["attention_mask"], inputs["completion_mask"],
                            self.fast_path, stats)  # fmt: skip

    def _precompute_ref_logps(self, dataset, name: str, batch_size: int):
        """TRL's reference pass, its wall-clock span kept (`reference_pass`: training_done.json's timing)."""
        begin = time.time()
        out = super()._precompute_ref_logps(dataset, name, batch_size)
        self.reference_pass = [*getattr(self, "reference_pass", []), [begin, time.time()]]
        return out

    def compute_ref_log_probs(self, model, inputs):
        inputs = {k: v for k, v in inputs.items() if k != "sft_weight"}
        if not self._fast():
            return super().compute_ref_log_probs(model, inputs)
        adapter = nullcontext()
        if self.ref_model is None and is_peft_model(self.model):
            unwrapped = self.accelerator.unwrap_model(self.model)
            adapter = use_adapter(unwrapped, adapter_name="ref" if "ref" in unwrapped.peft_config else None)
        with torch.no_grad(), adapter, self.fast_path.context():
            scored = self._scored(model, inputs, stats=False)
        return scored.per_row_sum(len(inputs["input_ids"])).chunk(2, dim=0)

    def _fast_loss(self, model, inputs, weights: torch.Tensor) -> torch.Tensor:
        """sigmoid DPO (x dpo weight) + per-pair-weighted NLL, as TRL + `weighted_nll` compute it."""
        mode = "train" if self.model.training else "eval"
        rows = len(inputs["input_ids"])
        with self.fast_path.context():
            scored = self._scored(model, inputs)
        chosen, rejected = scored.per_row_sum(rows).chunk(2, dim=0)
        if self.precompute_ref_logps:
            ref_chosen, ref_rejected = inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
        else:
            ref_chosen, ref_rejected = self.compute_ref_log_probs(self.ref_model or model, inputs)
        chosen_ratio = chosen - ref_chosen.to(chosen.dtype)
        rejected_ratio = rejected - ref_rejected.to(chosen.dtype)
        loss = -F.logsigmoid(self.beta * (chosen_ratio - rejected_ratio)).mean() * self.loss_weights[0]
        if self.sft_loss_weight:
            nll = scored_nll(scored, rows // 2, weights.to(chosen.device))
            self._metrics[mode]["sft_loss"].append(self.accelerator.gather_for_metrics(nll.detach()).mean().item())
            loss = loss + self.sft_loss_weight * nll
        self._log_fast_metrics(mode, inputs, scored, chosen, rejected, chosen_ratio, rejected_ratio)
        return loss

    def _log_fast_metrics(self, mode, inputs, scored, chosen, rejected, chosen_ratio, rejected_ratio) -> None:
        gather, metrics = self.accelerator.gather_for_metrics, self._metrics[mode]
        n = gather(torch.tensor(scored.logps.numel(), device=chosen.device)).sum()
        metrics["entropy"].append((gather(scored.entropy.sum().reshape(1)).sum() / n).item() if n > 0 else 0.0)
        if mode == "train":
            self._total_train_tokens += gather(inputs["attention_mask"].sum()).sum().item()
        metrics["num_tokens"] = [self._total_train_tokens]
        chosen_rewards = gather(self.beta * chosen_ratio.detach())
        rejected_rewards = gather(self.beta * rejected_ratio.detach())
        metrics["rewards/chosen"].append(chosen_rewards.mean().item())
        metrics["rewards/rejected"].append(rejected_rewards.mean().item())
        metrics["rewards/accuracies"].append((chosen_rewards > rejected_rewards).float().mean().item())
        metrics["rewards/margins"].append((chosen_rewards - rejected_rewards).mean().item())
        metrics["logps/chosen"].append(gather(chosen.detach()).mean().item())
        metrics["logps/rejected"].append(gather(rejected.detach()).mean().item())

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = dict(inputs)
        weights = inputs.pop("sft_weight")
        if self._fast() and not return_outputs:
            return self._fast_loss(model, inputs, weights)
        if self.fast_path is not None and self.fast_path.autocast:  # TRL's loss, in the chosen precision
            with self.fast_path.context():
                return self._plain_loss(model, inputs, weights, return_outputs)
        return self._plain_loss(model, inputs, weights, return_outputs)

    def _plain_loss(self, model, inputs, weights, return_outputs):
        if self.sft_loss_weight == 0:
            return super().compute_loss(model, inputs, return_outputs)
        captured: list[Any] = []
        hook = model.register_forward_hook(lambda _m, _a, out: captured.append(out))
        try:
            loss = super().compute_loss(model, inputs, return_outputs=False)
        finally:
            hook.remove()
        # The first forward of `model` in the batch is the policy (reference runs come later or are precomputed).
        shift_mask = inputs["completion_mask"][..., 1:]
        per_token_logps = captured[0].log_probs[:, -shift_mask.size(1) :]
        nll = weighted_nll(per_token_logps, shift_mask, weights.to(per_token_logps.device))
        mode = "train" if self.model.training else "eval"
        self._metrics[mode]["sft_loss"].append(
            self.accelerator.gather_for_metrics(nll.detach()).mean().item()
        )
        loss = loss + self.sft_loss_weight * nll
        if return_outputs:
            return loss, captured[0]
        return loss
