"""`coevolve study`: seeds x methods from one study file, validated first, resumable, and its report
(means with t-intervals across seeds, paired differences per seed) checked against the episode files."""

from __future__ import annotations

import json
import random
import shutil
import statistics
from pathlib import Path

import ladder_env  # noqa: F401  registers the "ladder" environment
import pytest
import yaml
from scipy import stats
from test_runner import _config

from coevolve.cli import main
from coevolve.data.jsonl import read_jsonl
from coevolve.evaluation.study import t_interval
from coevolve.pipeline.config import ConfigError
from coevolve.pipeline.runner import Pipeline
from coevolve.pipeline.study import load_study, run_study, study_configs

ROOT = Path(__file__).parents[2]
METHODS = ["sft", "eto", "coevolve"]
SEEDS = [0, 1, 2]


def _study_file(folder: Path, model: str = "unused", study: dict | None = None, **extra) -> Path:
    data = {"study": study or {"seeds": SEEDS, "methods": METHODS}, **_config("coevolve", model, **extra)}
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# ------------------------------------------------------------------ statistics


def test_t_interval_on_hand_built_numbers():
    # mean 2, s = 1, n = 3: half width t(0.975, 2) / sqrt(3) = 4.3027 / 1.7321 = 2.4841
    mean, lo, hi = t_interval([1.0, 2.0, 3.0])
    assert (
        mean == 2.0
        and lo == pytest.approx(2 - 2.4841, abs=1e-3)
        and hi == pytest.approx(2 + 2.4841, abs=1e-3)
    )
    # n = 4, s = sqrt(20 / 3) = 2.5820: half width t(0.975, 3) * s / sqrt(4) = 3.1824 * 2.5820 / 2 = 4.1085
    mean, lo, hi = t_interval([10.0, 12.0, 14.0, 16.0])
    assert mean == 13.0 and (lo, hi) == pytest.approx((13 - 4.1085, 13 + 4.1085), abs=1e-3)
    assert t_interval([5.0, 5.0, 5.0]) == (5.0, 5.0, 5.0)  # no spread, no width
    assert t_interval([7.0]) == (7.0, None, None)  # one seed: no interval
    with pytest.raises(ValueError):
        t_interval([])


# ------------------------------------------------------------------ validation before compute


def test_typo_in_the_study_section_fails_before_compute(tmp_path, capsys):
    path = _study_file(tmp_path, study={"seedz": SEEDS})
    with pytest.raises(
        ConfigError, match=r"study.yaml: study: unknown key\(s\) \['seedz'\]; did you mean 'seeds'"
    ):
        load_study(path)
    out = tmp_path / "out"
    assert main(["study", str(path), "--out", str(out)]) == 2
    assert "did you mean 'seeds'" in capsys.readouterr().err and not out.exists()


