import json
import sys
from pathlib import Path

import matplotlib.image
import pytest
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pairs"))
from pair_fixtures import make_expert, make_traj  # noqa: E402

from coevolve.cli import main  # noqa: E402
from coevolve.data.jsonl import JsonlWriter  # noqa: E402
from coevolve.evaluation.report import load_run, print_results, results_table, write_report  # noqa: E402
from coevolve.pairs import target_pairs  # noqa: E402


def _summary(env, split, avg, data="official"):
    return {
        "env": env, "split": split, "data": data, "model": "m", "agent": "target", "episodes": 4,
        "avg_reward": avg, "success_rate": 0.5, "avg_steps": 3.0, "parse_rate": 1.0, "end_reasons": {"done": 4},
    }  # fmt: skip


def build_run(
    root: Path, name: str, method: str | None, evals: dict, data: str = "official", iters: int = 2
) -> Path:
    run = root / name
    run.mkdir(parents=True)
    if method is not None:
        (run / "config.yaml").write_text(f"method: {method}\nseed: 1\n")
    for k, scores in evals.items():
        for (env, split), avg in scores.items():
            folder = run / "eval" / f"iter{k}" / f"{env}_{split}"
            folder.mkdir(parents=True)
            (folder / "summary.json").write_text(json.dumps(_summary(env, split, avg, data)))
    experts = {str(i): make_expert(str(i)) for i in range(4)}
    for k in range(1, iters + 1):
        target = [make_traj(str(i), [1.0, 0.3, 0.7, 0.0][i], agent="target") for i in range(4)]
        failure = [
            make_traj(str(i), [0.2, 0.65, 0.8, 1.0 if k == 1 else 0.9][i], agent="failure") for i in range(4)
        ]
        for agent, trajs in (("target", target), ("failure", failure)):
            with JsonlWriter(run / f"iter{k}" / "rollouts" / "webshop" / f"{agent}.jsonl") as w:
                w.write_all(trajs)
        with JsonlWriter(run / f"iter{k}" / "pairs" / "target.jsonl") as w:
            w.write_all(target_pairs(experts, target, failure))
    costs = [
        {"stage": "sft", "seconds": 3600.0, "tokens": 1000, "device": "cuda", "gpus": 2},
        {"stage": "iter1/rollout", "seconds": 1800.0, "tokens": 500, "device": "cpu", "gpus": 0},
    ]
    (run / "costs.json").write_text(json.dumps(costs))
    return run


ALL = {
    ("webshop", "test"): 60.0,
    ("sciworld", "seen"): 70.0,
    ("sciworld", "unseen"): 65.0,
    ("intercode_sql", "test"): 55.0,
}


def test_results_table_uses_last_iteration_and_averages(tmp_path):
    eto = build_run(tmp_path, "eto_run", "eto", {0: {k: 10.0 for k in ALL}, 2: ALL})
    ours = build_run(tmp_path, "ours_run", "coevolve", {0: ALL, 1: {("webshop", "test"): 72.5}})
    table = results_table([load_run(eto), load_run(ours)])
    assert table.headers == ["Method", "WebShop", "SciW seen", "SciW unseen", "InterCodeSQL", "Avg"]
    first, second = table.rows
    assert first.method == "eto" and first.iteration == 2
    assert first.values == {"WebShop": 60.0, "SciW seen": 70.0, "SciW unseen": 65.0, "InterCodeSQL": 55.0}
    assert first.avg == pytest.approx(62.5) and not first.partial
    # iteration 1 only evaluated WebShop: other columns empty, Avg over what is there, marked
    assert second.method == "coevolve" and second.iteration == 1
    assert second.values["WebShop"] == 72.5 and second.values["SciW seen"] is None
    assert second.avg == 72.5 and second.partial
    assert table.cells()[1] == ["coevolve", "72.50", "–", "–", "–", "72.50†"]


