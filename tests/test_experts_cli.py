"""`coevolve expert` and `coevolve play` on ScienceWorld: records, resume, torn lines, replay."""

from __future__ import annotations

import json

import pytest

from coevolve.cli import main
from coevolve.data.formats import load_eto_sft
from coevolve.data.jsonl import read_jsonl
from coevolve.data.records import RecordError
from coevolve.envs.sciworld import SciWorldEnv
from coevolve.experts import select_tasks

IDS = ["18_27", "13_225"]


def test_per_type_selection_covers_types():
    tasks = SciWorldEnv().tasks("unseen")
    chosen = select_tasks(tasks, limit=30, per_type=2, ids=None)
    assert len(chosen) == 30 and len({t.meta["task_name"] for t in chosen}) == 15
    assert len({t.meta["task_name"] for t in select_tasks(tasks, 30, None)}) < 10


def test_malformed_eto_file_names_the_record(tmp_path):
    path = tmp_path / "bad.json"
    good = {
        "id": "1",
        "conversations": [
            {"from": "human", "value": "i"},
            {"from": "gpt", "value": "OK"},
            {"from": "human", "value": "t"},
            {"from": "gpt", "value": "a"},
        ],
    }
    path.write_text(json.dumps([good, {"id": "2", "conversations": [{"from": "robot", "value": "x"}]}]))
    with pytest.raises(RecordError, match="record 1"):
        load_eto_sft(path, "sciworld")


@pytest.mark.java
def test_expert_writes_resumes_after_torn_line_and_replays(tmp_path, capsys):
    out = tmp_path / "experts.jsonl"
    args = ["expert", "sciworld", "--split", "unseen", "--out", str(out)]
    assert main([*args, "--task", IDS[0]]) == 0
    with out.open("ab") as fh:
        fh.write(b'{"id": "13_225", "conversa')  # a crash mid-write
    assert main([*args, "--task", IDS[0], "--task", IDS[1]]) == 0
    records = read_jsonl(out)
    assert [r["id"] for r in records] == IDS  # the first was kept, the torn one redone
    trajs = load_eto_sft(out, "sciworld", "unseen")
    assert all(t.reward == 1.0 and t.messages[-1].role == "assistant" for t in trajs)
    assert trajs[0].meta["actions"][-1] == trajs[0].messages[-1].content.split("Action: ")[1]
    assert trajs[0].messages[0].content.startswith("Task Description:")
    parallel = tmp_path / "parallel.jsonl"  # two worker processes (JVMs): the same records, in split order
    tasks = [f"--task={i}" for i in IDS]
    assert main([*args[:-1], str(parallel), "--workers", "2", *tasks]) == 0
    assert read_jsonl(parallel) == sorted(records, key=lambda r: r["id"])  # 13_225 comes first
    capsys.readouterr()
    assert main(["play", "sciworld", "--replay", str(out)]) == 0
    records[0]["actions"] = records[0]["actions"][:-1]
    short = tmp_path / "short.jsonl"
    short.write_text(json.dumps(records[0]) + "\n")
    assert main(["play", "sciworld", "--replay", str(short)]) == 1


@pytest.mark.java
def test_play_prints_steps_and_summary(tmp_path, capsys):
    actions = tmp_path / "a.txt"
    actions.write_text(json.dumps("no action") + "\n" + json.dumps("Thought: t\nAction: look around") + "\n")
    assert main(["play", "sciworld", "--task", "13_225", "--actions", str(actions), "--raw"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["task"] == "13_225"
    assert lines[1]["action"] is None and lines[2]["action"] == "look around"
    assert lines[-1] == {"reward": lines[2]["reward"], "success": False, "steps": 2, "end_reason": "stopped"}
    assert main(["play", "sciworld", "--task", "99_1"]) == 2
    assert main(["expert", "sciworld", "--split", "unseen", "--out", str(actions), "--workers", "0"]) == 2
    assert "valid:" in capsys.readouterr().err
