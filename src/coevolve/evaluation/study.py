"""The study report: sft vs eto vs coevolve over seeds, with confidence intervals and data statistics.

Project code (issue 13). Reads a study folder (pipeline/study.py: OUT/seed{N}/{method}/ run dirs) and
writes OUT/report/study.md, study.json and PNG plots; prints the main table. Only finished runs count
(their last evaluation eval/iter{K} is done); a seed whose runs are not all finished shows as missing,
and the report says how many seeds finished, so a running study can be read.

- Results: per method and evaluation column, the mean over seeds of avg reward x100 with a 95 % t-interval
  across seeds (mean ± t(0.975, n-1)·s/√n, s the sample standard deviation of the per-seed values; with
  3 seeds a bootstrap over seeds would only ever draw from 3 values), the per-seed values and the success
  rate (mean over seeds, per seed).
- Paired differences A − B per seed and column: the mean per-episode difference on the episodes both
  evaluated (same tasks) with its paired bootstrap CI (evaluation/summary.py `paired_diff_ci`), and the
  mean over seeds of those per-seed differences with its t-interval.
- Data statistics per seed, method, iteration and agent: episodes, successes (r = 1), failures (r < 1),
  hard negatives (0.6 <= r < 1, `pairs.is_hard_negative`), failure diversity (evaluation/analysis.py:
  share of distinct action sequences among failures, mean normalised edit distance and its mode);
  pairs per set and kind with the number whose rejected side is a hard negative.
- Per task type (columns whose evaluation tasks have two or more types, `experts.task_type`: a task's
  `task_type` or `task_name` meta): avg reward x100 per seed and the mean over seeds with its
  t-interval, to show where two methods differ.
- Learning curves (when a method was evaluated after an intermediate iteration, `eval_every_iteration`):
  per method, column and evaluated iteration, avg reward x100 per seed and the mean over seeds with its
  t-interval; iteration 0 is the seed's SFT model, the start of every method (its `eval/iter0`).
- Wall time per stage kind (experts, sft, explore, aux_pairs, train_aux, target_pairs, train_target,
  eval, ...) from each run's costs.json, per seed and method.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from coevolve.data.jsonl import trajectory_file
from coevolve.evaluation import learning
from coevolve.evaluation.analysis import agent_stats
from coevolve.evaluation.report import RunData, load_run, markdown_table, report_columns
from coevolve.evaluation.summary import paired_diff_ci
from coevolve.experts import task_type
from coevolve.pairs import has_reward, is_failure, is_hard_negative, is_success
from coevolve.pipeline.config import RunConfig
from coevolve.pipeline.layout import RunLayout
from coevolve.pipeline.study import StudyConfig, StudyLayout, recorded_seconds, run_finished

INTERVAL = "95 % t-interval across seeds: mean ± t(0.975, n−1)·s/√n"
Column = tuple[str, str, str]  # (title, env, split)


# ------------------------------------------------------------------ statistics


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float | None, float | None]:
    """(mean, lo, hi) of the Student t confidence interval of the mean; no interval below 2 values."""
    if not values:
        raise ValueError("t_interval needs at least one value")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None, None
    from scipy.stats import t  # imported here: scipy.stats takes a second to import

    half = float(t.ppf(0.5 + level / 2, len(values) - 1)) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def interval_dict(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "mean": None, "ci": None}
    mean, lo, hi = t_interval(values)
    return {"n": len(values), "mean": mean, "ci": None if lo is None else [lo, hi]}


# ------------------------------------------------------------------ loading


@dataclass
class StudyRuns:
    """The finished runs of a study, by seed and method, and the seeds whose runs all finished."""

    study: StudyConfig
    runs: dict[int, dict[str, RunData]] = field(default_factory=dict)
    finished: list[int] = field(default_factory=list)
    seconds: dict[int, float] = field(default_factory=dict)  # recorded compute per seed (costs.json)

    def all_runs(self) -> list[RunData]:
        return [r for by_method in self.runs.values() for r in by_method.values()]


def load_study_runs(out: Path, study: StudyConfig, configs: dict[int, dict[str, RunConfig]]) -> StudyRuns:
    layout, loaded = StudyLayout(out), StudyRuns(study)
    for seed, by_method in configs.items():
        loaded.runs[seed] = {
            m: load_run(layout.run(seed, m).root)
            for m, config in by_method.items()
            if run_finished(layout.run(seed, m).root, config)
        }
        if len(loaded.runs[seed]) == len(by_method):
            loaded.finished.append(seed)
        loaded.seconds[seed] = recorded_seconds(out, seed, list(by_method))
    return loaded


def evaluated_columns(runs: list[RunData]) -> list[Column]:
    """The benchmark columns (report order) that some run evaluated, then evaluations of an env without
    a registered description ("env split")."""
    seen = {key for run in runs for summaries in run.evals.values() for key in summaries}
    known = [c for c in report_columns(runs) if (c[1], c[2]) in seen]
    named = {(env, split) for _, env, split in known}
    return known + [(f"{env} {split}", env, split) for env, split in sorted(seen - named)]


def final_summary(run: RunData, env: str, split: str) -> dict[str, Any] | None:
    return learning.last_evals(run.evals)[1].get((env, split))


# ------------------------------------------------------------------ results and differences


def results(loaded: StudyRuns, columns: list[Column]) -> list[dict[str, Any]]:
    """Per method and column: per-seed avg reward x100 and success rate, means with t-intervals."""
    rows = []
    for method in loaded.study.order():
        for title, env, split in columns:
            reward, success = {}, {}
            for seed in loaded.study.seeds:
                run = loaded.runs.get(seed, {}).get(method)
                summary = None if run is None else final_summary(run, env, split)
                if summary is not None:
                    reward[seed] = float(summary["avg_reward"])
                    success[seed] = 100.0 * float(summary.get("success_rate", 0.0))
            rows.append(
                {"method": method, "column": title, "env": env, "split": split,
                 "avg_reward": {**interval_dict(list(reward.values())), "per_seed": reward},
                 "success_rate": {**interval_dict(list(success.values())), "per_seed": success}}
            )  # fmt: skip
    return rows


def seed_difference(a: RunData, b: RunData, env: str, split: str) -> dict[str, Any] | None:
    """A - B x100 on the episodes both evaluated, with its paired bootstrap CI; None without common ones."""
    ra, rb = learning._rewards(a, env, split), learning._rewards(b, env, split)  # best-of-n aware
    if not set(ra) & set(rb):
        return None
    mean, lo, hi, n = paired_diff_ci(ra, rb)
    return {"mean": 100 * mean, "ci": [100 * lo, 100 * hi], "episodes": n}


def differences(loaded: StudyRuns, columns: list[Column]) -> list[dict[str, Any]]:
    """Per (A, B) and column: A - B per seed (paired bootstrap CI) and the mean over seeds (t-interval)."""
    rows = []
    for a, b in loaded.study.pairs():
        for title, env, split in columns:
            per_seed = {}
            for seed in loaded.study.seeds:
                runs = loaded.runs.get(seed, {})
                if a in runs and b in runs:
                    diff = seed_difference(runs[a], runs[b], env, split)
                    if diff is not None:
                        per_seed[seed] = diff
            means = [d["mean"] for d in per_seed.values()]
            rows.append({"difference": f"{a} − {b}", "a": a, "b": b, "column": title, "env": env,
                         "split": split, "per_seed": per_seed, "over_seeds": interval_dict(means)})  # fmt: skip
    return rows


def type_rewards(run: RunData, env: str, split: str) -> dict[str, list[float]]:
    """Task type -> rewards of the run's final evaluation episodes (best-of-n: a task's best sample)."""
    k, _ = learning.last_evals(run.evals)
    path = None if k is None else RunLayout(run.path).eval_episodes(k, env, split)
    if path is None or not path.exists():
        return {}
    kinds = {t.task.id: task_type(t.task) for t in trajectory_file(path).read()}
    grouped: dict[str, list[float]] = {}
    for key, reward in learning._rewards(run, env, split).items():
        grouped.setdefault(kinds[key.rsplit("#", 1)[0]], []).append(reward)
    return grouped


def task_type_rows(loaded: StudyRuns, columns: list[Column]) -> list[dict[str, Any]]:
    """Per method, column and task type: avg reward x100 per seed, mean over seeds with its t-interval;
    only columns whose episodes have two or more task types."""
    rows = []
    for method in loaded.study.order():
        for title, env, split in columns:
            per_type: dict[str, dict[int, list[float]]] = {}
            for seed in loaded.study.seeds:
                run = loaded.runs.get(seed, {}).get(method)
                for kind, rewards in (type_rewards(run, env, split) if run else {}).items():
                    per_type.setdefault(kind, {})[seed] = rewards
            if len(per_type) < 2:
                continue
            for kind, by_seed in sorted(per_type.items()):
                means = {seed: 100 * statistics.fmean(r) for seed, r in by_seed.items()}
                rows.append({"method": method, "column": title, "env": env, "split": split, "task_type": kind,
                             "episodes": {seed: len(r) for seed, r in by_seed.items()},
                             "avg_reward": {**interval_dict(list(means.values())), "per_seed": means}})  # fmt: skip
    return rows


def _start_evals(by_method: dict[str, RunData]) -> dict[tuple[str, str], dict[str, Any]]:
    """The seed's iteration-0 evaluation (its SFT model, which every method of a comparison starts from)."""
    return next((run.evals[0] for run in by_method.values() if 0 in run.evals), {})


