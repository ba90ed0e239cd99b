"""In-process transformers backend: one batched, left-padded `generate` call per batch of prompts.

Prompts are rendered with the tokenizer's chat template from `coevolve.models.load_tokenizer`, the same
template training uses, so the token ids recorded at rollout are the ids training sees.

With `prefix_cache` (default), the KV cache of each generation (prompt + generated ids) is kept in a
bounded `PrefixCache`. The next call looks up each prompt's longest cached token-id prefix and only
prefills the rest: a multi-turn episode re-sends its whole conversation every step, but only the new
observation is new. Rows with different cached lengths share one batched `generate`: row i's input is
`[pad] cached_i [pad] new_i`, its cache is left-padded the same way, and the attention mask's holes give
each row the positions (mask cumsum) and attention it would have alone.

Sampling draws each row's noise from its own seeded generator (`SeededGumbel`), so a request's sample
depends on its seed only: the rollout engine derives one per (task, agent, sample, iteration, step).
"""

from __future__ import annotations

import logging

import torch
from transformers import DynamicCache, GenerationConfig, LogitsProcessor, LogitsProcessorList
from transformers.cache_utils import DynamicLayer
from transformers.generation.logits_process import TemperatureLogitsWarper, TopPLogitsWarper

from coevolve.agents.base import (
    SEED_RANGE,
    Generation,
    Policy,
    SamplingParams,
    derive_seed,
    register_policy,
    request_seeds,
    to_chat,
)
from coevolve.agents.prefix_cache import LayerKV, PrefixCache, common_prefix
from coevolve.data.records import Message
from coevolve.hardware import cpu_bf16_flags, usable_cores
from coevolve.models import as_dtype, load_causal_lm, load_tokenizer


class SeededGumbel(LogitsProcessor):
    """Sampling with one random stream per row: argmax(scores + Gumbel noise) draws from softmax(scores).

    Each row's noise comes from its own `torch.Generator`, so a row's sample depends only on its seed and
    its own logits, never on the other rows of the batch or on the global RNG (which `torch.manual_seed`
    for the whole batch could not give).
    """

    def __init__(self, seeds: list[int], device: torch.device) -> None:
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        vocab = scores.shape[-1]
        uniform = torch.stack(
            [
                torch.rand(vocab, generator=g, device=scores.device, dtype=torch.float32)
                for g in self.generators
            ]
        )
        gumbel = -torch.log(-torch.log(uniform.clamp_(min=1e-12, max=1.0 - 1e-7)))
        return scores.float() + gumbel  # masked (-inf) tokens stay impossible


log = logging.getLogger(__name__)


def rollout_dtype(dtype: str | torch.dtype | None, device: torch.device) -> tuple[torch.dtype, str]:
    """The generation dtype: as given; else bf16 on GPUs and on CPUs with bf16 matrix units (AMX /
    AVX512-BF16: measured ~1.8-2x the fp32 decode rate with SmolLM2, see BENCHMARKS.md), fp32 elsewhere."""
    if dtype is not None and dtype != "auto":
        return as_dtype(dtype, device), "given"
    if device.type == "cuda":
        return torch.bfloat16, "cuda"
    flags = cpu_bf16_flags()
    if flags:
        return torch.bfloat16, f"cpu has {'+'.join(flags)}"
    return torch.float32, "cpu without bf16 matrix units"


