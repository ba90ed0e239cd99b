"""vLLM offline engine backend (GPU; optional extra `coevolve[vllm]`, imported lazily).

`LLM.chat` renders each conversation with *our* tokenizer's chat template (the one training uses),
samples `n` completions per prompt, and returns prompt and completion token ids. Prefix caching reuses
the shared instruction + in-context examples across episodes and turns. A LoRA adapter directory is
served through `LoRARequest`; `sleep()` / `wake_up()` free GPU memory while training runs.
Not exercised by the CPU test suite.
"""

from __future__ import annotations

from typing import Any

from coevolve.agents.base import Generation, Policy, SamplingParams, register_policy, request_seeds, to_chat
from coevolve.data.records import Message
from coevolve.models import load_tokenizer, resolve_model_path


@register_policy("vllm")
class VLLMPolicy(Policy):
    def __init__(
        self,
        model: str,
        *,
        lora_path: str | None = None,
        max_lora_rank: int = 64,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.85,
        max_context: int | None = None,
        seed: int = 0,
        enable_sleep_mode: bool = True,
        **engine_kwargs: Any,
    ) -> None:
        try:
            from vllm import LLM
            from vllm.lora.request import LoRARequest
        except ImportError as exc:
            raise ImportError("the vllm backend needs `pip install coevolve[vllm]` (GPU)") from exc
        self.name = model
        path = resolve_model_path(model)
        self.chat_template = load_tokenizer(path).chat_template
        self.llm = LLM(
            model=path,
            dtype=dtype,
            seed=seed,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_context,
            enable_prefix_caching=True,
            enable_lora=lora_path is not None,
            max_lora_rank=max_lora_rank,
            enable_sleep_mode=enable_sleep_mode,
            **engine_kwargs,
        )
        self.lora = LoRARequest("adapter", 1, lora_path) if lora_path else None
        self.tokenizer = self.llm.get_tokenizer()
        self._context = int(self.llm.llm_engine.model_config.max_model_len)

    @property
    def context_length(self) -> int:
        return self._context

    def _prompt_len(self, conversation: list[Message]) -> int:
        ids = self.tokenizer.apply_chat_template(
            to_chat(conversation), chat_template=self.chat_template, add_generation_prompt=True, tokenize=True
        )
        return len(ids["input_ids"] if isinstance(ids, dict) else ids)

    def generate(
        self, conversations: list[list[Message]], params: SamplingParams, seeds: list[int] | None = None
    ) -> list[list[Generation]]:
        from vllm import SamplingParams as VSamplingParams

        request = request_seeds(params, len(conversations), seeds)

        results: list[list[Generation]] = [[] for _ in conversations]
        fits = []
        for i, conversation in enumerate(conversations):
            n_prompt = self._prompt_len(conversation)
            if n_prompt + params.max_new_tokens > self.context_length:
                results[i] = [Generation("", [], n_prompt, "context_length") for _ in range(params.n)]
            else:
                fits.append(i)
        if not fits:
            return results
        # One seed per request (the engine's per-step seeds, else derived from params.seed and the row):
        # with a shared seed, identical prompts would draw identical completions.
        sampling = [
            VSamplingParams(
                n=params.n,
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_new_tokens,
                stop=list(params.stop) or None,
                seed=request[i],
            )
            for i in fits
        ]
        outputs = self.llm.chat(
            [to_chat(conversations[i]) for i in fits],
            sampling_params=sampling,
            use_tqdm=False,
            lora_request=self.lora,
            chat_template=self.chat_template,
            add_generation_prompt=True,
        )
        for i, out in zip(fits, outputs, strict=True):
            results[i] = [
                Generation(
                    text=c.text,
                    token_ids=list(c.token_ids),
                    prompt_tokens=len(out.prompt_token_ids or []),
                    finish_reason="length" if c.finish_reason == "length" else "stop",
                )
                for c in out.outputs
            ]
        return results

    def sleep(self, level: int = 1) -> None:
        """Free GPU memory (weights offloaded at level 1) while another stage trains."""
        self.llm.sleep(level=level)

    def wake_up(self) -> None:
        self.llm.wake_up()

    def close(self) -> None:
        del self.llm
        import gc

        import torch

        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
