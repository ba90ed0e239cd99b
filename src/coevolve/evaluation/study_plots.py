"""PNG plots of a study report (evaluation/study.py): per-method means with CIs, learning curves, hard
negatives per iteration.

Project code. Built with `matplotlib.figure.Figure` on the Agg backend (headless), as evaluation/plots.py.
Each function takes the report's JSON-ready dict and returns the PNG path, or None when there is nothing
to plot yet (a study whose first seed has not finished).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coevolve.evaluation.plots import Figure, _save  # plots.py chose the Agg backend


def plot_means(report: dict[str, Any], path: Path) -> Path | None:
    """One panel per column: each method's mean over seeds with its t-interval, and the per-seed values."""
    columns = [c["title"] for c in report["columns"]]
    rows = {(r["method"], r["column"]): r["avg_reward"] for r in report["results"]}
    if not any(v["n"] for v in rows.values()):
        return None
    fig = Figure(figsize=(4 * len(columns), 3.5))
    for i, column in enumerate(columns):
        ax = fig.add_subplot(1, len(columns), i + 1)
        for x, method in enumerate(report["methods"]):
            avg = rows[(method, column)]
            if avg["mean"] is None:
                continue
            lo, hi = avg["ci"] or (avg["mean"], avg["mean"])
            ax.errorbar([x], [avg["mean"]], yerr=[[avg["mean"] - lo], [hi - avg["mean"]]], fmt="o", capsize=4)
            ax.scatter(
                [x] * len(avg["per_seed"]), list(avg["per_seed"].values()), s=12, alpha=0.5, color="grey"
            )
        ax.set_xticks(range(len(report["methods"])), report["methods"])
        ax.set_title(column)
        ax.set_ylabel("avg reward x100")
    return _save(fig, path)


def plot_curves(report: dict[str, Any], path: Path) -> Path | None:
    """One panel per column: each method's mean over seeds per evaluated iteration with its t-interval;
    None unless some method was evaluated at an intermediate iteration (see `study.has_intermediate`)."""
    from coevolve.evaluation.study import has_intermediate

    curves = report.get("curves", [])
    if not has_intermediate(curves):
        return None
    columns = [c["title"] for c in report["columns"]]
    fig = Figure(figsize=(4 * len(columns), 3.5))
    for i, column in enumerate(columns):
        ax = fig.add_subplot(1, len(columns), i + 1)
        for j, method in enumerate(report["methods"]):
            points = sorted(((r["iteration"], r["avg_reward"]) for r in curves
                             if r["method"] == method and r["column"] == column), key=lambda p: p[0])  # fmt: skip
            if len(points) < 2:
                continue
            shift = 0.04 * (j - (len(report["methods"]) - 1) / 2)  # methods side by side at each iteration
            ks, means = [k + shift for k, _ in points], [a["mean"] for _, a in points]
            lows = [m - (a["ci"] or (m, m))[0] for m, (_, a) in zip(means, points, strict=True)]
            highs = [(a["ci"] or (m, m))[1] - m for m, (_, a) in zip(means, points, strict=True)]
            ax.errorbar(ks, means, yerr=[lows, highs], fmt="-o", capsize=3, label=method)
        ax.set_xticks(sorted({r["iteration"] for r in curves}))
        ax.set_xlabel("iteration (0 = SFT)")
        ax.set_title(column)
        ax.set_ylabel("avg reward x100")
        ax.legend(fontsize="small")
    return _save(fig, path)


def plot_hard_negatives(report: dict[str, Any], path: Path) -> Path | None:
    """Hard negatives (0.6 <= r < 1) per iteration, mean over finished seeds, one line per method and agent."""
    sums: dict[tuple[str, str], dict[int, dict[int, int]]] = {}  # (method, agent) -> k -> seed -> count
    for r in report["rollouts"]:  # summed over benchmarks within a seed
        per_seed = sums.setdefault((r["method"], r["agent"]), {}).setdefault(r["iteration"], {})
        per_seed[r["seed"]] = per_seed.get(r["seed"], 0) + r["hard_negatives"]
    if not sums:
        return None
    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot(1, 1, 1)
    for (method, agent), by_k in sorted(sums.items()):
        ks = sorted(by_k)
        means = [sum(by_k[k].values()) / len(by_k[k]) for k in ks]
        ax.plot(ks, means, "-o", label=f"{method} {agent}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("hard negatives (mean over seeds)")
    ax.legend(fontsize="small")
    return _save(fig, path)
