"""Evaluation summary of a set of episodes (the `summary.json` schema of the run directory)."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

from coevolve.data.records import SUCCESS_REWARD, Trajectory


def summarize(
    trajs: list[Trajectory],
    env: str,
    split: str,
    data_label: str,
    model: str,
    agent: str,
    prompt_set: str | None = None,
    select: str = "mean",
) -> dict[str, Any]:
    """Average reward x100, success rate (each with its 95 % CI: bootstrap / Wilson), steps, parse rate
    and end reasons of finished episodes.

    `parse_rate` is the share of assistant turns the environment could parse into an action; turns
    cut off by the context limit were never sent to the environment and are not counted.
    `data` names the tasks ("official", "generated", "sample") and `prompts` the prompt set
    ("embedded", "eto", "ipr"); only "official" data with an upstream prompt set gives benchmark numbers.
    """
    n = len(trajs)
    turns = [step for t in trajs for step in t.steps]
    summary = {
        "env": env,
        "split": split,
        "data": data_label,
        "prompts": prompt_set,
        "model": model,
        "agent": agent,
        "episodes": n,
        "avg_reward": 100.0 * sum(t.reward for t in trajs) / n if n else 0.0,
        "avg_reward_ci": [100.0 * x for x in mean_ci([t.reward for t in trajs])] if n else None,
        "success_rate": sum(t.reward == SUCCESS_REWARD for t in trajs) / n if n else 0.0,
        "success_ci": list(wilson_ci(sum(t.reward == SUCCESS_REWARD for t in trajs), n)) if n else None,
        "avg_steps": sum(t.num_steps for t in trajs) / n if n else 0.0,
        "parse_rate": sum(s.action is not None for s in turns) / len(turns) if turns else 0.0,
        "end_reasons": dict(sorted(Counter(t.end_reason for t in trajs).items())),
    }
    if select not in ("mean", "best"):
        raise ValueError(f"select must be 'mean' or 'best', got {select!r}")
    if n and (select == "best" or max(t.sample_index for t in trajs) > 0):
        summary.update(several_samples(trajs, select))
    return summary


def best_per_task(trajs: list[Trajectory]) -> dict[str, Trajectory]:
    """Each task's highest-reward episode (lowest sample index on ties), by task id."""
    best: dict[str, Trajectory] = {}
    for t in sorted(trajs, key=lambda t: t.sample_index):
        if t.task.id not in best or t.reward > best[t.task.id].reward:
            best[t.task.id] = t
    return best


def several_samples(trajs: list[Trajectory], select: str) -> dict[str, Any]:
    """Fields of an evaluation with several samples per task: best-of-N (the environment reward picks
    each task's best sample: an oracle no deployed agent has) and mean-of-N, both x100 over tasks.
    With select "best", avg_reward, its CI and the success rate are the best-of-N ones."""
    best = list(best_per_task(trajs).values())
    rewards = [t.reward for t in best]
    fields: dict[str, Any] = {
        "tasks": len(best),
        "samples_per_task": max(t.sample_index for t in trajs) + 1,
        "best_of_n": 100.0 * sum(rewards) / len(rewards),
        "mean_of_n": 100.0 * sum(t.reward for t in trajs) / len(trajs),
        "selection": select,
    }
    if select == "best":
        wins = sum(r == SUCCESS_REWARD for r in rewards)
        fields.update(
            avg_reward=fields["best_of_n"],
            avg_reward_ci=[100.0 * x for x in mean_ci(rewards)],
            success_rate=wins / len(rewards),
            success_ci=list(wilson_ci(wins, len(rewards))),
            oracle="best sample per task chosen by the environment reward",
        )
    return fields


def mean_ci(
    values: Sequence[float], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the mean (seeded, so a summary is reproducible)."""
    if not values:
        raise ValueError("mean_ci needs at least one value")
    rng, n = random.Random(seed), len(values)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(resamples))
    tail = (1.0 - level) / 2
    return means[int(tail * resamples)], means[min(resamples - 1, int((1.0 - tail) * resamples))]


def paired_diff_ci(
    a: dict[str, float], b: dict[str, float], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float, int]:
    """Mean of a - b over the keys (episodes) both have, with its bootstrap CI: (mean, lo, hi, n)."""
    keys = sorted(set(a) & set(b))
    if not keys:
        raise ValueError("paired_diff_ci: no common episode")
    diffs = [a[k] - b[k] for k in keys]
    lo, hi = mean_ci(diffs, level, resamples, seed)
    return sum(diffs) / len(diffs), lo, hi, len(diffs)


def wilson_ci(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a success rate (95 % for the default z); stays inside [0, 1]."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"wilson_ci needs 0 <= successes <= n and n > 0, got {successes}/{n}")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
