"""`coevolve report`: results table in the paper's shape, hard-negative analysis and plots of run dirs.

Reads the layout written by `coevolve run` through `pipeline.layout.RunLayout` (the config, each
evaluation's summary.json, the iterations' rollouts and pairs, the costs); every part is optional
except that a run dir must hold at least one of them.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from coevolve.data.jsonl import pair_file, trajectory_file
from coevolve.data.records import PreferencePair, Trajectory
from coevolve.envs.benchmark import benchmarks
from coevolve.evaluation import learning, plots
from coevolve.evaluation.analysis import AgentStats, analyze_rollouts
from coevolve.pairs import pair_stats
from coevolve.pipeline.layout import RunLayout

log = logging.getLogger(__name__)

# Column/value marks: generated data, a task sample, embedded prompts (footnotes in `results_table`).
MARKS = ("*", "§", "‡")
Columns = tuple[tuple[str, str, str], ...]  # (column title, env, split); Avg: unweighted mean of the columns
SUMMARY_FIELDS = ("env", "split", "avg_reward")
COST_FIELDS = ("stage", "seconds")


# ------------------------------------------------------------------ columns


def report_columns(runs: Iterable[RunData] = ()) -> Columns:
    """The table's columns, each benchmark's description says which: those in the results table
    (`Benchmark.results_table`, the paper's, in registry order) always, other benchmarks' columns where
    one of the runs evaluated them."""
    evaluated = {key for run in runs for summaries in run.evals.values() for key in summaries}
    return tuple(
        (column.title, bench.name, column.split)
        for bench in benchmarks()
        for column in bench.report_columns()
        if bench.results_table or (bench.name, column.split) in evaluated
    )


def __getattr__(name: str) -> Any:
    if name == "COLUMNS":  # the columns every report shows (kept for importers of the old constant)
        return report_columns()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------ loading


@dataclass
class RunData:
    path: Path
    method: str
    config: dict[str, Any] = field(default_factory=dict)
    evals: dict[int, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    rollouts: dict[tuple[int, str, str], list[Trajectory]] = field(default_factory=dict)
    pairs: dict[tuple[int, str], list[PreferencePair]] = field(default_factory=dict)
    costs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc


def load_summary(path: Path) -> dict[str, Any]:
    data = _read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    for name in SUMMARY_FIELDS:
        if name not in data:
            raise ValueError(f"{path}: missing field '{name}'")
    if not isinstance(data["avg_reward"], (int, float)):
        raise ValueError(f"{path}: field 'avg_reward' must be a number")
    return data


def load_costs(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data = _read_json(path)
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of stage costs")
    for i, entry in enumerate(data):
        for name in COST_FIELDS:
            if not isinstance(entry, dict) or name not in entry:
                raise ValueError(f"{path}: entry {i}: missing field '{name}'")
        if not isinstance(entry["seconds"], (int, float)):
            raise ValueError(f"{path}: entry {i}: field 'seconds' must be a number")
    return data


def _load_config(run: Path) -> dict[str, Any]:
    path = RunLayout(run).config
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data


def load_run(path: str | Path) -> RunData:
    run = Path(path)
    if not run.is_dir():
        raise FileNotFoundError(f"run directory not found: {run}")
    config = _load_config(run)
    if "method" not in config:
        log.warning("%s: no 'method' in config.yaml; naming the run after its folder", run)
    data = RunData(path=run, method=str(config.get("method", run.name)), config=config)
    layout = RunLayout(run)
    for k, summary in layout.summary_files():
        s = load_summary(summary)
        data.evals.setdefault(k, {})[(s["env"], s["split"])] = s
    for k, _ in layout.iterations():
        for file in layout.rollout_files(k):
            data.rollouts[(k, file.parent.name, file.stem)] = trajectory_file(file).read()
        for file in layout.pair_files(k):
            data.pairs[(k, file.stem)] = pair_file(file).read()
    data.costs = load_costs(layout.costs)
    if not (config or data.evals or data.rollouts or data.pairs or data.costs):
        raise ValueError(f"{run}: not a run directory (no config.yaml, eval/, iter*/ or costs.json)")
    return data


# ------------------------------------------------------------------ results table


@dataclass
class ResultRow:
    method: str
    run: str
    iteration: int | None
    values: dict[str, float | None]  # column -> avg reward x100
    avg: float | None
    partial: bool  # Avg over fewer than all columns
    generated: set[str] = field(default_factory=set)  # columns evaluated on generated data
    # columns evaluated on a task sample ("sample") or with the project's own prompts ("embedded")
    sample: set[str] = field(default_factory=set)
    embedded: set[str] = field(default_factory=set)

    def marks(self, col: str) -> str:
        sets = (self.generated, self.sample, self.embedded)
        return "".join(m for m, cols in zip(MARKS, sets, strict=True) if col in cols)


@dataclass
class ResultsTable:
    headers: list[str]
    rows: list[ResultRow]
    footnotes: list[str]

    def cells(self) -> list[list[str]]:
        out = []
        for row in self.rows:
            values = [_fmt(value) + row.marks(c) for c, value in row.values.items()]
            avg = _fmt(row.avg) + ("†" if row.partial and row.avg is not None else "")
            out.append([row.method, *values, avg])
        return out


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def result_row(run: RunData, columns: Columns | None = None) -> ResultRow:
    """The last evaluated iteration's avg reward per column (k = 0 is the SFT model)."""
    columns = report_columns([run]) if columns is None else columns
    last = max(run.evals) if run.evals else None
    summaries = run.evals.get(last, {}) if last is not None else {}
    values = {col: _value(summaries.get((env, split))) for col, env, split in columns}

    def where(key: str, value: str) -> set[str]:
        return {col for col, env, split in columns if summaries.get((env, split), {}).get(key) == value}

    present = [v for v in values.values() if v is not None]
    avg = statistics.fmean(present) if present else None
    row = ResultRow(run.method, run.name, last, values, avg, 0 < len(present) < len(columns))
    row.generated, row.sample, row.embedded = (
        where("data", "generated"),
        where("data", "sample"),
        where("prompts", "embedded"),
    )
    return row


def _value(summary: dict[str, Any] | None) -> float | None:
    return None if summary is None else float(summary["avg_reward"])


def results_table(runs: list[RunData]) -> ResultsTable:
    columns = report_columns(runs)
    rows = [result_row(run, columns) for run in runs]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.method] = counts.get(row.method, 0) + 1
    for row in rows:  # two runs of one method: tell them apart by folder
        if counts[row.method] > 1:
            row.method = f"{row.method} ({row.run})"
    generated = set().union(*(row.generated for row in rows))
    sample = set().union(*(row.sample for row in rows))
    embedded = set().union(*(row.embedded for row in rows))
    column = ResultRow("", "", None, {}, None, False, generated, sample, embedded)
    headers = ["Method", *[c + column.marks(c) for c, _, _ in columns], "Avg"]
    notes = ["Average reward x100 of the last evaluated iteration's target model."]
    if generated:
        notes.append(
            "\\* generated data (`data: generated` in summary.json; marked on the column and on each "
            "such value): tasks built by coevolve, not the official benchmark files; not comparable with "
            "published numbers."
        )
    if sample:
        notes.append(
            "§ task sample (`data: sample` in summary.json): the few questions an installed package ships, "
            "not the benchmark's split; not comparable with published numbers."
        )
    if embedded:
        notes.append(
            "‡ embedded prompts (`prompts: embedded` in summary.json): coevolve's own instruction and "
            "in-context example, not ETO's/IPR's; not benchmark numbers (paper configs use `prompt_set: "
            "eto`/`ipr`)."
        )
    if any(s.get("selection") == "best" for run in runs for s in learning.last_evals(run.evals)[1].values()):
        notes.append(
            "Best-of-N rows: each task's best of N samples by environment reward (an oracle); see "
            "'Best of N' for the mean of the N samples."
        )
    if any(r.partial for r in rows):
        notes.append("† mean of the available columns only.")
    return ResultsTable(headers, rows, notes)


