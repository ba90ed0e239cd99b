import json
import logging

import pytest

from coevolve.data.jsonl import JsonlError, JsonlWriter, read_jsonl, trajectory_file
from coevolve.data.records import Message, RecordError, Task, Trajectory


def _traj(i: int) -> Trajectory:
    return Trajectory(
        task=Task("sciworld", "train", f"0_{i}"),
        agent="target",
        instruction="do it",
        messages=[Message("user", "task"), Message("assistant", "Thought: x\nAction: look around")],
        reward=0.5,
        success=False,
        end_reason="step_cap",
    )


def test_roundtrip_typed_records(tmp_path):
    path = tmp_path / "t.jsonl"
    with trajectory_file(path).writer() as out:
        out.write(_traj(1))
        out.write(_traj(2))
    back = trajectory_file(path).read()
    assert [t.task.id for t in back] == ["0_1", "0_2"]
    assert back[0] == _traj(1)


def test_torn_last_line_is_dropped_with_warning_and_repaired(tmp_path, caplog):
    path = tmp_path / "t.jsonl"
    with JsonlWriter(path) as out:
        out.write({"a": 1})
        out.write({"a": 2})
    with path.open("ab") as fh:  # a crash in the middle of the third write
        fh.write(b'{"a": 3, "b"')
    with caplog.at_level(logging.WARNING):
        assert read_jsonl(path) == [{"a": 1}, {"a": 2}]
    assert "torn last line" in caplog.text
    with JsonlWriter(path) as out:  # appending after the crash starts on a clean line
        out.write({"a": 4})
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}, {"a": 4}]


def test_corrupt_middle_line_raises_with_line_number(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"a": 1}\nnot json\n{"a": 3}\n')
    with pytest.raises(JsonlError, match=r"t\.jsonl:2"):
        read_jsonl(path)


def test_bad_record_names_field_and_record(tmp_path):
    path = tmp_path / "t.jsonl"
    data = json.loads(json.dumps(_traj(1).__dict__, default=lambda o: o.__dict__))
    data["end_reason"] = "bored"
    path.write_text(json.dumps({"a": 0}) + "\n")
    path.write_text(json.dumps(data) + "\n")
    with pytest.raises(RecordError, match=r"record 1: field 'end_reason'"):
        trajectory_file(path).read()


def test_missing_file_reads_empty(tmp_path):
    assert read_jsonl(tmp_path / "none.jsonl") == []
