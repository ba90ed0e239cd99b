"""Report sections that show whether the agents learn: evaluation with confidence intervals, paired
differences between runs on the same episodes, and per-iteration failure statistics.

- `ci_table`: per run and evaluation column, avg reward x100 with its 95 % bootstrap CI, the success rate
  with its 95 % Wilson interval, and the number of episodes (from `summary.json`; older summaries
  without intervals show "–").
- `paired_table`: for runs evaluated on the same tasks (a comparison from one SFT model), the mean
  per-episode reward difference (x100) of each later run minus each earlier one, with a paired bootstrap
  CI over the common episodes (read from `episodes.jsonl`).
- `failure_table`: per iteration, benchmark and agent, the agent's failures on the training tasks, the
  hard negatives among them (0.6 <= r < 1), the histogram of failure rewards (10 bins over [0, 1)),
  and the pairs built that iteration for that benchmark: the second agent's set (failure-vs-failure
  pairs for the failure agent) and the target's set.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from coevolve.data.jsonl import trajectory_file
from coevolve.data.records import PreferencePair, Trajectory
from coevolve.evaluation.analysis import failure_histogram
from coevolve.evaluation.summary import paired_diff_ci
from coevolve.pairs import has_reward, is_failure, is_hard_negative
from coevolve.pipeline.layout import RunLayout


def _md(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _interval(values: Any, scale: float = 1.0, digits: int = 1) -> str:
    if not isinstance(values, (list, tuple)) or len(values) != 2:
        return "–"
    lo, hi = (scale * float(v) for v in values)
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def ci_cell(summary: dict[str, Any] | None) -> str:
    """'avg [lo, hi] · success% [lo, hi] · n=N' of one evaluation summary."""
    if summary is None:
        return "–"
    avg = f"{float(summary['avg_reward']):.1f} {_interval(summary.get('avg_reward_ci'))}"
    success = summary.get("success_rate")
    rate = (
        "–"
        if success is None
        else f"{100 * float(success):.0f}% {_interval(summary.get('success_ci'), 100, 0)}"
    )
    return f"{avg} · {rate} · n={summary.get('episodes', '?')}"


def last_evals(evals: dict[int, dict[tuple[str, str], dict[str, Any]]]) -> tuple[int | None, dict]:
    if not evals:
        return None, {}
    last = max(evals)
    return last, evals[last]


def ci_table(runs: list[Any], columns: tuple[tuple[str, str, str], ...]) -> str | None:
    """One row per run: its last evaluated iteration, each column with CIs and success rate."""
    used = [c for c in columns if any((c[1], c[2]) in last_evals(r.evals)[1] for r in runs)]
    if not used:
        return None
    rows = []
    for run in runs:
        k, summaries = last_evals(run.evals)
        rows.append(
            [run.method, "–" if k is None else str(k), *[ci_cell(summaries.get((e, s))) for _, e, s in used]]
        )
    return _md(["Method", "Iter", *[c for c, _, _ in used]], rows)


# ------------------------------------------------------------------ paired differences


def episode_rewards(run_dir: Path, k: int, env: str, split: str) -> dict[str, float]:
    """Task id (and sample) -> reward of one evaluation's episodes; {} when the file is absent."""
    path = RunLayout(run_dir).eval_episodes(k, env, split)
    if not path.exists():
        return {}
    return {f"{t.task.id}#{t.sample_index}": t.reward for t in trajectory_file(path).read()}


def paired_rows(runs: list[Any], columns: tuple[tuple[str, str, str], ...]) -> list[list[str]]:
    rows = []
    for j, later in enumerate(runs):
        for earlier in runs[:j]:
            cells, any_pair = [], False
            for _, env, split in columns:
                a = _rewards(later, env, split)
                b = _rewards(earlier, env, split)
                if not (set(a) & set(b)):
                    cells.append("–")
                    continue
                mean, lo, hi, n = paired_diff_ci(a, b)
                cells.append(f"{100 * mean:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] (n={n})")
                any_pair = True
            if any_pair:
                rows.append([f"{later.method} − {earlier.method}", *cells])
    return rows


def _rewards(run: Any, env: str, split: str) -> dict[str, float]:
    k, summaries = last_evals(run.evals)
    if k is None or (env, split) not in summaries:
        return {}
    rewards = episode_rewards(run.path, k, env, split)
    if summaries[(env, split)].get("selection") == "best":  # best-of-n: a task's best sample is its score
        best: dict[str, float] = {}
        for key, reward in rewards.items():
            task = key.rsplit("#", 1)[0] + "#0"
            best[task] = max(reward, best.get(task, reward))
        return best
    return rewards


def paired_table(runs: list[Any], columns: tuple[tuple[str, str, str], ...]) -> str | None:
    """Later run minus earlier run, per column, on the episodes both evaluated (x100, 95 % CI)."""
    rows = paired_rows(runs, columns)
    if not rows:
        return None
    return _md(["Difference", *[c for c, _, _ in columns]], rows)


# ------------------------------------------------------------------ failures per iteration


def failure_row(trajs: list[Trajectory]) -> tuple[int, int, list[int]]:
    """(failures, hard negatives among them, 10-bin histogram of failure rewards)."""
    rewards = [t.reward for t in trajs if has_reward(t) and is_failure(t)]
    return len(rewards), sum(is_hard_negative(r) for r in rewards), failure_histogram(rewards)


def pair_counts(pairs: dict[tuple[int, str], list[PreferencePair]]) -> Counter:
    """(iteration, set name, env) -> number of pairs."""
    counts: Counter = Counter()
    for (k, name), items in pairs.items():
        for pair in items:
            counts[(k, name, pair.env)] += 1
    return counts


def failure_table(run: Any) -> str | None:
    if not run.rollouts:
        return None
    counts = pair_counts(run.pairs)
    rows = []
    for (k, env, agent), trajs in sorted(run.rollouts.items()):
        failures, hard, hist = failure_row(trajs)
        share = "–" if not failures else f"{100 * hard / failures:.0f}%"
        rows.append(
            [str(k), env, agent, str(len(trajs)), str(failures), f"{hard} ({share})", " ".join(map(str, hist)),
             str(counts.get((k, "aux", env), 0)), str(counts.get((k, "target", env), 0))]
        )  # fmt: skip
    headers = [
        "Iter", "Env", "Agent", "Episodes", "Failures (r < 1)", "Hard negatives (0.6 <= r < 1)",
        "Failure rewards, 10 bins over [0, 1)", "Second-agent pairs", "Target pairs",
    ]  # fmt: skip
    return _md(headers, rows)
