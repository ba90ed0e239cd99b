"""ETO/IPR prompt construction: instruction + "OK" + in-context example turns + the episode.

Instructions and examples are data files resolved by name; nothing here hard-codes message offsets.
Training pairs use the same builder without examples (ETO's DPO prompt: instruction, OK, task).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from coevolve.data.formats import ACK
from coevolve.data.records import Message, RecordError, messages_from_list
from coevolve.data.resources import resolve


@dataclass
class PromptTemplate:
    instruction: str
    examples: list[list[Message]] = field(default_factory=list)

    def messages(self, episode: list[Message], with_examples: bool = True) -> list[Message]:
        """The conversation the policy sees for an episode so far."""
        head = [Message("user", self.instruction), Message("assistant", ACK)]
        icl = [m for example in self.examples for m in example] if with_examples else []
        return head + icl + list(episode)

    @classmethod
    def load(
        cls,
        instruction: str,
        examples: str | None = None,
        num_examples: int = 1,
        data_dir: str | Path | None = None,
    ) -> PromptTemplate:
        """Instruction text and the first `num_examples` examples from named resources."""
        text = resolve(instruction, data_dir).read_text(encoding="utf-8")
        chosen: list[list[Message]] = []
        if examples and num_examples > 0:
            path = resolve(examples, data_dir)
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, list) or not all(isinstance(e, list) for e in data):
                raise RecordError(f"{path}: expected a list of examples, each a list of messages")
            if num_examples > len(data):
                raise RecordError(f"{path}: asked for {num_examples} examples, file has {len(data)}")
            chosen = [
                messages_from_list(e, f"{path}: example {i}") for i, e in enumerate(data[:num_examples])
            ]
        return cls(instruction=text, examples=chosen)
