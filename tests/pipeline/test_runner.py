"""The co-evolution loop: stage order per method, a full tiny run, resume after a kill in every stage."""

from __future__ import annotations

import json

import ladder_env  # noqa: F401  registers the "ladder" environment
import pytest

from coevolve.data.jsonl import read_jsonl
from coevolve.pipeline.config import from_dict
from coevolve.pipeline.manifest import ConfigChanged
from coevolve.pipeline.runner import Pipeline


def _config(method: str, model: str = "unused", **extra) -> dict:
    return {
        "method": method,
        "base_model": model,
        "iterations": 2,
        "envs": [{"name": "ladder", "eval_splits": ["test"]}],
        "sft": {"epochs": 1, "batch_size": 2, "micro_batch_size": 1, "max_length": 512, "save_steps": 1},
        "dpo": {"epochs": 1, "batch_size": 2, "micro_batch_size": 1, "max_length": 512, "save_steps": 1},
        "target_sampling": {"max_new_tokens": 8},
        "aux_sampling": {"max_new_tokens": 8, "temperature": 1.0},
        "eval_sampling": {"max_new_tokens": 8},
        "rollout": {"backend": "hf", "max_concurrent": 4, "num_workers": 0},
        "check_token_caps": False,  # 8-token turns keep the tiny runs fast; tests/pipeline/test_checks.py
        **extra,
    }


def _names(method: str, tmp_path, **extra) -> list[str]:
    return [s.name for s in Pipeline(from_dict(_config(method, **extra)), tmp_path / method).stages()]


def test_stage_order_per_method(tmp_path):
    iteration = ["explore", "aux_pairs", "train_aux", "target_pairs", "train_target"]
    expected = ["experts", "sft", "eval/iter0"]
    for k in (1, 2):
        expected += [f"iter{k}/{s}" for s in iteration] + [f"eval/iter{k}"]
    assert _names("coevolve", tmp_path) == expected
    assert _names("eto", tmp_path) == [n for n in expected if "aux" not in n]
    assert _names("sft", tmp_path) == ["experts", "sft", "eval/iter0"]
    first = _names("coevolve", tmp_path, update_order="failure_first")
    assert (
        first.index("iter1/train_aux")
        < first.index("iter1/reexplore_aux")
        < first.index("iter1/target_pairs")
    )
    shared = _names("eto", tmp_path, sft_checkpoint="some/dir", eval_sft=False)
    assert shared[:2] == ["experts", "iter1/explore"]


def test_frozen_failure_agent_keeps_iteration_one_model(tmp_path):
    pipeline = Pipeline(from_dict(_config("frozen-failure")), tmp_path)
    (tmp_path / "checkpoints/iter1/failure").mkdir(parents=True)
    (tmp_path / "checkpoints/iter1/failure/training_done.json").write_text("{}")
    assert pipeline.train_aux(2) == {"pairs": 0, "trained": False, "frozen": True}
    assert pipeline.checkpoint("failure", 2) == str(tmp_path / "checkpoints/iter1/failure")
    assert pipeline.checkpoint("target", 2) == str(tmp_path / "checkpoints/sft")


class Killed(BaseException):
    """Stands in for a kill: raised after a stage did its work, before the manifest marks it done."""


def _run_with_kill(config, run_dir, kill_at: str | None) -> dict | None:
    pipeline = Pipeline(config, run_dir)
    plan = pipeline.stages()

    def killing(stage):
        def run():
            original()
            raise Killed(stage.name)

        original = stage.run
        return run

    for stage in plan:
        if stage.name == kill_at:
            stage.run = killing(stage)
    pipeline.stages = lambda: plan
    try:
        return pipeline.run()
    except Killed:
        return None


def test_tiny_run_resumes_after_a_kill_in_every_stage(tmp_path, tiny_model_dir):
    config = from_dict(_config("coevolve", str(tiny_model_dir), iterations=1))
    run_dir = tmp_path / "run"
    names = [s.name for s in Pipeline(config, run_dir).stages()]
    for name in names:  # each attempt finishes the stages before `name`, then dies in `name`
        assert _run_with_kill(config, run_dir, name) is None
    results = _run_with_kill(config, run_dir, None)
    manifest = json.loads((run_dir / "manifest.json").read_text())["stages"]
    assert [n for n, rec in manifest.items() if rec["status"] == "done"] == names
    assert all(manifest[n]["attempts"] == 2 for n in names)
    # resumed rollouts and evaluations hold each episode once
    for path in [*run_dir.glob("iter1/rollouts/ladder/*.jsonl"), *run_dir.glob("eval/*/*/episodes.jsonl")]:
        keys = [(r["task"]["id"], r["agent"], r["sample_index"]) for r in read_jsonl(path)]
        assert len(keys) == len(set(keys)) == 3, path
    assert len(read_jsonl(run_dir / "experts/ladder.jsonl")) == 3
    assert (run_dir / "checkpoints/iter1/target/training_done.json").exists()
    assert set(results["summaries"]) == {"ladder_test"} and results["iteration"] == 1
    costs = {c["stage"] for c in json.loads((run_dir / "costs.json").read_text())}
    assert costs == set(names)


def test_edited_finished_stage_is_refused(tmp_path, tiny_model_dir):
    data = _config("sft", str(tiny_model_dir))
    run_dir = tmp_path / "run"
    Pipeline(from_dict(data), run_dir).run()
    edited = from_dict({**data, "sft": {**data["sft"], "learning_rate": 0.5}})
    with pytest.raises(ConfigChanged, match="sft.learning_rate"):
        Pipeline(edited, run_dir).run()
    # asked for: recompute from the SFT stage under the new config
    Pipeline(edited, run_dir).run(redo_from="sft")
    done = json.loads((run_dir / "checkpoints/sft/training_done.json").read_text())
    assert done["settings"]["learning_rate"] == 0.5


@pytest.mark.parametrize(
    ("slice_", "expected"),
    [({}, ["1", "2", "3"]), ({"explore_limit": 2}, ["1", "2"]), ({"explore_per_type": 1}, ["1"])],
)
def test_exploration_slice_of_the_tasks_with_experts(tmp_path, slice_, expected):
    data = _config("eto")
    data["envs"] = [{**data["envs"][0], **slice_}]
    pipeline = Pipeline(from_dict(data), tmp_path / "run")
    pipeline.make_experts()  # gold experts for all three training tasks
    assert len(pipeline.experts("ladder")) == 3
    assert [t.id for t in pipeline.train_tasks("ladder")] == expected


def test_exploration_slice_must_be_positive():
    data = _config("eto")
    data["envs"] = [{**data["envs"][0], "explore_limit": 0}]
    with pytest.raises(Exception, match="explore_limit"):
        from_dict(data)
