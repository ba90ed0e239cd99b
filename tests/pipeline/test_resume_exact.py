"""Exact resume: a run killed in the middle of a stage (mid-rollout with env worker processes, and
mid-training right after a checkpoint) and resumed gives the same pairs, evaluation summaries and
final loss history as a run that was never interrupted."""

from __future__ import annotations

import json
import logging

import ladder_env  # noqa: F401  registers the "ladder" environment
import pytest
from transformers import Trainer

from coevolve.data import jsonl
from coevolve.pipeline.config import from_dict
from coevolve.pipeline.runner import Pipeline


class Killed(BaseException):
    """Stands in for a kill in the middle of a stage."""


def _config(model: str) -> dict:
    train = {"epochs": 2, "batch_size": 2, "micro_batch_size": 1, "max_length": 512, "save_steps": 1,
             "logging_steps": 1, "report_to": "none"}  # fmt: skip
    return {
        "method": "coevolve",
        "base_model": model,
        "iterations": 1,
        "envs": [{"name": "ladder", "eval_splits": ["test"]}],
        "sft": train,
        "dpo": train,
        "target_sampling": {"max_new_tokens": 32},
        "aux_sampling": {"max_new_tokens": 32},
        "eval_sampling": {"max_new_tokens": 32},
        "rollout": {"backend": "hf", "max_concurrent": 2, "num_workers": 1},
    }


def _outcome(run_dir) -> dict:
    pairs = {p.name: p.read_text() for p in sorted(run_dir.glob("iter1/pairs/*.jsonl"))}
    summaries = {  # the model is named by its path, which holds the run directory
        str(p.relative_to(run_dir)): json.loads(p.read_text().replace(str(run_dir), "RUN"))
        for p in run_dir.glob("eval/*/*/summary.json")
    }
    losses = {}
    for done in sorted(run_dir.glob("checkpoints/**/training_done.json")):
        history = json.loads(done.read_text())["log_history"]
        losses[str(done.parent.relative_to(run_dir))] = [e.get("loss") for e in history if "loss" in e]
    return {"pairs": pairs, "summaries": summaries, "losses": losses}


def test_mid_stage_kills_resume_to_the_uninterrupted_result(tmp_path, tiny_model_dir, monkeypatch, caplog):
    config = from_dict(_config(str(tiny_model_dir)))
    Pipeline(config, tmp_path / "clean").run()
    clean = _outcome(tmp_path / "clean")
    assert clean["pairs"] and all(len(v) >= 2 for v in clean["losses"].values())

    killed = tmp_path / "killed"
    # 1. mid-rollout: the explore stage dies after its second finished episode
    written = {"n": 0}
    original_write = jsonl.JsonlWriter.write

    def dying_write(self, record):
        original_write(self, record)
        if "iter1/rollouts" in str(self.path):
            written["n"] += 1
            if written["n"] == 2:
                raise Killed("mid-rollout")

    monkeypatch.setattr(jsonl.JsonlWriter, "write", dying_write)
    with pytest.raises(Killed):
        Pipeline(config, killed).run()
    assert len(jsonl.read_jsonl(next(killed.glob("iter1/rollouts/ladder/*.jsonl")))) == 2
    monkeypatch.setattr(jsonl.JsonlWriter, "write", original_write)

    # 2. mid-training: the target's DPO stage dies right after saving checkpoint-2
    original_save = Trainer._save_checkpoint

    def dying_save(self, *args, **kwargs):
        original_save(self, *args, **kwargs)
        if "iter1/target" in str(self.args.output_dir) and self.state.global_step == 2:
            raise Killed("mid-training")

    monkeypatch.setattr(Trainer, "_save_checkpoint", dying_save)
    with pytest.raises(Killed):
        Pipeline(config, killed).run()
    assert (killed / "checkpoints/iter1/target/checkpoint-2").is_dir()
    monkeypatch.setattr(Trainer, "_save_checkpoint", original_save)

    with caplog.at_level(logging.INFO):
        Pipeline(config, killed).run()
    assert "resuming DPO from" in caplog.text and "checkpoint-2" in caplog.text
    stages = json.loads((killed / "manifest.json").read_text())["stages"]
    assert stages["iter1/explore"]["attempts"] == 2 and stages["iter1/train_target"]["attempts"] == 2
    assert _outcome(killed) == clean


def test_rollouts_feed_the_next_stage_in_task_order_not_finish_order(tmp_path):
    from coevolve.data.formats import trajectory_to_eto
    from coevolve.data.records import Message, Task, Trajectory

    config = from_dict(_config("unused"))
    pipeline = Pipeline(config, tmp_path)

    def traj(task_id: str, index: int = 0) -> Trajectory:
        messages = [Message("user", "Climb."), Message("assistant", "Action: climb")]
        return Trajectory(Task("ladder", "train", task_id), "target", "Climb.", messages, 0.0, False, "done",
                          sample_index=index)  # fmt: skip

    with jsonl.JsonlWriter(pipeline.expert_path("ladder")) as out:
        out.write_all(trajectory_to_eto(traj(i)) for i in ("1", "2", "3"))
    with jsonl.JsonlWriter(pipeline.rollout_path(1, "ladder", "target")) as out:  # finish order
        out.write_all([traj("3"), traj("1", 1), traj("2"), traj("1", 0)])
    got = [(t.task.id, t.sample_index) for t in pipeline.rollouts(1, "ladder", "target")]
    assert got == [("1", 0), ("1", 1), ("2", 0), ("3", 0)]
