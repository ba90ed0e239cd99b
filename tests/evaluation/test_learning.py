"""Report sections on learning: CIs per column, paired differences, failures and pairs per iteration."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pairs"))
from pair_fixtures import make_expert, make_traj  # noqa: E402

from coevolve.data.jsonl import JsonlWriter  # noqa: E402
from coevolve.evaluation.learning import ci_cell, failure_row, failure_table, paired_table  # noqa: E402
from coevolve.evaluation.report import COLUMNS, load_run, write_report  # noqa: E402
from coevolve.evaluation.summary import summarize  # noqa: E402
from coevolve.pairs import failure_pairs, target_pairs  # noqa: E402


def _eval(run: Path, k: int, rewards: list[float]) -> None:
    folder = run / "eval" / f"iter{k}" / "sciworld_unseen"
    trajs = [make_traj(str(i), r, env="sciworld") for i, r in enumerate(rewards)]
    with JsonlWriter(folder / "episodes.jsonl") as w:
        w.write_all(trajs)
    (folder / "summary.json").write_text(
        json.dumps(summarize(trajs, "sciworld", "unseen", "official", "m", "t"))
    )


def _run(root: Path, name: str, method: str, rewards: list[float], iteration: int = 1) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(f"method: {method}\n")
    _eval(run, iteration, rewards)
    return run


def test_failure_row_counts_hard_negatives_and_bins():
    trajs = [make_traj(str(i), r) for i, r in enumerate([1.0, 0.0, 0.65, 0.95, 0.3, 0.6])]
    failures, hard, hist = failure_row(trajs)
    assert (failures, hard) == (5, 3)
    assert hist == [1, 0, 0, 1, 0, 0, 2, 0, 0, 1]


def test_failure_table_lists_pairs_per_iteration_and_env(tmp_path):
    run = tmp_path / "co"
    run.mkdir()
    (run / "config.yaml").write_text("method: coevolve\n")
    target = [make_traj(str(i), r, agent="target") for i, r in enumerate([1.0, 0.3, 0.7, 0.0])]
    failure = [make_traj(str(i), r, agent="failure") for i, r in enumerate([0.2, 0.65, 0.8, 0.0])]
    for agent, trajs in (("target", target), ("failure", failure)):
        with JsonlWriter(run / "iter1" / "rollouts" / "webshop" / f"{agent}.jsonl") as w:
            w.write_all(trajs)
    aux = failure_pairs(target, failure)  # tasks 1 and 2 differ; task 3 ties at 0.0
    assert len(aux) == 2
    with JsonlWriter(run / "iter1" / "pairs" / "aux.jsonl") as w:
        w.write_all(aux)
    experts = {str(i): make_expert(str(i)) for i in range(4)}
    with JsonlWriter(run / "iter1" / "pairs" / "target.jsonl") as w:
        w.write_all(target_pairs(experts, target, failure))
    table = failure_table(load_run(run))
    assert "| 1 | webshop | failure | 4 | 4 | 2 (50%) | 1 0 1 0 0 0 1 0 1 0 | 2 | 7 |" in table
    assert "| 1 | webshop | target | 4 | 3 | 1 (33%) | 1 0 0 1 0 0 0 1 0 0 | 2 | 7 |" in table


def test_ci_cells_and_paired_differences(tmp_path):
    sft = _run(tmp_path, "sft", "sft", [1.0, 1.0, 0.5, 0.0], iteration=0)
    eto = _run(tmp_path, "eto", "eto", [1.0, 0.0, 0.5, 0.0])
    runs = [load_run(sft), load_run(eto)]
    cell = ci_cell(runs[0].evals[0][("sciworld", "unseen")])
    assert cell.startswith("62.5 [") and "50% [" in cell and cell.endswith("n=4")
    table = paired_table(runs, COLUMNS)
    row = next(line for line in table.splitlines() if line.startswith("| eto − sft"))
    assert "-25.0 [" in row and "(n=4)" in row
    assert ci_cell(None) == "–"


def test_report_has_learning_sections(tmp_path):
    sft = _run(tmp_path, "sft", "sft", [1.0, 0.5], iteration=0)
    co = _run(tmp_path, "co", "coevolve", [1.0, 1.0])
    text = write_report([sft, co], tmp_path / "out").read_text()
    assert "## Evaluation with 95 % confidence intervals" in text
    assert "| coevolve − sft | – | – | +25.0 [" in text
    lone = write_report([co], tmp_path / "out2").read_text()
    assert "Paired differences" not in lone


@pytest.mark.parametrize("summary", [{"avg_reward": 40.0, "episodes": 3}])
def test_old_summaries_without_intervals(summary):
    assert ci_cell(summary) == "40.0 – · – · n=3"
