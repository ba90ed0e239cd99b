"""Typed records shared by every stage: tasks, messages, trajectories and preference pairs.

A trajectory keeps the *episode* conversation only: it starts with the first task turn (user) and
alternates assistant / user (observation) turns. The instruction text is stored beside it; the
in-context examples are a property of the prompt template, not of the episode, so they never leak
into training data (ETO strips them with fixed offsets; we never store them).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]
ROLES: tuple[str, ...] = ("system", "user", "assistant")

# Why an episode ended. `done`: the environment said so; `step_cap`: the per-task step limit;
# `context_length`: the conversation outgrew the model's context; `error`: the environment failed.
END_REASONS: tuple[str, ...] = ("done", "step_cap", "context_length", "error", "expert")

SUCCESS_REWARD = 1.0


class RecordError(ValueError):
    """A record (or one of its fields) is malformed; the message names the field."""


@dataclass(frozen=True)
class Task:
    """One task instance of an environment split. `id` follows ETO/IPR (e.g. "0_21": task type 0, variation 21)."""

    env: str
    split: str
    id: str
    instruction: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        return f"{self.env}/{self.split}/{self.id}"


@dataclass
class Message:
    role: Role
    content: str
    # Token ids the policy generated for this turn (assistant turns of rollouts only), so that
    # training can check it renders the same tokens the model produced.
    token_ids: list[int] | None = None


@dataclass
class Step:
    """One environment step: the model's raw text, the parsed action and what the env answered."""

    raw: str
    action: str | None
    observation: str
    reward: float
    done: bool
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trajectory:
    task: Task
    agent: str
    instruction: str
    messages: list[Message]
    reward: float
    success: bool
    end_reason: str
    steps: list[Step] = field(default_factory=list)
    model: str | None = None
    sampling: dict[str, Any] = field(default_factory=dict)
    sample_index: int = 0
    iteration: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def actions(self) -> list[str | None]:
        return [s.action for s in self.steps]

    @property
    def num_steps(self) -> int:
        return len(self.steps)

    @property
    def key(self) -> str:
        """Identity within a run: task, agent and sample index (a rerun skips finished keys)."""
        return f"{self.task.key}#{self.agent}#{self.sample_index}"


PairKind = Literal[
    "eto",  # expert vs explored (ETO); reversed when the explored one scores higher
    "expert_vs_target",  # expert > target-agent failure
    "expert_vs_failure_agent",  # expert > failure-agent failure
    "failure_failure",  # higher-reward failure > lower-reward failure (failure agent; v1 target)
    "success_vs_failure",  # a success of either agent > a failure (positive-agent ablation)
]
PAIR_KINDS: tuple[str, ...] = (
    "eto",
    "expert_vs_target",
    "expert_vs_failure_agent",
    "failure_failure",
    "success_vs_failure",
)


@dataclass
class PreferencePair:
    """A DPO pair. `prompt` = [instruction, "OK", first task turn]; chosen/rejected end on assistant.

    `sft_weight` scales the SFT term on the chosen side: 1 for an expert chosen, 0 where the chosen
    side is not an expert (failure-failure pairs, reversed pairs) so no failure is imitated.
    """

    id: str
    env: str
    prompt: list[Message]
    chosen: list[Message]
    rejected: list[Message]
    kind: str
    chosen_reward: float
    rejected_reward: float
    sft_weight: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- (de)serialisation


def to_dict(record: Any) -> dict[str, Any]:
    """Plain JSON-able dict of a record; drops `token_ids` when absent to keep files small."""
    data = dataclasses.asdict(record)
    _strip_none_token_ids(data)
    return data


def _strip_none_token_ids(obj: Any) -> None:
    if isinstance(obj, dict):
        if obj.get("token_ids", 0) is None:
            del obj["token_ids"]
        for value in obj.values():
            _strip_none_token_ids(value)
    elif isinstance(obj, list):
        for value in obj:
            _strip_none_token_ids(value)


def _require(data: Any, name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data, dict):
        raise RecordError(f"{where}: expected an object, got {type(data).__name__}")
    if name not in data:
        raise RecordError(f"{where}: missing field '{name}'")
    value = data[name]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise RecordError(f"{where}: field '{name}' must be {expected}, got {type(value).__name__}")
    return value