def test_generated_data_marks_column_and_duplicate_methods_named_by_folder(tmp_path):
    a = build_run(tmp_path, "a", "sft", {0: {("webshop", "test"): 40.0}}, data="generated")
    b = build_run(tmp_path, "b", "sft", {0: {("sciworld", "seen"): 50.0}})
    table = results_table([load_run(a), load_run(b)])
    assert table.headers[1] == "WebShop*" and table.headers[2] == "SciW seen"
    assert any("generated" in note for note in table.footnotes)
    assert table.cells()[0][1] == "40.00*" and table.cells()[1][2] == "50.00"
    assert [r.method for r in table.rows] == ["sft (a)", "sft (b)"]


def test_embedded_prompts_and_task_samples_are_marked_apart(tmp_path):
    run = build_run(tmp_path, "a", "sft", {0: {("sciworld", "seen"): 50.0, ("intercode_sql", "test"): 20.0}})
    folder = run / "eval" / "iter0"
    for name, data, prompts in (
        ("sciworld_seen", "official", "embedded"),
        ("intercode_sql_test", "sample", "ipr"),
    ):
        summary = json.loads((folder / name / "summary.json").read_text())
        summary.update(data=data, prompts=prompts)
        (folder / name / "summary.json").write_text(json.dumps(summary))
    table = results_table([load_run(run)])
    assert table.headers[2] == "SciW seen‡" and table.headers[4] == "InterCodeSQL§"
    assert table.headers[3] == "SciW unseen"
    assert table.cells()[0][2] == "50.00‡" and table.cells()[0][4] == "20.00§"
    notes = " ".join(table.footnotes)
    assert "embedded prompts" in notes and "task sample" in notes and "generated data" not in notes


def test_report_writes_markdown_and_loadable_pngs(tmp_path):
    run = build_run(tmp_path, "run", "coevolve", {0: ALL, 2: ALL})
    path = write_report([run], tmp_path / "out")
    text = path.read_text()
    assert "| coevolve | 60.00 | 70.00 | 65.00 | 55.00 | 62.50 |" in text
    # composition of iteration 1, failure agent: 0.2 failure, 0.65 / 0.8 hard negatives, 1.0 success
    assert "| 1 | webshop | failure | 4 | 25.0 | 25.0 | 50.0 |" in text
    assert "expert_vs_failure_agent" in text and "**total**" in text
    names = {"failure_rewards", "hard_negative_share", "success_rates", "failure_diversity", "costs"}
    pngs = sorted((tmp_path / "out" / "run").glob("*.png"))
    assert {p.stem for p in pngs} == names
    for png in pngs:
        assert png.stat().st_size > 0
        image = matplotlib.image.imread(png)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        assert f"(run/{png.name})" in text


def test_report_on_eval_only_run_writes_no_rollout_plots(tmp_path):
    run = tmp_path / "bare"
    (run / "eval" / "iter0" / "webshop_test").mkdir(parents=True)
    (run / "eval" / "iter0" / "webshop_test" / "summary.json").write_text(
        json.dumps(_summary("webshop", "test", 33.3))
    )
    path = write_report([run], tmp_path / "out")
    assert "| bare | 33.30 | – | – | – | 33.30† |" in path.read_text()  # no config.yaml: folder name
    assert not list((tmp_path / "out").rglob("*.png"))


def test_cli_report(tmp_path, capsys):
    run = build_run(tmp_path, "run", "eto", {0: ALL}, iters=1)
    assert main(["report", str(run)]) == 0
    assert (run / "report" / "report.md").exists()
    assert "Results" in capsys.readouterr().out


def test_cli_report_errors_name_the_file(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    run = build_run(tmp_path, "bad", "eto", {0: ALL}, iters=0)
    bad = run / "eval" / "iter0" / "webshop_test" / "summary.json"
    bad.write_text(json.dumps({"env": "webshop", "split": "test"}))
    assert main(["report", str(run), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "avg_reward" in err


def test_print_results_prints_the_table(tmp_path):
    run = build_run(tmp_path, "run", "coevolve", {1: ALL}, iters=1)
    console = Console(record=True, width=120)
    table = print_results([run], console)
    text = console.export_text()
    assert "coevolve" in text and "62.50" in text and table.rows[0].iteration == 1
