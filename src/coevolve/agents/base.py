"""The policy interface every generation backend implements, and the backend registry.

A policy turns a batch of conversations into `n` sampled assistant turns each. Backends differ in how
(in-process transformers, a vLLM engine, an OpenAI-compatible server) but return the same records, so
the rollout engine never knows which one it drives.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from coevolve.data.records import Message
from coevolve.registry import Registry

# Why a generation ended: `stop` = end-of-turn token or a stop string; `length` = max_new_tokens;
# `context_length` = the prompt plus max_new_tokens does not fit the model's context (nothing generated).
FINISH_REASONS: tuple[str, ...] = ("stop", "length", "context_length")


@dataclass(frozen=True)
class SamplingConfig:
    """Decoding settings: of a policy call, and of the run config's `*_sampling` sections.

    `temperature == 0` means greedy decoding (ETO's evaluation setting). One default for every entry
    point: `max_new_tokens` 512 (ETO's generation cap; `coevolve eval` and `coevolve run` agree).
    """

    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0  # nucleus sampling mass, in (0, 1]
    max_new_tokens: int = 512  # per assistant turn (ETO: 512)
    stop: tuple[str, ...] = ()  # extra stop strings (the end-of-turn token always stops)
    n: int = 1  # samples per conversation in one policy call (rollouts: use samples_per_task)
    seed: int | None = None  # None: unseeded calls; run configs derive per-request seeds from the run seed
    # rollouts and evaluations: episodes per task, each its own episode and seed (policy calls ignore it)
    samples_per_task: int = 1

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"SamplingConfig.temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingConfig.top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"SamplingConfig.max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.n < 1:
            raise ValueError(f"SamplingConfig.n must be >= 1, got {self.n}")
        if self.samples_per_task < 1:
            raise ValueError(f"SamplingConfig.samples_per_task must be >= 1, got {self.samples_per_task}")
        object.__setattr__(self, "stop", tuple(self.stop))

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
            "stop": list(self.stop),
            "n": self.n,
            "seed": self.seed,
        }


SamplingParams = SamplingConfig  # the former name (tests and backends use it)


@dataclass
class Generation:
    """One sampled assistant turn.

    `text` excludes the end-of-turn token and any stop string. `token_ids` are the ids the model
    produced, including the end-of-turn token when it emitted one (it is trained on it too); empty
    when the backend does not expose ids (OpenAI-compatible servers).
    """

    text: str
    token_ids: list[int] = field(default_factory=list)
    prompt_tokens: int = 0
    finish_reason: str = "stop"
    completion_tokens: int = -1  # -1: count `token_ids`; servers without ids report their own count

    def __post_init__(self) -> None:
        if self.completion_tokens < 0:
            self.completion_tokens = len(self.token_ids)


SEED_RANGE = 2**31 - 1  # fits every backend (vLLM, OpenAI's `seed`, torch.Generator)


def derive_seed(base: int, *parts: object) -> int:
    """A seed that depends only on `base` and `parts` (stable across processes, Python versions, runs).

    The rollout engine seeds each request with (base, task, agent, sample, iteration, step), so a sampled
    agent draws fresh noise at every step, yet a rerun or resume draws exactly the same.
    """
    key = json.dumps([base, *parts], default=str, separators=(",", ":"))
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") % SEED_RANGE


def request_seeds(params: SamplingParams, count: int, seeds: list[int] | None) -> list[int | None]:
    """One seed per request: the caller's, else derived from `params.seed` and the row, else None."""
    if seeds is not None:
        if len(seeds) != count:
            raise ValueError(f"got {len(seeds)} seeds for {count} conversations")
        return list(seeds)
    return [None if params.seed is None else derive_seed(params.seed, row) for row in range(count)]


def to_chat(conversation: list[Message]) -> list[dict[str, str]]:
    """Messages as chat-template / chat-API dicts (role + content only)."""
    return [{"role": m.role, "content": m.content} for m in conversation]


class Policy(ABC):
    """A language model that writes assistant turns."""

    #: model name recorded in trajectories (alias, path or hub id as the user gave it)
    name: str = ""

    @abstractmethod
    def generate(
        self, conversations: list[list[Message]], params: SamplingParams, seeds: list[int] | None = None
    ) -> list[list[Generation]]:
        """`params.n` generations for each conversation, in input order.

        `seeds` (one per conversation) fix each request's sampling noise, whatever else is in the batch;
        without them requests are seeded from `params.seed` and their row (`request_seeds`).
        """

    @property
    @abstractmethod
    def context_length(self) -> int:
        """Most tokens (prompt + generated) the model takes."""

    def close(self) -> None:  # noqa: B027 - backends without resources need nothing
        """Free model memory / connections."""

    def __enter__(self) -> Policy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# name -> module that defines and registers it (imported lazily: vLLM and openai are optional extras)
BACKEND_MODULES: dict[str, str] = {
    "hf": "coevolve.agents.hf",
    "vllm": "coevolve.agents.vllm",
    "openai": "coevolve.agents.openai_api",
}
BACKENDS: Registry[type[Policy]] = Registry("policy backend", lazy=BACKEND_MODULES)


def register_policy(name: str):
    return BACKENDS.register(name)


def backend_names() -> list[str]:
    return BACKENDS.names()


def make_policy(backend: str, model: str, **kwargs: Any) -> Policy:
    """Build a policy: `make_policy("hf", "smollm2-135m", device="cpu")`."""
    return BACKENDS.get(backend)(model, **kwargs)
