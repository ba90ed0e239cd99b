"""`summarize` on hand-built episodes, `evaluate` + `coevolve eval` resuming after a crash, and several splits
evaluated in one pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from counting_env import CountingEnv  # noqa: F401 - registers "counting"

from coevolve.agents import SamplingParams
from coevolve.cli import main
from coevolve.data.records import Message, Step, Task, Trajectory
from coevolve.evaluation.runner import EPISODES_FILE, evaluate, evaluate_splits
from coevolve.evaluation.summary import summarize


def _traj(task_id: str, reward: float, actions: list[str | None], end: str) -> Trajectory:
    steps = [Step("raw", a, "obs", reward, False) for a in actions]
    return Trajectory(
        Task("e", "s", task_id), "target", "inst", [Message("user", "t")], reward, reward == 1.0, end, steps
    )


def test_summarize_metrics():
    trajs = [
        _traj("1", 1.0, ["a", "b"], "done"),
        _traj("2", 0.5, ["a", None, None, "c"], "step_cap"),
        _traj("3", 0.0, [], "context_length"),
    ]
    s = summarize(trajs, "e", "s", "official", "m", "target")
    assert s["episodes"] == 3
    assert s["avg_reward"] == pytest.approx(50.0)
    assert s["success_rate"] == pytest.approx(1 / 3)
    assert s["avg_steps"] == pytest.approx(2.0)
    assert s["parse_rate"] == pytest.approx(4 / 6)
    assert s["end_reasons"] == {"context_length": 1, "done": 1, "step_cap": 1}
    assert (s["env"], s["split"], s["data"], s["model"], s["agent"]) == ("e", "s", "official", "m", "target")
    assert summarize([], "e", "s", "official", "m", "target")["episodes"] == 0
    assert s["prompts"] is None
    assert summarize([], "e", "s", "sample", "m", "t", "embedded")["prompts"] == "embedded"


def _eval(model: Path, out: Path, **kw) -> dict:
    return evaluate(
        str(model), "counting", "test", out, params=SamplingParams(max_new_tokens=5), num_workers=0,
        max_concurrent=2, show_progress=False, policy_kwargs={"device": "cpu"}, **kw,
    )  # fmt: skip


def test_evaluate_resumes_after_crash_with_clean_summary(tiny_model_dir, tmp_path):
    clean = _eval(tiny_model_dir, tmp_path / "clean")
    assert clean["episodes"] == 6 and clean["end_reasons"] == {"done": 4, "step_cap": 2}
    assert clean["avg_reward"] == pytest.approx(100 * (0.5 + 1 + 0.5 + 1) / 6)
    assert json.loads((tmp_path / "clean" / "summary.json").read_text()) == clean

    # A run killed after 3 episodes, mid-write of the 4th: keep 3 lines plus a torn one.
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    lines = (tmp_path / "clean" / "episodes.jsonl").read_text().splitlines(keepends=True)
    (crashed / "episodes.jsonl").write_text("".join(lines[:3]) + lines[3][:40])
    resumed = _eval(tiny_model_dir, crashed)
    assert resumed == clean
    after = (crashed / "episodes.jsonl").read_text().splitlines(keepends=True)
    assert after[:3] == lines[:3] and len(after) == 6  # finished episodes kept, not redone


def test_splits_in_one_pool_match_separate_evaluations_and_resume(tiny_model_dir, tmp_path):
    opts = dict(params=SamplingParams(max_new_tokens=5), num_workers=0, max_concurrent=4, show_progress=False,
                policy_kwargs={"device": "cpu"}, limit=4)  # fmt: skip
    dirs = {"test": tmp_path / "joint" / "test", "dev": tmp_path / "joint" / "dev"}
    joint = evaluate_splits(str(tiny_model_dir), "counting", dirs, **opts)
    for split, folder in dirs.items():
        alone = evaluate(str(tiny_model_dir), "counting", split, tmp_path / "alone" / split, **opts)
        assert joint[split] == alone and alone["episodes"] == 4
        keys = [
            json.loads(line)["task"]["split"] for line in (folder / EPISODES_FILE).read_text().splitlines()
        ]
        assert keys == [split] * 4  # each split's episodes in its own folder, none of the other's
        assert json.loads((folder / "summary.json").read_text()) == alone
    # killed with one split finished and the other half done: the rerun redoes nothing finished
    lines = (dirs["dev"] / EPISODES_FILE).read_text().splitlines(keepends=True)
    (dirs["dev"] / EPISODES_FILE).write_text("".join(lines[:2]))
    before = (dirs["test"] / EPISODES_FILE).read_text()
    assert evaluate_splits(str(tiny_model_dir), "counting", dirs, **opts) == joint
    assert (dirs["test"] / EPISODES_FILE).read_text() == before
    assert (dirs["dev"] / EPISODES_FILE).read_text().splitlines(keepends=True)[:2] == lines[:2]


def test_splits_sharing_a_task_are_refused(tiny_model_dir, tmp_path):
    task = Task("counting", "test", "1")
    with pytest.raises(ValueError, match="share a task"):
        evaluate_splits(str(tiny_model_dir), "counting", {"test": tmp_path / "a", "dev": tmp_path / "b"},
                        tasks={"test": [task], "dev": [task]}, num_workers=0)  # fmt: skip


def test_eval_cli_writes_files_and_reports_bad_split(tiny_model_dir, tmp_path, capsys):
    args = ["eval", "--model", str(tiny_model_dir), "--env", "counting", "--num-workers", "0",
            "--max-new-tokens", "4", "--limit", "2", "--out", str(tmp_path / "o")]  # fmt: skip
    assert main([*args, "--split", "test"]) == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["episodes"] == 2 and summary["model"] == str(tiny_model_dir)
    assert (summary["data"], summary["prompts"]) == ("official", "embedded")  # the Env defaults
    assert "avg_reward" in capsys.readouterr().out
    assert main([*args, "--split", "nope"]) == 2
    assert "unknown counting split 'nope'" in capsys.readouterr().err