def print_table(table: ResultsTable, console: Console | None = None) -> None:
    rich_table = Table(*table.headers, title="Results")
    for cells in table.cells():
        rich_table.add_row(*cells)
    console = console or Console()
    console.print(rich_table)
    for note in table.footnotes:
        console.print(note.replace("\\*", "*"), style="dim")


# ------------------------------------------------------------------ markdown


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def _pct(share: float | None) -> str:
    return _fmt(None if share is None else 100 * share, 1)


def composition_table(stats: list[AgentStats]) -> str:
    headers = [
        "Iter", "Env", "Agent", "Episodes", "Success (r = 1)", "Failure (r < 0.6)",
        "Hard negative (0.6 <= r < 1)", "Distinct failures", "Edit distance",
    ]  # fmt: skip
    rows = []
    for s in stats:
        d = s.diversity
        edit = "–" if d.edit_distance is None else f"{d.edit_distance:.3f} ({d.edit_mode})"
        rows.append(
            [str(s.iteration), s.env, s.agent, str(s.episodes), _pct(s.success_rate), _pct(s.failure_share),
             _pct(s.hard_negative_share), _pct(d.distinct_share), edit]
        )  # fmt: skip
    return markdown_table(headers, rows)


def pairs_table(pairs: dict[tuple[int, str], list[PreferencePair]]) -> str:
    headers = ["Iter", "Set", "Pairs", "Tasks", "By kind", "Gap mean", "Gap median", "Hard-negative rejects"]
    rows = []
    for (k, name), items in sorted(pairs.items()):
        st = pair_stats(items)
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(st["by_kind"].items())) or "–"
        gap = st["reward_gap"]
        rows.append(
            [str(k), name, str(st["pairs"]), str(st["tasks"]), kinds, _fmt(gap["mean"], 3),
             _fmt(gap["median"], 3), _pct(st["hard_negative_share"])]
        )  # fmt: skip
    return markdown_table(headers, rows)


