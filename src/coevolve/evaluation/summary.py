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
    return {
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
