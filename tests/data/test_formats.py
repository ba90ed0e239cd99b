import json

import pytest

from coevolve.data.formats import (
    filter_by_reward,
    load_eto_dpo,
    load_eto_sft,
    pair_to_eto,
    trajectory_to_eto,
)
from coevolve.data.records import RecordError


def _conv(*turns):
    return [{"from": f, "value": v} for f, v in turns]


GOOD = {
    "id": 4116,
    "conversations": _conv(
        ("human", "You are web shopping."),
        ("gpt", "OK"),
        ("human", "Observation:\nWebShop [SEP] Search"),
        ("gpt", "Thought: search\nAction: search[shoes]"),
        ("human", "Observation:\nresults"),
        ("gpt", "Thought: buy\nAction: click[buy now]"),
    ),
    "reward": 0.75,
}


def test_sft_roundtrip_and_roles(tmp_path):
    path = tmp_path / "sft.json"
    path.write_text(json.dumps([GOOD]))
    (traj,) = load_eto_sft(path, "webshop")
    assert traj.task.id == "4116" and traj.reward == 0.75 and not traj.success
    assert [m.role for m in traj.messages] == ["user", "assistant", "user", "assistant"]
    assert traj.instruction == "You are web shopping."
    assert trajectory_to_eto(traj) == {**GOOD, "id": "4116"}


def test_sft_reward_defaults_to_one_and_jsonl_is_read(tmp_path):
    rec = {k: v for k, v in GOOD.items() if k != "reward"}
    path = tmp_path / "sft.jsonl"
    path.write_text(json.dumps(rec) + "\n")
    (traj,) = load_eto_sft(path, "sciworld")
    assert traj.reward == 1.0 and traj.success


@pytest.mark.parametrize(
    "broken, message",
    [
        ({"conversations": GOOD["conversations"]}, "missing field 'id'"),
        ({"id": 1, "conversations": _conv(("human", "a"), ("bot", "b"))}, r"conversations\[1\]\.from"),
        ({"id": 1, "conversations": GOOD["conversations"][:5]}, "must end with a 'gpt' turn"),
        ({"id": 1, "conversations": GOOD["conversations"], "reward": "high"}, "'reward' must be a number"),
    ],
)
def test_malformed_sft_names_record_index(tmp_path, broken, message):
    path = tmp_path / "sft.json"
    path.write_text(json.dumps([GOOD, broken]))
    with pytest.raises(RecordError, match=rf"sft\.json: record 1: .*{message}"):
        load_eto_sft(path, "webshop")


def test_reward_filter_is_strict():
    path_records = [(0.7, False), (0.71, True), (1.0, True)]
    from coevolve.data.records import Message, Task, Trajectory

    trajs = [
        Trajectory(
            Task("webshop", "train", str(i)), "expert", "i", [Message("user", "x")], r, r == 1.0, "expert"
        )
        for i, (r, _) in enumerate(path_records)
    ]
    kept = filter_by_reward(trajs, 0.7)
    assert [t.reward for t in kept] == [r for r, keep in path_records if keep]


def test_dpo_import_export(tmp_path):
    conv = GOOD["conversations"]
    rec = {"id": 7, "prompt": conv[:3], "chosen": conv[3:], "rejected": conv[3:4]}
    path = tmp_path / "dpo.json"
    path.write_text(json.dumps([rec]))
    (pair,) = load_eto_dpo(path, "webshop")
    assert pair.kind == "eto" and len(pair.chosen) == 3
    assert pair_to_eto(pair) == {**rec, "id": "7"}
    rec_bad = {**rec, "rejected": conv[3:5]}  # ends on an observation
    path.write_text(json.dumps([rec, rec_bad]))
    with pytest.raises(RecordError, match="record 1: 'rejected' must end with an assistant turn"):
        load_eto_dpo(path, "webshop")