def test_every_seed_and_method_is_validated_before_compute(tmp_path, capsys):
    path = _study_file(tmp_path, iteratons=2)  # a typo in the shared run config
    out = tmp_path / "out"
    assert main(["study", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "seed 0" in err and "iteratons" in err and "did you mean 'iterations'" in err and not out.exists()
    for study, message in (
        ({"seeds": [0, 1]}, "a study needs >= 3"),
        ({"seeds": [0, 0, 1]}, "each seed once"),
        ({"methods": ["sft", "etoo"]}, "unknown method"),
        ({"differences": [["coevolve", "eto"]]}, "'coevolve' is not a method of this study"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_study(_study_file(tmp_path, study={"methods": ["sft", "eto"], **study}))
    study, base = load_study(_study_file(tmp_path), seeds=[3, 4, 5])  # --seeds replaces the file's
    configs = study_configs(study, base, tmp_path / "o")
    assert list(configs) == [3, 4, 5] and all(list(c) == METHODS for c in configs.values())
    assert {c["eto"].seed for c in configs.values()} == {3, 4, 5}
    assert configs[4]["coevolve"].sft_checkpoint == str(tmp_path / "o/seed4/sft/checkpoints/sft")
    assert study.pairs() == [("eto", "sft"), ("coevolve", "sft"), ("coevolve", "eto")]


def test_shipped_study_validates_and_is_listed(capsys):
    path = ROOT / "configs/studies/sciworld-cpu.yaml"
    assert main(["study", str(path), "--check", "--out", "unused"]) == 0
    assert "3 seeds" in capsys.readouterr().out
    study, base = load_study(path)
    assert study.seeds == SEEDS and study.methods == METHODS and base["iterations"] == 2
    assert main(["ls", "configs"]) == 0
    assert "configs/studies/sciworld-cpu.yaml" in capsys.readouterr().out


# ------------------------------------------------------------------ a whole tiny study


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory, tiny_model_dir):
    folder = tmp_path_factory.mktemp("study")
    path = _study_file(folder, str(tiny_model_dir))
    out = folder / "out"
    assert main(["study", str(path), "--out", str(out)]) == 0
    return path, out


def _report(out: Path) -> dict:
    return json.loads((out / "report/study.json").read_text())


def _stable(report: dict) -> dict:
    """The report without wall times (they differ between two runs of the same study)."""
    return {k: v for k, v in report.items() if k not in ("stage_seconds", "recorded_seconds")}


def test_study_runs_every_seed_and_method_and_reports_them(finished_study):
    _, out = finished_study
    for seed in SEEDS:
        for method in METHODS:
            assert (out / f"seed{seed}/{method}/manifest.json").exists()
        assert yaml.safe_load((out / f"seed{seed}/eto/config.yaml").read_text())["seed"] == seed
    report = _report(out)
    assert report["finished_seeds"] == SEEDS and report["columns"][0]["env"] == "ladder"
    text = (out / "report/study.md").read_text()
    assert "3 of 3 seeds finished" in text and "95 % CI" in text and "coevolve − eto" in text
    kinds = {r["set"] for r in report["pairs"] if r["method"] == "coevolve"}
    assert kinds == {"aux", "target"}
    agents = {(r["method"], r["agent"], r["iteration"]) for r in report["rollouts"]}
    assert ("coevolve", "failure", 2) in agents and ("eto", "target", 1) in agents
    stages = {r["method"]: r["seconds"] for r in report["stage_seconds"] if r["seed"] == 0}
    assert {"experts", "sft", "eval"} <= set(stages["sft"]) and "train_aux" in stages["coevolve"]
    assert (out / "report/means.png").exists() and (out / "report/hard_negatives.png").exists()


def _perturb(run_dir: Path, rng: random.Random, typed: bool = False) -> dict[str, float]:
    """Give the run's final evaluation spread rewards (episodes and summary alike); task id -> reward.
    `typed`: also give the tasks two types, "even" and "odd" by their place in id order."""
    (folder,) = sorted((run_dir / "eval").glob("iter*/ladder_test"))[-1:]
    records = read_jsonl(folder / "episodes.jsonl")
    for i, r in enumerate(sorted(records, key=lambda r: r["task"]["id"])):
        r["reward"] = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0])
        if typed:
            r["task"]["meta"]["task_type"] = "odd" if i % 2 else "even"
    (folder / "episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    summary = json.loads((folder / "summary.json").read_text())
    rewards = [r["reward"] for r in records]
    summary["avg_reward"] = 100 * statistics.fmean(rewards)
    summary["success_rate"] = sum(x == 1.0 for x in rewards) / len(rewards)
    (folder / "summary.json").write_text(json.dumps(summary))
    return {r["task"]["id"]: r["reward"] for r in records}


def _perturbed_copy(source: Path, out: Path, seed: int, typed: bool = False) -> dict:
    """A copy of the study in OUT with every run's final evaluation perturbed; (seed, method) -> rewards."""
    shutil.copytree(source, out)
    rng = random.Random(seed)
    return {(s, m): _perturb(out / f"seed{s}" / m, rng, typed) for s in SEEDS for m in METHODS}


def _t_ci(values: list[float]) -> list[float]:
    lo, hi = stats.t.interval(0.95, len(values) - 1, loc=statistics.fmean(values), scale=stats.sem(values))
    return [lo, hi]


def test_report_numbers_match_the_episode_files(finished_study, tmp_path):
    path, source = finished_study
    out = tmp_path / "copy"
    rewards = _perturbed_copy(source, out, 7)
    assert main(["study", str(path), "--out", str(out), "--report-only"]) == 0
    report = _report(out)
    for row in report["results"]:
        per_seed = [100 * statistics.fmean(rewards[(s, row["method"])].values()) for s in SEEDS]
        avg = row["avg_reward"]
        assert [avg["per_seed"][str(s)] for s in SEEDS] == pytest.approx(per_seed)
        assert avg["mean"] == pytest.approx(statistics.fmean(per_seed)) and avg["n"] == 3
        assert avg["ci"] == pytest.approx(_t_ci(per_seed))
        wins = [100 * statistics.fmean(r == 1.0 for r in rewards[(s, row["method"])].values()) for s in SEEDS]
        assert row["success_rate"]["mean"] == pytest.approx(statistics.fmean(wins))
    diffs = {d["difference"]: d for d in report["differences"]}
    assert set(diffs) == {"eto − sft", "coevolve − sft", "coevolve − eto"}
    for a, b in (("coevolve", "eto"), ("eto", "sft"), ("coevolve", "sft")):
        row, seed_means = diffs[f"{a} − {b}"], []
        for s in SEEDS:
            ra, rb = rewards[(s, a)], rewards[(s, b)]
            expected = 100 * statistics.fmean(ra[t] - rb[t] for t in ra)
            cell = row["per_seed"][str(s)]
            assert cell["mean"] == pytest.approx(expected) and cell["episodes"] == len(ra) == 3
            assert cell["ci"][0] <= expected + 1e-9 and expected <= cell["ci"][1] + 1e-9
            seed_means.append(expected)
        assert row["over_seeds"]["mean"] == pytest.approx(statistics.fmean(seed_means))
        if len(set(seed_means)) > 1:
            assert row["over_seeds"]["ci"] == pytest.approx(_t_ci(seed_means))


def test_report_splits_rewards_by_task_type(finished_study, tmp_path):
    """Episodes whose tasks have two types get a per-type row per method: each seed's mean over that
    type's episodes, and the t-interval over seeds; a column with one type gets none."""
    path, source = finished_study
    out = tmp_path / "typed"
    rewards, expected = _perturbed_copy(source, out, 3, typed=True), {}
    for (seed, method), by_task in rewards.items():
        for i, task in enumerate(sorted(by_task)):  # the types _perturb gave, by place in id order
            kind = "odd" if i % 2 else "even"
            expected.setdefault((method, kind), {}).setdefault(seed, []).append(by_task[task])
    assert main(["study", str(path), "--out", str(out), "--report-only"]) == 0
    rows = {(r["method"], r["task_type"]): r for r in _report(out)["task_types"]}
    assert set(rows) == {(m, k) for m in METHODS for k in ("even", "odd")}
    for key, by_seed in expected.items():
        means = [100 * statistics.fmean(by_seed[s]) for s in SEEDS]
        avg = rows[key]["avg_reward"]
        assert [avg["per_seed"][str(s)] for s in SEEDS] == pytest.approx(means)
        assert avg["mean"] == pytest.approx(statistics.fmean(means))
        if len(set(means)) > 1:
            assert avg["ci"] == pytest.approx(_t_ci(means))
        assert rows[key]["episodes"] == {str(s): len(by_seed[s]) for s in SEEDS}
    assert "per task type" in (out / "report/study.md").read_text()
    assert _report(source)["task_types"] == []  # the untyped study: one type, no rows


def _eval_reward(run_dir: Path, k: int) -> float:
    return json.loads((run_dir / f"eval/iter{k}/ladder_test/summary.json").read_text())["avg_reward"]


def test_report_has_learning_curves_from_the_sft_model(finished_study, tmp_path):
    """Iteration 0 of every method is the seed's SFT evaluation (the sft run's eval/iter0); later points are
    the method's own evaluations; without an intermediate evaluation the section and plot are left out."""
    path, source = finished_study
    out = tmp_path / "curves"
    _perturbed_copy(source, out, 5)  # final evaluations spread; iteration 1 as the runs wrote it
    assert main(["study", str(path), "--out", str(out), "--report-only"]) == 0
    rows = {(r["method"], r["iteration"]): r["avg_reward"] for r in _report(out)["curves"]}
    assert set(rows) == {("sft", 0)} | {(m, k) for m in ("eto", "coevolve") for k in (0, 1, 2)}
    for (method, k), avg in rows.items():
        run = "sft" if k == 0 else method
        per_seed = [_eval_reward(out / f"seed{s}" / run, k) for s in SEEDS]
        assert [avg["per_seed"][str(s)] for s in SEEDS] == pytest.approx(per_seed)
        assert avg["mean"] == pytest.approx(statistics.fmean(per_seed)) and avg["n"] == 3
        if len(set(per_seed)) > 1:
            assert avg["ci"] == pytest.approx(_t_ci(per_seed))
    assert "Learning curves" in (out / "report/study.md").read_text() and (out / "report/curves.png").exists()
    for seed in SEEDS:  # only the final evaluations left: a curve would repeat the main table
        for method in ("eto", "coevolve"):
            shutil.rmtree(out / f"seed{seed}/{method}/eval/iter1")
    shutil.rmtree(out / "report")
    assert main(["study", str(path), "--out", str(out), "--report-only"]) == 0
    assert "Learning curves" not in (out / "report/study.md").read_text()
    assert not (out / "report/curves.png").exists() and (out / "report/means.png").exists()


def test_partial_study_reports_finished_seeds_only(finished_study, tmp_path):
    path, source = finished_study
    out = tmp_path / "partial"
    shutil.copytree(source, out)
    shutil.rmtree(out / "seed2/coevolve")  # seed 2 did not finish
    assert main(["study", str(path), "--out", str(out), "--report-only"]) == 0
    report = _report(out)
    assert report["finished_seeds"] == [0, 1]
    coevolve = next(r for r in report["results"] if r["method"] == "coevolve")["avg_reward"]
    assert coevolve["n"] == 2 and "2" not in coevolve["per_seed"]
    eto = next(r for r in report["results"] if r["method"] == "eto")["avg_reward"]
    assert eto["n"] == 3  # finished runs of an unfinished seed still count
    assert "2 of 3 seeds finished" in (out / "report/study.md").read_text()


class Killed(BaseException):
    """Stands in for a kill in the middle of seed 1."""


def test_interrupted_study_resumes_to_the_same_report(finished_study, tmp_path, tiny_model_dir, monkeypatch):
    path, uninterrupted = finished_study
    out = tmp_path / "resumed"
    study, base = load_study(path)
    original = Pipeline.train_target

    def dying(self, k):
        if self.run_dir == out / "seed1/coevolve" and k == 1:
            raise Killed
        return original(self, k)

    monkeypatch.setattr(Pipeline, "train_target", dying)
    with pytest.raises(Killed):
        run_study(study, base, out, str(path))
    monkeypatch.setattr(Pipeline, "train_target", original)
    assert not (out / "seed2").exists()
    assert main(["study", str(path), "--out", str(out)]) == 0  # the same command resumes
    for manifest in out.glob("seed*/*/manifest.json"):
        stages = json.loads(manifest.read_text())["stages"]
        for name, rec in stages.items():
            expected = (
                2 if (manifest.parent == out / "seed1/coevolve" and name == "iter1/train_target") else 1
            )
            assert rec["status"] == "done" and rec["attempts"] == expected, (manifest, name)
    assert _stable(_report(out)) == _stable(_report(uninterrupted))
    # a finished study reruns nothing
    before = {p: p.read_text() for p in out.glob("seed*/*/manifest.json")}
    assert main(["study", str(path), "--out", str(out)]) == 0
    after = {p: p.read_text() for p in out.glob("seed*/*/manifest.json")}
    assert {p: json.loads(t)["stages"] for p, t in after.items()} == {
        p: json.loads(t)["stages"] for p, t in before.items()
    }
