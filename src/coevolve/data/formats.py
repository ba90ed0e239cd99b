"""Import and export of the ETO/IPR (FastChat/ShareGPT) formats.

SFT:  {"id", "conversations": [{"from": "human"|"gpt", "value"}], "reward"?}
      turns: instruction (human), "OK" (gpt), first task turn (human), then gpt/human alternating,
      ending with gpt.
DPO:  {"id", "prompt": [instruction, OK, first task turn], "chosen": [...], "rejected": [...]}
Files are a JSON list (as ETO ships them) or JSONL (one record per line, as we write them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from coevolve.data.jsonl import JsonlError, read_jsonl
from coevolve.data.records import (
    SUCCESS_REWARD,
    Message,
    PreferencePair,
    RecordError,
    Task,
    Trajectory,
    validate_pair,
)

FROM_TO_ROLE = {"human": "user", "gpt": "assistant", "system": "system"}
ROLE_TO_FROM = {"user": "human", "assistant": "gpt", "system": "system"}
ACK = "OK"


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Every record of an input file (JSON list or JSONL, BOM or not), or an error naming file and line.

    Input files are read whole: unlike our own append files, no last line is ever dropped.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise RecordError(f"{path}:{line}: not UTF-8 text ({exc.reason})") from exc
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
        if not all(isinstance(r, dict) for r in data):
            bad = next(i for i, r in enumerate(data) if not isinstance(r, dict))
            raise RecordError(f"{path}: record {bad}: expected an object")
        return data
    try:
        return read_jsonl(path, strict=True)
    except JsonlError as exc:
        raise RecordError(str(exc)) from exc


def conversation_to_messages(conversations: Any, where: str) -> list[Message]:
    if not isinstance(conversations, list) or not conversations:
        raise RecordError(f"{where}: field 'conversations' must be a non-empty list")
    messages = []
    for i, turn in enumerate(conversations):
        if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
            raise RecordError(f"{where}: conversations[{i}] needs 'from' and 'value'")
        role = FROM_TO_ROLE.get(turn["from"])
        if role is None:
            raise RecordError(
                f"{where}: conversations[{i}].from must be one of {sorted(FROM_TO_ROLE)}, got {turn['from']!r}"
            )
        if not isinstance(turn["value"], str):
            raise RecordError(f"{where}: conversations[{i}].value must be a string")
        messages.append(Message(role=role, content=turn["value"]))
    return messages


def messages_to_conversation(messages: Iterable[Message]) -> list[dict[str, str]]:
    return [{"from": ROLE_TO_FROM[m.role], "value": m.content} for m in messages]


def _check_alternation(messages: list[Message], where: str) -> None:
    for i, message in enumerate(messages):
        expected = "user" if i % 2 == 0 else "assistant"
        if message.role != expected:
            raise RecordError(f"{where}: conversations[{i + 2}] should be {ROLE_TO_FROM[expected]!r}")
    if not messages or messages[-1].role != "assistant":
        raise RecordError(f"{where}: conversation must end with a 'gpt' turn")


def trajectory_from_eto(record: Any, env: str, split: str, where: str, agent: str = "expert") -> Trajectory:
    """An ETO SFT record as an expert trajectory (reward defaults to 1.0, as ETO assumes)."""
    if not isinstance(record, dict) or "id" not in record:
        raise RecordError(f"{where}: missing field 'id'")
    messages = conversation_to_messages(record.get("conversations"), where)
    if len(messages) < 4 or messages[0].role != "user" or messages[1].role != "assistant":
        raise RecordError(f"{where}: expected instruction (human), 'OK' (gpt), task (human), ... turns")
    episode = messages[2:]
    _check_alternation(episode, where)
    reward = record.get("reward", SUCCESS_REWARD)
    if not isinstance(reward, (int, float)):
        raise RecordError(f"{where}: field 'reward' must be a number")
    return Trajectory(
        task=Task(env=env, split=split, id=str(record["id"])),
        agent=agent,
        instruction=messages[0].content,
        messages=episode,
        reward=float(reward),
        success=float(reward) >= SUCCESS_REWARD,
        end_reason="expert",
        meta={k: v for k, v in record.items() if k not in ("id", "conversations", "reward")},
    )


def trajectory_to_eto(traj: Trajectory) -> dict[str, Any]:
    conversations = messages_to_conversation(
        [Message("user", traj.instruction), Message("assistant", ACK), *traj.messages]
    )
    return {"id": traj.task.id, "conversations": conversations, "reward": traj.reward}


def load_eto_sft(path: str | Path, env: str, split: str = "train") -> list[Trajectory]:
    """Expert trajectories of an ETO/IPR SFT file; a bad record raises naming its index."""
    return [
        trajectory_from_eto(rec, env, split, f"{path}: record {i}")
        for i, rec in enumerate(load_records(path))
    ]


def filter_by_reward(trajs: Iterable[Trajectory], min_reward: float | None) -> list[Trajectory]:
    """Keep trajectories with reward strictly above `min_reward` (the paper: > 0.7 on one benchmark, `Benchmark.min_expert_reward`)."""
    if min_reward is None:
        return list(trajs)
    return [t for t in trajs if t.reward > min_reward]


def pair_to_eto(pair: PreferencePair) -> dict[str, Any]:
    return {
        "id": pair.id,
        "prompt": messages_to_conversation(pair.prompt),
        "chosen": messages_to_conversation(pair.chosen),
        "rejected": messages_to_conversation(pair.rejected),
    }


def pair_from_eto(record: Any, env: str, where: str) -> PreferencePair:
    if not isinstance(record, dict) or "id" not in record:
        raise RecordError(f"{where}: missing field 'id'")
    for side in ("prompt", "chosen", "rejected"):
        if side not in record:
            raise RecordError(f"{where}: missing field '{side}'")
    pair = PreferencePair(
        id=str(record["id"]),
        env=env,
        prompt=conversation_to_messages(record["prompt"], f"{where}.prompt"),
        chosen=conversation_to_messages(record["chosen"], f"{where}.chosen"),
        rejected=conversation_to_messages(record["rejected"], f"{where}.rejected"),
        kind="eto",
        chosen_reward=float(record.get("chosen_reward", SUCCESS_REWARD)),
        rejected_reward=float(record.get("rejected_reward", 0.0)),
    )
    validate_pair(pair, where)
    return pair


def load_eto_dpo(path: str | Path, env: str) -> list[PreferencePair]:
    return [pair_from_eto(rec, env, f"{path}: record {i}") for i, rec in enumerate(load_records(path))]


def write_json_list(path: str | Path, records: Iterable[dict[str, Any]]) -> None:
    """Write records as one JSON list (the ETO file layout)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(list(records), ensure_ascii=False, indent=1), encoding="utf-8")