def curve_rows(loaded: StudyRuns, columns: list[Column]) -> list[dict[str, Any]]:
    """Per method, column and evaluated iteration (0 = the seed's SFT model): avg reward x100 per seed and
    the mean over seeds with its t-interval."""
    rows = []
    for method in loaded.study.order():
        for title, env, split in columns:
            by_k: dict[int, dict[int, float]] = {}
            for seed in loaded.study.seeds:
                by_method = loaded.runs.get(seed, {})
                if method not in by_method:
                    continue
                evals = {0: _start_evals(by_method), **by_method[method].evals}
                for k, summaries in evals.items():
                    if (env, split) in summaries:
                        by_k.setdefault(k, {})[seed] = float(summaries[(env, split)]["avg_reward"])
            rows += [{"method": method, "column": title, "env": env, "split": split, "iteration": k,
                      "avg_reward": {**interval_dict(list(v.values())), "per_seed": v}}
                     for k, v in sorted(by_k.items())]  # fmt: skip
    return rows


def has_intermediate(curves: list[dict[str, Any]]) -> bool:
    """Whether some method was evaluated between its start (iteration 0) and its last iteration."""
    ks: dict[tuple[str, str], set[int]] = {}
    for r in curves:
        ks.setdefault((r["method"], r["column"]), set()).add(r["iteration"])
    return any(len(v - {0, max(v)}) > 0 for v in ks.values())


