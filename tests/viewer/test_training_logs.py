"""TensorBoard event files of a small real run, read back with tensorboard's EventAccumulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coevolve.pipeline.scalars import stage_scalars
from coevolve.training.common import reporters
from coevolve.training.settings import DPOSettings


def scalars(folder: Path) -> dict[str, list]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}


def test_every_training_stage_writes_tensorboard_events(tiny_runs):
    run = tiny_runs["coevolve"]
    manifest = json.loads((run / "manifest.json").read_text())["stages"]
    trained = [
        name for name, rec in manifest.items() if "train" in name and (rec["outputs"] or {}).get("trained")
    ]
    assert "iter1/train_target" in trained
    sft = scalars(run / "logs" / "sft")
    assert {"train/loss", "train/learning_rate", "train/train_tokens_per_second"} <= set(sft)
    for stage in trained:
        k, which = stage.split("/")
        agent = "target" if which == "train_target" else "failure"
        tags = scalars(run / "logs" / k / agent)
        assert {"train/loss", "train/rewards/margins", "train/rewards/accuracies", "train/logps/chosen",
                "train/logps/rejected", "train/learning_rate"} <= set(tags), (stage, sorted(tags))  # fmt: skip
        assert all(e.step >= 1 for e in tags["train/loss"])
    # the target preset adds the SFT term (0.5 DPO + 0.5 NLL), logged as its own curve
    assert "train/sft_loss" in scalars(run / "logs" / "iter1" / "target")


def test_pipeline_logs_per_iteration_scalars(tiny_runs):
    run = tiny_runs["coevolve"]
    tags = scalars(run / "logs" / "pipeline")
    success = tags["rollout/ladder/failure/success_rate"]
    assert sorted(e.step for e in success) == [1, 2]
    rollouts = [
        json.loads(line) for line in (run / "iter1/rollouts/ladder/failure.jsonl").read_text().splitlines()
    ]
    expected = sum(r["reward"] >= 1 for r in rollouts) / len(rollouts)
    assert [e.value for e in success if e.step == 1] == [pytest.approx(expected)]
    assert {e.step for e in tags["eval/ladder_test/avg_reward"]} == {0, 1, 2}
    assert {e.step for e in tags["pairs/target/count"]} == {1, 2}
    assert "rollout/ladder/target/hard_negative_share" in tags


def test_stage_scalars_ignore_training_and_expert_stages(tiny_runs):
    assert stage_scalars(tiny_runs["eto"], "sft") is None
    assert stage_scalars(tiny_runs["eto"], "iter1/train_target") is None
    k, values = stage_scalars(tiny_runs["eto"], "iter2/target_pairs")
    assert k == 2 and values["pairs/target/count"] >= 0


def test_optional_trackers_are_refused_when_missing():
    assert reporters(DPOSettings(report_to="none")) == []
    assert reporters(DPOSettings(report_to="tensorboard")) == ["tensorboard"]
    with pytest.raises(ValueError, match="unknown logger 'tensorbord'"):
        reporters(DPOSettings(report_to="tensorbord"))
    import importlib.util

    if importlib.util.find_spec("wandb") is None:
        with pytest.raises(ValueError, match="not installed"):
            reporters(DPOSettings(report_to="tensorboard,wandb"))