def message_from_dict(data: Any, where: str = "message") -> Message:
    role = _require(data, "role", str, where)
    if role not in ROLES:
        raise RecordError(f"{where}: field 'role' must be one of {ROLES}, got {role!r}")
    content = _require(data, "content", str, where)
    token_ids = data.get("token_ids")
    if token_ids is not None and not (
        isinstance(token_ids, list) and all(isinstance(t, int) for t in token_ids)
    ):
        raise RecordError(f"{where}: field 'token_ids' must be a list of ints")
    return Message(role=role, content=content, token_ids=token_ids)


def messages_from_list(data: Any, where: str) -> list[Message]:
    if not isinstance(data, list):
        raise RecordError(f"{where}: expected a list of messages, got {type(data).__name__}")
    return [message_from_dict(m, f"{where}[{i}]") for i, m in enumerate(data)]


def task_from_dict(data: Any, where: str = "task") -> Task:
    return Task(
        env=_require(data, "env", str, where),
        split=_require(data, "split", str, where),
        id=str(_require(data, "id", (str, int), where)),
        instruction=data.get("instruction", "") or "",
        meta=dict(data.get("meta") or {}),
    )


def step_from_dict(data: Any, where: str = "step") -> Step:
    action = data.get("action") if isinstance(data, dict) else None
    return Step(
        raw=_require(data, "raw", str, where),
        action=action if isinstance(action, str) else None,
        observation=_require(data, "observation", str, where),
        reward=float(_require(data, "reward", (int, float), where)),
        done=bool(_require(data, "done", bool, where)),
        info=dict(data.get("info") or {}),
    )


def trajectory_from_dict(data: Any, where: str = "trajectory") -> Trajectory:
    end_reason = _require(data, "end_reason", str, where)
    if end_reason not in END_REASONS:
        raise RecordError(f"{where}: field 'end_reason' must be one of {END_REASONS}, got {end_reason!r}")
    steps = data.get("steps") or []
    return Trajectory(
        task=task_from_dict(_require(data, "task", dict, where), f"{where}.task"),
        agent=_require(data, "agent", str, where),
        instruction=_require(data, "instruction", str, where),
        messages=messages_from_list(_require(data, "messages", list, where), f"{where}.messages"),
        reward=float(_require(data, "reward", (int, float), where)),
        success=bool(_require(data, "success", bool, where)),
        end_reason=end_reason,
        steps=[step_from_dict(s, f"{where}.steps[{i}]") for i, s in enumerate(steps)],
        model=data.get("model"),
        sampling=dict(data.get("sampling") or {}),
        sample_index=int(data.get("sample_index", 0)),
        iteration=data.get("iteration"),
        prompt_tokens=int(data.get("prompt_tokens", 0)),
        completion_tokens=int(data.get("completion_tokens", 0)),
        meta=dict(data.get("meta") or {}),
    )


def pair_from_dict(data: Any, where: str = "pair") -> PreferencePair:
    kind = _require(data, "kind", str, where)
    if kind not in PAIR_KINDS:
        raise RecordError(f"{where}: field 'kind' must be one of {PAIR_KINDS}, got {kind!r}")
    pair = PreferencePair(
        id=str(_require(data, "id", (str, int), where)),
        env=_require(data, "env", str, where),
        prompt=messages_from_list(_require(data, "prompt", list, where), f"{where}.prompt"),
        chosen=messages_from_list(_require(data, "chosen", list, where), f"{where}.chosen"),
        rejected=messages_from_list(_require(data, "rejected", list, where), f"{where}.rejected"),
        kind=kind,
        chosen_reward=float(_require(data, "chosen_reward", (int, float), where)),
        rejected_reward=float(_require(data, "rejected_reward", (int, float), where)),
        sft_weight=float(data.get("sft_weight", 1.0)),
        meta=dict(data.get("meta") or {}),
    )
    validate_pair(pair, where)
    return pair


def validate_pair(pair: PreferencePair, where: str = "pair") -> None:
    """A usable DPO pair: non-empty sides that both end with an assistant turn."""
    if not pair.prompt or pair.prompt[-1].role != "user":
        raise RecordError(f"{where}: 'prompt' must end with a user turn")
    for side in ("chosen", "rejected"):
        msgs: list[Message] = getattr(pair, side)
        if not msgs:
            raise RecordError(f"{where}: '{side}' is empty")
        if msgs[-1].role != "assistant":
            raise RecordError(f"{where}: '{side}' must end with an assistant turn")
