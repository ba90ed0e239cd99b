"""Evaluation summary of a set of episodes (the `summary.json` schema of the run directory)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from coevolve.data.records import SUCCESS_REWARD, Trajectory


def summarize(
    trajs: list[Trajectory], env: str, split: str, data_label: str, model: str, agent: str
) -> dict[str, Any]:
    """Average reward x100, success rate, steps, parse rate and end reasons of finished episodes.

    `parse_rate` is the share of assistant turns the environment could parse into an action; turns
    cut off by the context limit were never sent to the environment and are not counted.
    """
    n = len(trajs)
    turns = [step for t in trajs for step in t.steps]
    return {
        "env": env,
        "split": split,
        "data": data_label,
        "model": model,
        "agent": agent,
        "episodes": n,
        "avg_reward": 100.0 * sum(t.reward for t in trajs) / n if n else 0.0,
        "success_rate": sum(t.reward == SUCCESS_REWARD for t in trajs) / n if n else 0.0,
        "avg_steps": sum(t.num_steps for t in trajs) / n if n else 0.0,
        "parse_rate": sum(s.action is not None for s in turns) / len(turns) if turns else 0.0,
        "end_reasons": dict(sorted(Counter(t.end_reason for t in trajs).items())),
    }
