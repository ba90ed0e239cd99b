"""Hard-negative analysis of rollouts, per agent and iteration (method.md §7-8).

Reported per (iteration, env, agent): success rate, the reward histogram of failures, the paper's
trajectory composition (success r = 1 / failure r < 0.6 / hard negative 0.6 <= r < 1, as % of scored
episodes) and two diversity measures of failures (collapse checks for the failure agent):

- `distinct_share`: distinct action sequences / failures. Sequences are compared whole (an unparsable
  turn counts as the action "<invalid>"), so one repeated behaviour pushes the share toward 0.
- `edit_distance`: mean normalised Levenshtein distance between action sequences, each action one
  symbol, divided by the longer length (0 = identical, 1 = nothing in common). When some task has
  two or more failures (several samples per task) it is the mean over pairs of failures of the SAME
  task (`edit_mode = "within_task"`). With one sample per task it compares failures of DIFFERENT
  tasks (`"across_tasks"`) on action verbs only (`search[...]` -> `search`, `SELECT ...` -> `select`),
  because the arguments differ by task anyway. At most `max_pairs` pairs are drawn (seeded) so the
  cost stays bounded.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein

from coevolve.data.records import Trajectory
from coevolve.pairs import HARD_NEGATIVE_MIN, has_reward, is_failure, is_hard_negative, is_success

INVALID_ACTION = "<invalid>"
_VERB = re.compile(r"[^\s\[(:]+")


@dataclass
class Diversity:
    failures: int = 0
    distinct_share: float | None = None
    edit_distance: float | None = None
    edit_mode: str | None = None  # "within_task" | "across_tasks" | None (fewer than 2 failures)
    pairs: int = 0


@dataclass
class AgentStats:
    """Analysis of one agent's rollouts in one iteration and environment."""

    iteration: int
    env: str
    agent: str
    episodes: int
    scored: int
    success_rate: float | None
    failure_share: float | None  # r < 0.6, share of scored episodes
    hard_negative_share: float | None  # 0.6 <= r < 1, share of scored episodes
    failure_rewards: list[float] = field(default_factory=list)
    histogram: list[int] = field(default_factory=list)
    diversity: Diversity = field(default_factory=Diversity)

    def composition(self) -> dict[str, float | None]:
        """The paper's Table 2 row, in percent."""
        pct = lambda x: None if x is None else 100.0 * x  # noqa: E731
        return {
            "success": pct(self.success_rate),
            "failure": pct(self.failure_share),
            "hard_negative": pct(self.hard_negative_share),
        }


# ------------------------------------------------------------------ rewards


def _pct(share: float | None) -> float | None:
    return None if share is None else 100.0 * share


def _share(count: int, total: int) -> float | None:
    return count / total if total else None


def failure_histogram(rewards: Iterable[float], bins: int = 10) -> list[int]:
    """Counts of failure rewards in `bins` equal bins over [0, 1); values outside are clipped."""
    counts = [0] * bins
    for reward in rewards:
        counts[min(bins - 1, max(0, int(reward * bins)))] += 1
    return counts


# ------------------------------------------------------------------ diversity


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between two sequences (each element one symbol; rapidfuzz)."""
    return Levenshtein.distance(list(a), list(b))


def normalised_edit_distance(a: Sequence[str], b: Sequence[str]) -> float:
    longest = max(len(a), len(b))
    return edit_distance(a, b) / longest if longest else 0.0


def action_sequence(traj: Trajectory) -> tuple[str, ...]:
    return tuple(a if a is not None else INVALID_ACTION for a in traj.actions)


def action_verb(action: str) -> str:
    match = _VERB.match(action.strip())
    return match.group(0).lower() if match else action


def _within_task_pairs(failures: list[Trajectory]) -> list[tuple[int, int]]:
    groups: dict[tuple[str, str], list[int]] = {}
    for i, traj in enumerate(failures):
        groups.setdefault((traj.task.env, traj.task.id), []).append(i)
    return [(a, b) for idx in groups.values() for n, a in enumerate(idx) for b in idx[n + 1 :]]


def _any_pairs(n: int, max_pairs: int, rng: random.Random) -> list[tuple[int, int]]:
    if n * (n - 1) // 2 <= max_pairs:
        return [(i, j) for i in range(n) for j in range(i + 1, n)]
    return [tuple(rng.sample(range(n), 2)) for _ in range(max_pairs)]


def failure_diversity(failures: list[Trajectory], max_pairs: int = 2000, seed: int = 0) -> Diversity:
    """Distinct-sequence share and mean normalised edit distance of failures (see module doc)."""
    seqs = [action_sequence(t) for t in failures]
    result = Diversity(failures=len(seqs), distinct_share=_share(len(set(seqs)), len(seqs)))
    if len(seqs) < 2:
        return result
    rng = random.Random(seed)
    chosen = _within_task_pairs(failures)
    if chosen:
        result.edit_mode = "within_task"
        chosen = chosen if len(chosen) <= max_pairs else rng.sample(chosen, max_pairs)
    else:
        result.edit_mode = "across_tasks"
        chosen = _any_pairs(len(seqs), max_pairs, rng)
        seqs = [tuple(action_verb(a) for a in s) for s in seqs]
    dists = [normalised_edit_distance(seqs[i], seqs[j]) for i, j in chosen]
    result.edit_distance, result.pairs = sum(dists) / len(dists), len(dists)
    return result


# ------------------------------------------------------------------ per agent and iteration


def agent_stats(iteration: int, env: str, agent: str, trajs: list[Trajectory], bins: int = 10) -> AgentStats:
    scored = [t for t in trajs if has_reward(t)]
    failures = [t for t in scored if is_failure(t)]
    rewards = [t.reward for t in failures]
    return AgentStats(
        iteration=iteration,
        env=env,
        agent=agent,
        episodes=len(trajs),
        scored=len(scored),
        success_rate=_share(sum(is_success(t) for t in scored), len(scored)),
        failure_share=_share(sum(r < HARD_NEGATIVE_MIN for r in rewards), len(scored)),
        hard_negative_share=_share(sum(is_hard_negative(r) for r in rewards), len(scored)),
        failure_rewards=rewards,
        histogram=failure_histogram(rewards, bins),
        diversity=failure_diversity(failures),
    )


def analyze_rollouts(rollouts: dict[tuple[int, str, str], list[Trajectory]]) -> list[AgentStats]:
    """Stats for every (iteration, env, agent) key, sorted by iteration, env, then agent."""
    return [agent_stats(k, env, agent, trajs) for (k, env, agent), trajs in sorted(rollouts.items())]
