"""A scripted policy for the ladder environment, so a tiny real run has successes, hard negatives and failures.

Each turn climbs (70 %) or waits by a seeded draw from the sampling seed, the conversation so far and a
call counter, so samples of one task differ and a rerun of the same run gives the same episodes.
Training still trains the tiny model on the resulting pairs; only acting is scripted.
"""

from __future__ import annotations

import random
import zlib

from coevolve.agents.base import Generation, Policy, SamplingParams, register_policy
from coevolve.data.records import Message


@register_policy("ladder_script")
class LadderScript(Policy):
    def __init__(self, model: str, **_: object) -> None:
        self.name = f"ladder_script:{model}"
        self.calls = 0

    @property
    def context_length(self) -> int:
        return 4096

    def _turn(self, conversation: list[Message], params: SamplingParams) -> str:
        text = "\n".join(m.content for m in conversation)
        self.calls += 1
        seed = zlib.crc32(f"{params.seed}|{self.calls}|{text}".encode())
        if random.Random(seed).random() < 0.7:
            return "Thought: one more rung.\nAction: climb"
        return "Thought: a rest will do.\nAction: wait"

    def generate(
        self, conversations: list[list[Message]], params: SamplingParams, seeds=None
    ) -> list[list[Generation]]:
        return [[Generation(self._turn(c, params), prompt_tokens=len(c))] for c in conversations]