def costs_table(costs: list[dict[str, Any]]) -> str:
    rows, total_s, total_tokens = [], 0.0, 0
    for c in costs:
        gpus = int(c.get("gpus", 0) or 0)
        device_h = c["seconds"] * max(1, gpus) / 3600
        cuda = c.get("device") == "cuda"
        rows.append(
            [c["stage"], f"{c['seconds']:.1f}", str(c.get("tokens", 0)), str(c.get("rollouts", 0)),
             str(c.get("generated_tokens", 0)), str(c.get("trained_tokens", 0)), str(c.get("device", "")), str(gpus),
             _fmt(device_h if cuda else 0.0, 3), _fmt(0.0 if cuda else c["seconds"] / 3600, 3)]
        )  # fmt: skip
        total_s += c["seconds"]
        total_tokens += int(c.get("tokens", 0) or 0)
    rows.append(["**total**", f"{total_s:.1f}", str(total_tokens), "", "", "", "", "", "", ""])
    headers = ["Stage", "Seconds", "Tokens", "Rollouts", "Generated tokens", "Trained tokens", "Device", "GPUs",
               "GPU hours", "CPU hours"]  # fmt: skip
    return markdown_table(headers, rows)


# ------------------------------------------------------------------ compute per method


def _stage_kind(stage: str) -> str:
    """explore (training-task rollouts), eval, train (sft, DPO, RFT) or other (experts, pairs, data)."""
    step = stage.rsplit("/", 1)[-1]
    if stage.startswith("eval/"):
        return "eval"
    if "explore" in step:  # explore, reexplore_aux, rft_explore
        return "explore"
    if stage == "sft" or step.startswith("train_"):
        return "train"
    return "other"


def method_costs(costs: list[dict[str, Any]]) -> dict[str, float]:
    """A run's totals from costs.json: training-task rollouts and their generated tokens, trained tokens,
    evaluation episodes and their generated tokens, wall seconds and device hours (GPU or CPU)."""
    out = dict.fromkeys(("rollouts", "generated", "trained", "eval_episodes", "eval_generated", "seconds"), 0.0)
    out["device_hours"] = 0.0
    for c in costs:
        kind = _stage_kind(c["stage"])
        if kind == "explore":
            out["rollouts"] += c.get("rollouts", 0)
            out["generated"] += c.get("generated_tokens", 0)
        elif kind == "eval":
            out["eval_episodes"] += c.get("rollouts", 0)
            out["eval_generated"] += c.get("generated_tokens", 0)
        out["trained"] += c.get("trained_tokens", 0)
        out["seconds"] += c["seconds"]
        out["device_hours"] += c["seconds"] * max(1, int(c.get("gpus", 0) or 0)) / 3600
    return out


def cost_comparison_table(runs: list[RunData]) -> str | None:
    """One row per run with costs.json: what each method spent, to read results at equal compute."""
    rows = []
    for run in runs:
        if not run.costs:
            continue
        c = method_costs(run.costs)
        rows.append(
            [run.method, f"{c['rollouts']:.0f}", f"{c['generated']:.0f}", f"{c['trained']:.0f}",
             f"{c['eval_episodes']:.0f}", f"{c['eval_generated']:.0f}", f"{c['seconds']:.1f}",
             _fmt(c["device_hours"], 3)]
        )  # fmt: skip
    if not rows:
        return None
    headers = ["Method", "Training rollouts", "Generated tokens (training rollouts)", "Trained tokens",
               "Eval episodes", "Generated tokens (eval)", "Wall seconds", "Device hours"]  # fmt: skip
    return markdown_table(headers, rows)


COST_NOTE = (
    "Training rollouts: episodes on training tasks (explore stages, all agents and samples). Trained tokens: "
    "non-padding input tokens of every training stage, all epochs (DPO: both sides). Eval episodes include "
    "best-of-n's N samples per task. Wall seconds cover the stages run in that run directory; in a "
    "`coevolve compare`, experts and SFT are counted once, in the sft run."
)


