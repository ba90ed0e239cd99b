"""Turn coevolve records into the conversational rows TRL trains on, and load training files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from coevolve.data.formats import ACK, load_eto_dpo, load_eto_sft, load_records
from coevolve.data.records import Message, PreferencePair, RecordError, Trajectory, pair_from_dict

Row = dict[str, Any]


def chat(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def trajectory_messages(traj: Trajectory) -> list[dict[str, str]]:
    """The full training conversation: instruction, "OK", then the episode (as ETO trains it)."""
    head = [Message("user", traj.instruction), Message("assistant", ACK)] if traj.instruction else []
    return chat([*head, *traj.messages])


def sft_rows(trajectories: Sequence[Trajectory]) -> list[Row]:
    rows = []
    for i, traj in enumerate(trajectories):
        messages = trajectory_messages(traj)
        if not any(m["role"] == "assistant" for m in messages):
            raise RecordError(f"trajectory {i} ({traj.task.key}): no assistant turn to train on")
        rows.append({"messages": messages})
    return rows


def sft_token_rows(trajectories: Sequence[Trajectory], tokenizer) -> list[Row]:
    """Pre-tokenized SFT rows: `input_ids` and `assistant_masks` (what the model writes), for any template."""
    from coevolve.models import assistant_tokens

    rows = []
    for i, row in enumerate(sft_rows(trajectories)):
        ids, mask = assistant_tokens(tokenizer, row["messages"])
        if not any(mask):
            raise RecordError(f"trajectory {i} ({trajectories[i].task.key}): no assistant token after rendering")
        rows.append({"input_ids": ids, "assistant_masks": mask})
    return rows


def dpo_rows(pairs: Sequence[PreferencePair]) -> list[Row]:
    return [
        {
            "id": p.id,
            "prompt": chat(p.prompt),
            "chosen": chat(p.chosen),
            "rejected": chat(p.rejected),
            "sft_weight": float(p.sft_weight),
        }
        for p in pairs
    ]


def load_sft_files(paths: Sequence[str | Path], env: str = "unknown", min_reward: float | None = None):
    """Expert trajectories from ETO/IPR SFT files (JSON list or JSONL), reward-filtered (> min_reward)."""
    from coevolve.data.formats import filter_by_reward

    trajs: list[Trajectory] = []
    for path in paths:
        trajs.extend(load_eto_sft(path, env))
    return filter_by_reward(trajs, min_reward)


def load_pair_files(paths: Sequence[str | Path], env: str = "unknown") -> list[PreferencePair]:
    """Pairs from JSONL PreferencePair files or ETO DPO files; a bad record raises naming file and index."""
    pairs: list[PreferencePair] = []
    for path in paths:
        records = load_records(path)
        if records and "kind" in records[0] and "chosen_reward" in records[0]:
            pairs.extend(pair_from_dict(r, f"{path}: record {i}") for i, r in enumerate(records))
        else:
            pairs.extend(load_eto_dpo(path, env))
    return pairs