# ------------------------------------------------------------------ data statistics


def rollout_rows(loaded: StudyRuns) -> list[dict[str, Any]]:
    """Per seed, method, iteration, env and agent: successes, failures, hard negatives, diversity."""
    rows = []
    for seed, by_method in sorted(loaded.runs.items()):
        for method, run in by_method.items():
            for (k, env, agent), trajs in sorted(run.rollouts.items()):
                scored = [t for t in trajs if has_reward(t)]
                failures = [t for t in scored if is_failure(t)]
                diversity = agent_stats(k, env, agent, trajs).diversity
                rows.append(
                    {"seed": seed, "method": method, "iteration": k, "env": env, "agent": agent,
                     "episodes": len(trajs), "successes": sum(is_success(t) for t in scored),
                     "failures": len(failures),
                     "hard_negatives": sum(is_hard_negative(t.reward) for t in failures),
                     "distinct_failure_share": diversity.distinct_share,
                     "edit_distance": diversity.edit_distance, "edit_mode": diversity.edit_mode}
                )  # fmt: skip
    return rows


def pair_rows(loaded: StudyRuns) -> list[dict[str, Any]]:
    """Per seed, method, iteration and pair set (aux: the second agent's, target): pairs by kind."""
    rows = []
    for seed, by_method in sorted(loaded.runs.items()):
        for method, run in by_method.items():
            for (k, name), pairs in sorted(run.pairs.items()):
                rows.append(
                    {"seed": seed, "method": method, "iteration": k, "set": name, "pairs": len(pairs),
                     "by_kind": dict(sorted(Counter(p.kind for p in pairs).items())),
                     "hard_negative_rejects": sum(is_hard_negative(p.rejected_reward) for p in pairs)}
                )  # fmt: skip
    return rows


