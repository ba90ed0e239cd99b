"""In-process transformers backend: one batched, left-padded `generate` call per batch of prompts.

Prompts are rendered with the tokenizer's chat template from `coevolve.models.load_tokenizer`, the same
template training uses, so the token ids recorded at rollout are the ids training sees.
"""

from __future__ import annotations

import torch
from transformers import GenerationConfig

from coevolve.agents.base import Generation, Policy, SamplingParams, register_policy, to_chat
from coevolve.data.records import Message
from coevolve.models import load_causal_lm, load_tokenizer


@register_policy("hf")
class HFPolicy(Policy):
    """`batch_size` caps the rows of one `generate` call (None = all prompts at once)."""

    def __init__(
        self,
        model: str,
        *,
        dtype: str | torch.dtype | None = None,
        device: str | None = None,
        batch_size: int | None = None,
        max_context: int | None = None,
        num_threads: int | None = None,
    ) -> None:
        if num_threads:
            # On shared CPUs, fewer intra-op threads than busy cores avoids OpenMP spin contention
            # (measured: a SmolLM2 forward 0.65 s with 1 thread vs 13-19 s with 2 beside a busy JVM).
            torch.set_num_threads(num_threads)
        self.name = model
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.tokenizer = load_tokenizer(model)
        self.model = load_causal_lm(model, dtype=dtype, device=self.device).eval()
        self.batch_size = batch_size
        self._context = max_context or int(getattr(self.model.config, "max_position_embeddings", 2048))
        eos = self.model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        self.eos_ids = {int(t) for t in [*eos, self.tokenizer.eos_token_id] if t is not None}
        self.pad_id = (
            self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else min(self.eos_ids)
        )

    @property
    def context_length(self) -> int:
        return self._context

    def render(self, conversation: list[Message]) -> list[int]:
        """Prompt ids: the conversation plus the assistant generation prompt."""
        out = self.tokenizer.apply_chat_template(
            to_chat(conversation), add_generation_prompt=True, tokenize=True, return_dict=True
        )
        return list(out["input_ids"])

    def generate(self, conversations: list[list[Message]], params: SamplingParams) -> list[list[Generation]]:
        prompts = [self.render(c) for c in conversations]
        results: list[list[Generation]] = [[] for _ in prompts]
        fits = []
        for i, ids in enumerate(prompts):
            if len(ids) + params.max_new_tokens > self.context_length:
                results[i] = [Generation("", [], len(ids), "context_length") for _ in range(params.n)]
            else:
                fits.append(i)
        # Longest first so each batch pads little; rows do not influence each other's outputs.
        fits.sort(key=lambda i: -len(prompts[i]))
        size = self.batch_size or max(len(fits), 1)
        for start in range(0, len(fits), size):
            chunk = fits[start : start + size]
            for i, gens in zip(chunk, self._generate_batch([prompts[i] for i in chunk], params), strict=True):
                results[i] = gens
        return results

    def _generation_config(self, params: SamplingParams) -> GenerationConfig:
        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=not params.greedy,
            eos_token_id=sorted(self.eos_ids),
            pad_token_id=self.pad_id,
            use_cache=True,
        )
        if not params.greedy:
            config.temperature, config.top_p = params.temperature, params.top_p
            config.top_k = 0  # plain nucleus sampling, as vLLM / OpenAI do by default
            config.num_return_sequences = params.n
        if params.stop:
            config.stop_strings = list(params.stop)
        return config

    @torch.inference_mode()
    def _generate_batch(self, prompts: list[list[int]], params: SamplingParams) -> list[list[Generation]]:
        width = max(len(p) for p in prompts)
        input_ids = torch.tensor([[self.pad_id] * (width - len(p)) + p for p in prompts], device=self.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
        if params.seed is not None:
            torch.manual_seed(params.seed)
        out = self.model.generate(
            input_ids=input_ids,
            attention_mask=mask,
            generation_config=self._generation_config(params),
            tokenizer=self.tokenizer if params.stop else None,
        )
        rows = out[:, width:].tolist()
        # Greedy decoding returns one row per prompt; n identical copies keep the interface uniform.
        per_prompt = len(rows) // len(prompts)
        results = []
        for i, prompt in enumerate(prompts):
            gens = [
                self._finish(row, len(prompt), params.stop)
                for row in rows[i * per_prompt : (i + 1) * per_prompt]
            ]
            results.append(gens if per_prompt == params.n else [gens[0]] * params.n)
        return results

    def _finish(self, row: list[int], prompt_tokens: int, stop: tuple[str, ...]) -> Generation:
        """Cut a generated row at its end-of-turn token or first stop string."""
        ids, reason = row, "length"
        for pos, token in enumerate(row):
            if token in self.eos_ids:
                ids, reason = row[: pos + 1], "stop"
                break
        content = ids[:-1] if reason == "stop" else ids
        text = self.tokenizer.decode(content, skip_special_tokens=True)
        hits = sorted((text.find(s), s) for s in stop if s in text)
        if hits:
            cut, hit = hits[0]
            ids, reason = self._ids_through(content, text[:cut] + hit), "stop"
            text = text[:cut]
        elif reason == "length" and self.pad_id not in self.eos_ids:
            while ids and ids[-1] == self.pad_id:
                ids = ids[:-1]
        return Generation(text=text, token_ids=ids, prompt_tokens=prompt_tokens, finish_reason=reason)

    def _ids_through(self, ids: list[int], target: str) -> list[int]:
        """Shortest prefix of `ids` whose decoded text contains `target` (where generation stopped)."""
        lo, hi = 1, len(ids)
        while lo < hi:
            mid = (lo + hi) // 2
            if target in self.tokenizer.decode(ids[:mid], skip_special_tokens=True):
                hi = mid
            else:
                lo = mid + 1
        return ids[:hi]

    def close(self) -> None:
        self.model = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
