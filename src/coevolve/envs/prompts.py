"""ETO/IPR prompt construction: instruction + "OK" + in-context example turns + the episode.

Instructions and examples are data files; nothing here hard-codes message offsets. Training pairs use
the same builder without examples (ETO's DPO prompt: instruction, OK, task).

Prompt sets (env kwarg `prompt_set`):
- "embedded" (default): this project's own instruction and one in-context example per environment,
  shipped with the package (`embedded_prompts/`), written for coevolve in the same ReAct
  "Thought: ... Action: ..." format. No download; numbers obtained with them are not benchmark numbers.
- "eto" / "ipr": the upstream files (ETO for ScienceWorld and WebShop, IPR for InterCodeSQL and
  WebShop), resolved by name: data dir, cache, else a pinned, hash-checked download. Paper configs use
  these.
- "auto": the upstream set when its files are already local (data dir or cache), else "embedded";
  never downloads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from coevolve.data.formats import ACK
from coevolve.data.records import Message, RecordError, messages_from_list
from coevolve.data.resources import find_local, resolve

EMBEDDED = "embedded"
AUTO = "auto"
EMBEDDED_DIR = Path(__file__).parent / "embedded_prompts"
# env -> upstream prompt set -> (instruction resource, in-context examples resource). IPR ships no
# WebShop example file of its own; its WebShop runs use ETO's.
UPSTREAM_PROMPTS: dict[str, dict[str, tuple[str, str]]] = {
    "sciworld": {"eto": ("eto/prompts/sciworld_inst.txt", "eto/prompts/sciworld_icl.json")},
    "webshop": {
        "eto": ("eto/prompts/webshop_inst.txt", "eto/prompts/webshop_icl.json"),
        "ipr": ("ipr/prompts/webshop_inst.txt", "eto/prompts/webshop_icl.json"),
    },
    "intercode_sql": {"ipr": ("ipr/prompts/intercode_sql_inst.txt", "ipr/prompts/intercode_sql_icl.json")},
}


@dataclass
class PromptTemplate:
    instruction: str
    examples: list[list[Message]] = field(default_factory=list)
    prompt_set: str = ""  # "embedded", "eto", "ipr"; "" when built by hand

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
        text = resolve(instruction, data_dir)
        icl = resolve(examples, data_dir) if examples and num_examples > 0 else None
        return cls.from_files(text, icl, num_examples)

    @classmethod
    def from_files(cls, instruction: Path, examples: Path | None, num_examples: int = 1) -> PromptTemplate:
        """Instruction text and the first `num_examples` examples (a JSON list of message lists)."""
        text = instruction.read_text(encoding="utf-8")
        chosen: list[list[Message]] = []
        if examples is not None and num_examples > 0:
            path = examples
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise RecordError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
            if not isinstance(data, list) or not all(isinstance(e, list) for e in data):
                raise RecordError(f"{path}: expected a list of examples, each a list of messages")
            if num_examples > len(data):
                raise RecordError(f"{path}: asked for {num_examples} examples, file has {len(data)}")
            chosen = [
                messages_from_list(e, f"{path}: example {i}") for i, e in enumerate(data[:num_examples])
            ]
        return cls(instruction=text, examples=chosen)


def prompt_sets(env: str) -> list[str]:
    """The prompt sets an environment accepts."""
    return [EMBEDDED, AUTO, *UPSTREAM_PROMPTS.get(env, {})]


def choose_prompt_set(env: str, name: str, data_dir: str | Path | None = None) -> str:
    """The concrete set for `name` ("auto" -> upstream if its files are local, else "embedded")."""
    valid = prompt_sets(env)
    if name not in valid:
        raise ValueError(f"{env}: unknown prompt_set {name!r}; valid: {', '.join(valid)}")
    if name != AUTO:
        return name
    for upstream, files in UPSTREAM_PROMPTS.get(env, {}).items():
        if all(find_local(f, data_dir) for f in files):
            return upstream
    return EMBEDDED


def load_prompts(
    env: str, prompt_set: str, num_examples: int = 1, data_dir: str | Path | None = None
) -> PromptTemplate:
    """The instruction and first `num_examples` in-context examples of a (concrete or "auto") set."""
    chosen = choose_prompt_set(env, prompt_set, data_dir)
    if chosen == EMBEDDED:
        template = PromptTemplate.from_files(
            EMBEDDED_DIR / f"{env}_inst.txt", EMBEDDED_DIR / f"{env}_icl.json", num_examples
        )
    else:
        template = PromptTemplate.load(*UPSTREAM_PROMPTS[env][chosen], num_examples, data_dir)
    template.prompt_set = chosen
    return template
