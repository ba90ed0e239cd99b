"""Any OpenAI-compatible chat-completions endpoint (vLLM / SGLang servers, hosted APIs).

The server applies its own chat template and exposes no token ids, so trajectories from this backend
carry text only; training re-renders them. Requests of a batch run concurrently in threads; the
`openai` client retries connection errors, 408/409/429 and 5xx with exponential backoff.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from coevolve.agents.base import Generation, Policy, SamplingParams, register_policy, request_seeds, to_chat
from coevolve.data.records import Message

# Phrases servers use when a prompt does not fit (OpenAI: code context_length_exceeded; vLLM: "maximum
# context length"); such a request ends the episode instead of failing the run.
CONTEXT_ERRORS = ("context_length_exceeded", "maximum context length", "context length")


@register_policy("openai")
class OpenAIPolicy(Policy):
    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        max_retries: int = 5,
        timeout: float = 600.0,
        concurrency: int = 16,
        max_context: int = 32768,
    ) -> None:
        try:
            import openai
        except ImportError as exc:  # optional extra
            raise ImportError("the openai backend needs `pip install coevolve[openai]`") from exc
        self.name = model
        self._openai = openai
        self.client = openai.OpenAI(
            base_url=base_url or os.environ.get("OPENAI_BASE_URL"),
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY",
            max_retries=max_retries,
            timeout=timeout,
        )
        self.concurrency = concurrency
        self._context = max_context

    @property
    def context_length(self) -> int:
        return self._context

    def generate(
        self, conversations: list[list[Message]], params: SamplingParams, seeds: list[int] | None = None
    ) -> list[list[Generation]]:
        # One seed per request (the engine's per-step seeds, else derived from params.seed and the row), so
        # identical prompts (samples of one task) draw different completions. Servers may ignore `seed`.
        request = request_seeds(params, len(conversations), seeds)
        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(conversations)))) as pool:
            return list(pool.map(lambda c, seed: self._one(c, params, seed), conversations, request))

    def _one(self, conversation: list[Message], params: SamplingParams, seed: int | None) -> list[Generation]:
        try:
            response = self.client.chat.completions.create(
                model=self.name,
                messages=to_chat(conversation),
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_new_tokens,
                stop=list(params.stop) or None,
                n=params.n,
                seed=seed,
            )
        except self._openai.BadRequestError as exc:
            if any(phrase in str(exc).lower() for phrase in CONTEXT_ERRORS):
                return [Generation("", [], 0, "context_length") for _ in range(params.n)]
            raise
        usage = response.usage
        prompt_tokens = usage.prompt_tokens if usage else 0
        per_choice = (usage.completion_tokens // max(len(response.choices), 1)) if usage else 0
        return [
            Generation(
                text=choice.message.content or "",
                prompt_tokens=prompt_tokens,
                finish_reason="length" if choice.finish_reason == "length" else "stop",
                completion_tokens=per_choice,
            )
            for choice in sorted(response.choices, key=lambda c: c.index)
        ]

    def close(self) -> None:
        self.client.close()