def best_of_n_table(runs: list[RunData]) -> str | None:
    """Evaluations with several samples per task (last evaluated iteration): best-of-N and mean-of-N x100."""
    rows = []
    for run in runs:
        k, summaries = learning.last_evals(run.evals)
        for (env, split), c in sorted(summaries.items()):
            if "best_of_n" in c:
                rows.append([run.method, str(k), f"{env} {split}", f"{c['best_of_n']:.2f}", f"{c['mean_of_n']:.2f}",
                             str(c["samples_per_task"]), str(c.get("tasks", "?"))])  # fmt: skip
    headers = ["Method", "Iter", "Benchmark", "Best of N", "Mean of N", "N", "Tasks"]
    return markdown_table(headers, rows) if rows else None


BEST_OF_N_NOTE = (
    "best of N / mean of N, avg reward x100 over tasks. Best of N picks each task's best sample by the "
    "environment's reward, i.e. it uses the reward as an oracle at test time (as ETO's and the paper's "
    "Best-of-N do); no deployed agent could choose that way. Runs with `eval_select: best` (method "
    "best-of-n) report best of N in the results table."
)


def eval_history_table(run: RunData) -> str:
    rows, columns = [], report_columns([run])
    for k in sorted(run.evals):
        values = [_value(run.evals[k].get((env, split))) for _, env, split in columns]
        rows.append([str(k), *[_fmt(v) for v in values]])
    return markdown_table(["Iter", *[c for c, _, _ in columns]], rows)


# ------------------------------------------------------------------ report


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "run"


def write_plots(run: RunData, stats: list[AgentStats], folder: Path) -> list[Path]:
    written = []
    if stats:
        written += [
            plots.plot_failure_rewards(stats, folder / "failure_rewards.png"),
            plots.plot_hard_negative_share(stats, folder / "hard_negative_share.png"),
            plots.plot_success_rates(stats, folder / "success_rates.png"),
            plots.plot_diversity(stats, folder / "failure_diversity.png"),
        ]
    if run.costs:
        written.append(plots.plot_costs(run.costs, folder / "costs.png"))
    return written


def run_section(run: RunData, out: Path, folder: Path) -> str:
    stats = analyze_rollouts(run.rollouts)
    parts = [f"## {run.method} (`{run.path}`)"]
    if run.evals:
        parts += [
            "### Evaluation per iteration (avg reward x100; iteration 0 = SFT)",
            eval_history_table(run),
        ]
    if stats:
        parts += [
            "### Training-task rollouts: composition and failure diversity (%)",
            composition_table(stats),
        ]
    failures = learning.failure_table(run)
    if failures:
        parts += ["### Failures and pairs per iteration (training tasks)", failures]
    if run.pairs:
        parts += ["### Preference pairs", pairs_table(run.pairs)]
    if run.costs:
        parts += ["### Cost per stage", costs_table(run.costs)]
    for png in write_plots(run, stats, folder):
        parts.append(f"![{png.stem}]({png.relative_to(out).as_posix()})")
    return "\n\n".join(parts)


def learning_sections(runs: list[RunData]) -> list[str]:
    """Evaluation with 95 % CIs and success rates, and paired differences between runs."""
    parts = []
    columns = report_columns(runs)
    cis = learning.ci_table(runs, columns)
    if cis:
        parts += [
            "## Evaluation with 95 % confidence intervals",
            "avg reward x100 [bootstrap CI] · success rate [Wilson CI] · episodes, last evaluated iteration",
            cis,
        ]
    paired = learning.paired_table(runs, columns)
    if paired:
        parts += [
            "## Paired differences on the same evaluation episodes",
            "mean per-episode reward difference x100 [paired bootstrap 95 % CI] (common episodes)",
            paired,
        ]
    return parts


def write_report(run_dirs: list[str | Path], out: str | Path, console: Console | None = None) -> Path:
    """Write OUT/report.md (+ one PNG folder per run) and print the results table; returns the .md path."""
    if not run_dirs:
        raise ValueError("give at least one run directory")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [load_run(d) for d in run_dirs]
    table = results_table(runs)
    print_table(table, console)
    parts = ["# coevolve report", markdown_table(table.headers, table.cells()), "\n".join(table.footnotes)]
    parts += learning_sections(runs)
    best = best_of_n_table(runs)
    if best:
        parts += ["## Best of N (several evaluation samples per task)", best, BEST_OF_N_NOTE]
    spent = cost_comparison_table(runs)
    if spent:
        parts += ["## Cost per method", spent, COST_NOTE]
    used: set[str] = set()
    for run in runs:
        slug = _slug(run.name)
        while slug in used:
            slug += "_"
        used.add(slug)
        parts.append(run_section(run, out, out / slug))
    path = out / "report.md"
    path.write_text("\n\n".join(parts) + "\n")
    return path


def print_results(run_dirs: list[str | Path], console: Console | None = None) -> ResultsTable:
    """Print the results table of run dirs (what `coevolve run` shows at the end)."""
    table = results_table([load_run(d) for d in run_dirs])
    print_table(table, console)
    return table