@register_policy("hf")
class HFPolicy(Policy):
    """`batch_size` caps the rows of one `generate` call (None = all prompts at once).

    `prefix_cache` reuses KV caches of earlier calls (see the module docstring); it applies to models
    whose cache layers are all full attention (every row yields one output: n samples are n rows). `cache_entries` / `cache_tokens` bound the store.
    """

    def __init__(
        self,
        model: str,
        *,
        dtype: str | torch.dtype | None = None,
        device: str | None = None,
        batch_size: int | None = None,
        max_context: int | None = None,
        num_threads: int | None = None,
        prefix_cache: bool = True,
        cache_entries: int = 64,
        cache_tokens: int = 131072,
    ) -> None:
        self._threads_before = torch.get_num_threads()
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if num_threads is None and self.device.type == "cpu":
            # Every usable core: fastest on cores this run has to itself, even beside simulator JVMs
            # (BENCHMARKS.md, 2026-12-01: 30 simulator episodes in 132 s with 2 threads vs 191 s with 1 on 2
            # idle cores; bench_rollout bf16 3.07x vs 2.10x). On cores shared with other jobs OpenMP threads
            # wait for each other (2 threads 2-6x slower there): pass num_threads=1.
            num_threads = usable_cores()
        if num_threads:
            torch.set_num_threads(num_threads)
        self.name = model
        self.tokenizer = load_tokenizer(model)
        dtype, reason = rollout_dtype(dtype, self.device)
        self.model = load_causal_lm(model, dtype=dtype, device=self.device).eval()
        # what this policy runs with (the fastest measured setting unless given): bench/bench_rollout.py
        self.setting = {"dtype": str(self.model.dtype).removeprefix("torch."), "dtype_reason": reason,
                        "threads": torch.get_num_threads() if self.device.type == "cpu" else None}  # fmt: skip
        log.info("hf policy %s: %s", model, self.setting)
        self.batch_size = batch_size
        self._context = max_context or int(getattr(self.model.config, "max_position_embeddings", 2048))
        eos = self.model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        self.eos_ids = {int(t) for t in [*eos, self.tokenizer.eos_token_id] if t is not None}
        self.pad_id = (
            self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else min(self.eos_ids)
        )
        self.cache = (
            PrefixCache(cache_entries, cache_tokens) if prefix_cache and self._plain_cache() else None
        )
        # prompt tokens sent vs served from the prefix cache (for benchmarks and logs)
        self.stats = {"prompt_tokens": 0, "cached_tokens": 0}

    def _plain_cache(self) -> bool:
        """Only full-attention dynamic layers can be cropped and padded per row."""
        cache = DynamicCache(config=self.model.config)
        return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)

    @property
    def context_length(self) -> int:
        return self._context

    def render(self, conversation: list[Message]) -> list[int]:
        """Prompt ids: the conversation plus the assistant generation prompt."""
        out = self.tokenizer.apply_chat_template(
            to_chat(conversation), add_generation_prompt=True, tokenize=True, return_dict=True
        )
        return list(out["input_ids"])

    def generate(
        self, conversations: list[list[Message]], params: SamplingParams, seeds: list[int] | None = None
    ) -> list[list[Generation]]:
        prompts = [self.render(c) for c in conversations]
        request = request_seeds(params, len(prompts), seeds)
        results: list[list[Generation]] = [[] for _ in prompts]
        rows: list[tuple[int, int | None]] = []  # (prompt index, sampling seed): one output per row
        for i, ids in enumerate(prompts):
            if len(ids) + params.max_new_tokens > self.context_length:
                results[i] = [Generation("", [], len(ids), "context_length") for _ in range(params.n)]
            elif params.greedy:
                rows.append((i, None))  # n identical copies below
            else:
                base = request[i] if request[i] is not None else int(torch.randint(SEED_RANGE, ()))
                rows += [(i, base if params.n == 1 else derive_seed(base, j)) for j in range(params.n)]
        # Longest first so each batch pads little; rows do not influence each other's outputs.
        rows.sort(key=lambda row: -len(prompts[row[0]]))
        size = self.batch_size or max(len(rows), 1)
        run = self._generate_cached if self.cache is not None else self._generate_batch
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            self.stats["prompt_tokens"] += sum(len(prompts[i]) for i, _ in chunk)
            gens = run([prompts[i] for i, _ in chunk], params, [seed for _, seed in chunk])
            for (i, _), gen in zip(chunk, gens, strict=True):
                results[i].append(gen)
        return [gens * params.n if params.greedy and len(gens) == 1 else gens for gens in results]

    def _generation_config(self, params: SamplingParams) -> GenerationConfig:
        """Greedy argmax in both modes: sampling adds per-row Gumbel noise to the warped scores instead."""
        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=False,
            eos_token_id=sorted(self.eos_ids),
            pad_token_id=self.pad_id,
            use_cache=True,
        )
        if params.stop:
            config.stop_strings = list(params.stop)
        return config

    def _processors(self, params: SamplingParams, seeds: list[int | None]) -> LogitsProcessorList | None:
        if params.greedy:
            return None
        warpers: list = [TemperatureLogitsWarper(params.temperature)]
        if params.top_p < 1:
            warpers.append(TopPLogitsWarper(params.top_p))  # plain nucleus sampling (no top-k), as vLLM
        return LogitsProcessorList([*warpers, SeededGumbel([int(s) for s in seeds], self.device)])

    @torch.inference_mode()
    def _generate_batch(
        self, prompts: list[list[int]], params: SamplingParams, seeds: list[int | None]
    ) -> list[Generation]:
        width = max(len(p) for p in prompts)
        input_ids = torch.tensor([[self.pad_id] * (width - len(p)) + p for p in prompts], device=self.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
        out = self.model.generate(
            input_ids=input_ids,
            attention_mask=mask,
            generation_config=self._generation_config(params),
            logits_processor=self._processors(params, seeds),
            tokenizer=self.tokenizer if params.stop else None,
        )
        rows = out[:, width:].tolist()
        return [
            self._finish(row, len(prompt), params.stop) for row, prompt in zip(rows, prompts, strict=True)
        ]

    @torch.inference_mode()
    def _generate_cached(
        self, prompts: list[list[int]], params: SamplingParams, seeds: list[int | None]
    ) -> list[Generation]:
        self._share_head(prompts)
        hits = [self.cache.lookup(p) for p in prompts]
        # At least one prompt token is always fed: generate needs logits for the first new token.
        cached = [min(n, len(p) - 1) for (n, _), p in zip(hits, prompts, strict=True)]
        self.stats["cached_tokens"] += sum(cached)
        width_c = max(cached)
        width_n = max(len(p) - c for p, c in zip(prompts, cached, strict=True))
        rows, masks = [], []
        for p, c in zip(prompts, cached, strict=True):
            pad_c, pad_n = width_c - c, width_n - (len(p) - c)
            rows.append([self.pad_id] * pad_c + p[:c] + [self.pad_id] * pad_n + p[c:])
            masks.append([0] * pad_c + [1] * c + [0] * pad_n + [1] * (len(p) - c))
        past = None
        if width_c:
            layers = [e.prefix(c) if e else None for (_, e), c in zip(hits, cached, strict=True)]
            past = DynamicCache(ddp_cache_data=self._pad_left(layers, width_c))
        mask = torch.tensor(masks, device=self.device)
        config = self._generation_config(params)
        config.return_dict_in_generate = True  # for the cache it grew
        out = self.model.generate(
            input_ids=torch.tensor(rows, device=self.device),
            attention_mask=mask,
            past_key_values=past,
            generation_config=config,
            logits_processor=self._processors(params, seeds),
            tokenizer=self.tokenizer if params.stop else None,
        )
        width = width_c + width_n
        generated = out.sequences[:, width:].tolist()
        self._keep(prompts, generated, mask, out.past_key_values, width)
        return [
            self._finish(row, len(prompt), params.stop)
            for prompt, row in zip(prompts, generated, strict=True)
        ]

    def _share_head(self, prompts: list[list[int]]) -> None:
        """Prefill the prefix all prompts share (instruction + examples) once, before the batch does it B times."""
        if len(prompts) < 2:
            return
        shared = min(len(p) for p in prompts) - 1
        for p in prompts[1:]:
            shared = common_prefix(prompts[0][:shared], p)
        if shared < 2 or self.cache.lookup(prompts[0])[0] >= shared:
            return
        head = prompts[0][:shared]
        known, entry = self.cache.lookup(head)
        known = min(known, shared - 1)
        past = DynamicCache(ddp_cache_data=self._pad_left([entry.prefix(known)], known)) if known else None
        ids = torch.tensor([head[known:]], device=self.device)
        out = self.model(input_ids=ids, past_key_values=past, use_cache=True, logits_to_keep=1)
        self.cache.store(head, [(k[0].clone(), v[0].clone()) for k, v, *_ in out.past_key_values])

    def _pad_left(self, layers: list[list[LayerKV] | None], width: int) -> list[LayerKV]:
        """Stack per-row caches into [rows, heads, width, dim] tensors, left-padded with zeros (masked)."""
        ref = next(row for row in layers if row)
        batched = []
        for layer, (k0, v0) in enumerate(ref):
            keys = k0.new_zeros((len(layers), k0.shape[0], width, k0.shape[2]))
            values = v0.new_zeros((len(layers), v0.shape[0], width, v0.shape[2]))
            for r, row in enumerate(layers):
                if row:
                    k, v = row[layer]
                    keys[r, :, width - k.shape[1] :] = k
                    values[r, :, width - v.shape[1] :] = v
            batched.append((keys, values))
        return batched

    def _keep(self, prompts, generated, mask, cache, width: int) -> None:
        """Store each row's cache: its unpadded prompt positions plus the generated positions fed back."""
        length = cache.get_seq_length()
        tail = torch.arange(width, length, device=self.device)
        kv = [(k, v) for k, v, *_ in cache]
        for r, (prompt, row) in enumerate(zip(prompts, generated, strict=True)):
            idx = torch.cat([mask[r].nonzero().squeeze(1), tail])
            ids = prompt + row[: length - width]
            self.cache.store(ids, [(k[r].index_select(1, idx), v[r].index_select(1, idx)) for k, v in kv])

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
        if self.cache is not None:
            self.cache.clear()
        torch.set_num_threads(self._threads_before)  # training after a rollout gets its threads back
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