def stage_kind(stage: str) -> str:
    """`eval/iter2` -> eval, `iter1/train_aux` -> train_aux, `sft` -> sft."""
    return "eval" if stage.startswith("eval/") else stage.rsplit("/", 1)[-1]


def stage_rows(loaded: StudyRuns) -> list[dict[str, Any]]:
    """Per seed and method: seconds per stage kind (costs.json, summed over iterations and attempts)."""
    rows = []
    for seed, by_method in sorted(loaded.runs.items()):
        for method, run in by_method.items():
            seconds: dict[str, float] = {}
            for cost in run.costs:
                kind = stage_kind(cost["stage"])
                seconds[kind] = seconds.get(kind, 0.0) + float(cost["seconds"])
            rows.append({"seed": seed, "method": method, "seconds": seconds, "total": sum(seconds.values())})
    return rows


# ------------------------------------------------------------------ the report


def study_report(loaded: StudyRuns) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data (study.json)."""
    columns = evaluated_columns(loaded.all_runs())
    return {
        "seeds": loaded.study.seeds,
        "methods": loaded.study.order(),
        "finished_seeds": loaded.finished,
        "interval": INTERVAL,
        "paired_interval": "95 % paired bootstrap CI over common evaluation episodes (2000 resamples)",
        "columns": [{"title": t, "env": e, "split": s} for t, e, s in columns],
        "results": results(loaded, columns),
        "differences": differences(loaded, columns),
        "task_types": task_type_rows(loaded, columns),
        "curves": curve_rows(loaded, columns),
        "rollouts": rollout_rows(loaded),
        "pairs": pair_rows(loaded),
        "stage_seconds": stage_rows(loaded),
        "recorded_seconds": {str(s): v for s, v in loaded.seconds.items()},
    }


def _num(value: float | None, digits: int = 1, sign: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _ci(ci: list[float] | None, sign: bool = False) -> str:
    return "–" if not ci else f"[{_num(ci[0], sign=sign)}, {_num(ci[1], sign=sign)}]"


def results_markdown(report: dict[str, Any]) -> str:
    seeds = report["seeds"]
    headers = ["Method", "Column", "Mean", "95 % CI", "Seeds", *[f"seed {s}" for s in seeds],
               "Success % (mean, 95 % CI)", "Success % per seed"]  # fmt: skip
    rows = []
    for r in report["results"]:
        avg, win = r["avg_reward"], r["success_rate"]
        per_seed = [_num(avg["per_seed"].get(s)) for s in seeds]
        wins = " / ".join(_num(win["per_seed"].get(s), 0) for s in seeds)
        rows.append([r["method"], r["column"], _num(avg["mean"]), _ci(avg["ci"]), str(avg["n"]), *per_seed,
                     f"{_num(win['mean'], 0)} {_ci(win['ci'])}", wins])  # fmt: skip
    return markdown_table(headers, rows)


def _diff_cell(diff: dict[str, Any] | None) -> str:
    if diff is None:
        return "–"
    return f"{_num(diff['mean'], sign=True)} {_ci(diff['ci'], sign=True)} (n={diff['episodes']})"


def differences_markdown(report: dict[str, Any]) -> str:
    seeds = report["seeds"]
    headers = ["Difference", "Column", *[f"seed {s}" for s in seeds], "Mean over seeds", "95 % CI (t)"]
    rows = []
    for d in report["differences"]:
        over = d["over_seeds"]
        cells = [_diff_cell(d["per_seed"].get(s)) for s in seeds]
        rows.append(
            [d["difference"], d["column"], *cells, _num(over["mean"], sign=True), _ci(over["ci"], True)]
        )
    return markdown_table(headers, rows)


def task_types_markdown(report: dict[str, Any]) -> str | None:
    rows_in = report.get("task_types") or []
    if not rows_in:
        return None
    seeds = report["seeds"]
    headers = ["Method", "Column", "Task type", "Mean", "95 % CI", *[f"seed {s}" for s in seeds], "Episodes per seed"]
    rows = []
    for r in rows_in:
        avg = r["avg_reward"]
        episodes = " / ".join(str(r["episodes"].get(s, "–")) for s in seeds)
        rows.append([r["method"], r["column"], r["task_type"], _num(avg["mean"]), _ci(avg["ci"]),
                     *[_num(avg["per_seed"].get(s)) for s in seeds], episodes])  # fmt: skip
    return markdown_table(headers, rows)


def curves_markdown(report: dict[str, Any]) -> str | None:
    """Method x column rows, one cell per evaluated iteration; None without an intermediate evaluation."""
    curves = report.get("curves", [])
    if not has_intermediate(curves):
        return None
    ks = sorted({r["iteration"] for r in curves})
    cells = {(r["method"], r["column"], r["iteration"]): r["avg_reward"] for r in curves}
    rows = []
    for method in report["methods"]:
        for column in [c["title"] for c in report["columns"]]:
            got = [cells.get((method, column, k)) for k in ks]
            if sum(g is not None for g in got) < 2:
                continue
            rows.append([method, column, *["–" if g is None else
                                           f"{_num(g['mean'])} {_ci(g['ci'])} ({g['n']})" for g in got]])  # fmt: skip
    return markdown_table(["Method", "Column", *[f"iter {k}" for k in ks]], rows)


def rollouts_markdown(report: dict[str, Any]) -> str:
    headers = ["Seed", "Method", "Iter", "Env", "Agent", "Episodes", "Successes", "Failures",
               "Hard negatives (0.6 <= r < 1)", "Distinct failures %", "Edit distance"]  # fmt: skip
    rows = []
    for r in report["rollouts"]:
        share = r["distinct_failure_share"]
        edit = "–" if r["edit_distance"] is None else f"{r['edit_distance']:.3f} ({r['edit_mode']})"
        rows.append([str(r["seed"]), r["method"], str(r["iteration"]), r["env"], r["agent"], str(r["episodes"]),
                     str(r["successes"]), str(r["failures"]), str(r["hard_negatives"]),
                     _num(None if share is None else 100 * share), edit])  # fmt: skip
    return markdown_table(headers, rows)


def pairs_markdown(report: dict[str, Any]) -> str:
    headers = ["Seed", "Method", "Iter", "Set", "Pairs", "By kind", "Hard-negative rejects"]
    rows = [
        [str(r["seed"]), r["method"], str(r["iteration"]), r["set"], str(r["pairs"]),
         ", ".join(f"{k} {n}" for k, n in r["by_kind"].items()) or "–", str(r["hard_negative_rejects"])]
        for r in report["pairs"]
    ]  # fmt: skip
    return markdown_table(headers, rows)


def stages_markdown(report: dict[str, Any]) -> str:
    kinds = sorted({k for r in report["stage_seconds"] for k in r["seconds"]}, key=_stage_order)
    headers = ["Seed", "Method", *kinds, "Total"]
    rows = [
        [str(r["seed"]), r["method"], *[_minutes(r["seconds"].get(k)) for k in kinds], _minutes(r["total"])]
        for r in report["stage_seconds"]
    ]
    return markdown_table(headers, rows)


_STAGE_ORDER = ("experts", "sft", "explore", "reexplore_aux", "aux_pairs", "train_aux", "target_pairs",
                "train_target", "eval")  # fmt: skip


def _stage_order(kind: str) -> tuple[int, str]:
    return (_STAGE_ORDER.index(kind) if kind in _STAGE_ORDER else len(_STAGE_ORDER), kind)


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f}"


def status_line(report: dict[str, Any]) -> str:
    seeds, done = report["seeds"], report["finished_seeds"]
    missing = [s for s in seeds if s not in done]
    text = f"{len(done)} of {len(seeds)} seeds finished ({', '.join(map(str, done)) or 'none'})"
    if missing:
        text += f"; not finished: {', '.join(map(str, missing))} (their finished methods are included)"
    total = sum(report["recorded_seconds"].values())
    return text + f". Compute recorded so far: {total / 60:.1f} min (costs.json, all seeds)."


def markdown(report: dict[str, Any], plots: list[Path], out: Path) -> str:
    parts = [
        "# coevolve study",
        f"Methods: {', '.join(report['methods'])}; seeds: {', '.join(map(str, report['seeds']))}. "
        + status_line(report),
        "## Average reward x100 per method and column (last evaluation of each finished run)",
        f"Mean over seeds with its {report['interval']}; success rate in %.",
        results_markdown(report),
        "## Paired differences on the same evaluation episodes (x100)",
        f"Per seed: {report['paired_interval']}. Over seeds: mean of the per-seed differences, {report['interval']}.",
        differences_markdown(report),
    ]
    by_type = task_types_markdown(report)
    if by_type:
        parts += ["## Average reward x100 per task type (last evaluation of each finished run)",
                  f"Per seed: the mean over that type's evaluation episodes. Mean over seeds with its {report['interval']}.",
                  by_type]  # fmt: skip
    curves = curves_markdown(report)
    if curves:
        parts += ["## Learning curves: average reward x100 per evaluated iteration",
                  f"Iteration 0: the seed's SFT model, where every method starts. Mean over seeds with its "
                  f"{report['interval']} (seeds).", curves]  # fmt: skip
    parts += [
        "## Training-task rollouts per seed and iteration",
        "Failures: r < 1; hard negatives: 0.6 <= r < 1. Distinct failures: distinct action sequences / "
        "failures; edit distance: mean normalised Levenshtein distance of failures' action sequences "
        "(within_task: same task; across_tasks: different tasks, action verbs only).",
        rollouts_markdown(report),
        "## Preference pairs per seed and iteration",
        "Set aux: the second agent's pairs (failure_failure: failure-vs-failure); target: the target's. "
        "Hard-negative rejects: pairs whose rejected side has 0.6 <= r < 1.",
        pairs_markdown(report),
        "## Wall time per stage kind (minutes, costs.json)",
        stages_markdown(report),
    ]
    parts += [f"![{p.stem}]({p.relative_to(out).as_posix()})" for p in plots]
    return "\n\n".join(parts) + "\n"


def print_study(report: dict[str, Any], console: Console | None = None) -> None:
    columns = [c["title"] for c in report["columns"]]
    table = Table(
        "Method", *columns, title="Study: avg reward x100, mean over seeds [95 % t-interval] (seeds)"
    )
    by_key = {(r["method"], r["column"]): r["avg_reward"] for r in report["results"]}
    for method in report["methods"]:
        cells = []
        for c in columns:
            avg = by_key[(method, c)]
            cells.append(f"{_num(avg['mean'])} {_ci(avg['ci'])} ({avg['n']})")
        table.add_row(method, *cells)
    console = console or Console()
    console.print(table)
    console.print(status_line(report), style="dim")


def write_study_report(
    out: str | Path,
    study: StudyConfig,
    configs: dict[int, dict[str, RunConfig]],
    console: Console | None = None,
) -> Path:
    """OUT/report/study.md, study.json and plots of the study in OUT; prints the main table."""
    from coevolve.evaluation.study_plots import plot_curves, plot_hard_negatives, plot_means

    out = Path(out)
    folder = StudyLayout(out).report_dir
    folder.mkdir(parents=True, exist_ok=True)
    report = study_report(load_study_runs(out, study, configs))
    (folder / "study.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plots = [p for p in (plot_means(report, folder / "means.png"),
                         plot_curves(report, folder / "curves.png"),
                         plot_hard_negatives(report, folder / "hard_negatives.png")) if p]  # fmt: skip
    path = folder / "study.md"
    path.write_text(markdown(report, plots, folder), encoding="utf-8")
    print_study(report, console)
    return path
