"""PNG plots of a run: failure rewards, hard-negative share, collapse check, diversity and costs.

Figures are built with `matplotlib.figure.Figure` (no pyplot global state) on the Agg backend, so
plotting works headless and inside tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402 - after choosing the backend

from coevolve.evaluation.analysis import AgentStats  # noqa: E402

AGENT_STYLE = {"target": "-o", "failure": "--s"}


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def _series(stats: list[AgentStats], value: Callable[[AgentStats], float | None]):
    """(env, agent) -> (iterations, values), skipping iterations without a value."""
    lines: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
    for s in stats:
        v = value(s)
        if v is not None:
            xs, ys = lines.setdefault((s.env, s.agent), ([], []))
            xs.append(s.iteration)
            ys.append(v)
    return lines


def _line_plot(ax, stats: list[AgentStats], value, ylabel: str) -> None:
    for (env, agent), (xs, ys) in sorted(_series(stats, value).items()):
        ax.plot(xs, ys, AGENT_STYLE.get(agent, "-^"), label=f"{env} {agent}")
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")


def plot_failure_rewards(stats: list[AgentStats], path: Path) -> Path:
    """One panel per (env, agent): reward histogram of its failures, one step line per iteration."""
    panels = sorted({(s.env, s.agent) for s in stats})
    fig = Figure(figsize=(5 * max(1, len(panels)), 3.6))
    axes = fig.subplots(1, max(1, len(panels)), squeeze=False)[0]
    for ax, (env, agent) in zip(axes, panels, strict=False):
        for s in sorted((s for s in stats if (s.env, s.agent) == (env, agent)), key=lambda s: s.iteration):
            bins = len(s.histogram)
            edges = [i / bins for i in range(bins + 1)]
            ax.stairs(s.histogram, edges, label=f"iter {s.iteration} ({len(s.failure_rewards)})")
        ax.axvline(0.6, color="grey", linestyle=":", label="hard negative >= 0.6")
        ax.set_title(f"{env}: failures of the {agent} agent")
        ax.set_xlabel("reward")
        ax.set_ylabel("failures")
        ax.legend(fontsize="small")
    return _save(fig, path)


def plot_hard_negative_share(stats: list[AgentStats], path: Path) -> Path:
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    _line_plot(
        ax,
        stats,
        lambda s: None if s.hard_negative_share is None else 100 * s.hard_negative_share,
        "% hard negatives (0.6 <= r < 1)",
    )
    ax.set_title("Hard-negative share of rollouts")
    return _save(fig, path)


def plot_success_rates(stats: list[AgentStats], path: Path) -> Path:
    """Collapse check: the failure agent's success rate against the target's."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    _line_plot(
        ax, stats, lambda s: None if s.success_rate is None else 100 * s.success_rate, "% success (r = 1)"
    )
    ax.set_title("Success rate on training tasks: failure agent vs target")
    return _save(fig, path)


def plot_diversity(stats: list[AgentStats], path: Path) -> Path:
    fig = Figure(figsize=(11, 4))
    left, right = fig.subplots(1, 2)
    _line_plot(left, stats, lambda s: s.diversity.distinct_share, "distinct action sequences / failures")
    _line_plot(right, stats, lambda s: s.diversity.edit_distance, "mean normalised edit distance")
    left.set_title("Failure diversity: distinct sequences")
    right.set_title("Failure diversity: edit distance")
    return _save(fig, path)


def plot_costs(costs: list[dict[str, Any]], path: Path) -> Path:
    """Per stage: wall-clock hours, generated/processed tokens and CPU or GPU hours."""
    stages = [c["stage"] for c in costs]
    hours = [c["seconds"] / 3600 for c in costs]
    device_hours = [c["seconds"] * max(1, c.get("gpus", 0) or 0) / 3600 for c in costs]
    colours = ["tab:green" if c.get("device") == "cuda" else "tab:blue" for c in costs]
    fig = Figure(figsize=(max(8, 0.6 * len(stages) + 4), 9))
    axes = fig.subplots(3, 1, sharex=True)
    axes[0].bar(stages, hours, color="tab:grey")
    axes[0].set_ylabel("wall hours")
    axes[1].bar(stages, [c.get("tokens", 0) for c in costs], color="tab:orange")
    axes[1].set_ylabel("tokens")
    axes[2].bar(stages, device_hours, color=colours)
    axes[2].set_ylabel("device hours\n(green GPU, blue CPU)")
    axes[2].tick_params(axis="x", labelrotation=60)
    axes[0].set_title("Cost per stage")
    return _save(fig, path)
