"""Input files are read whole (no record lost to a missing newline or a BOM) or fail naming file and
line; JSON side files are replaced atomically."""

from __future__ import annotations

import json
import os

import pytest

from coevolve.data.formats import load_eto_sft, load_records
from coevolve.data.jsonl import JsonlError, read_json, read_jsonl, write_json_atomic
from coevolve.data.records import RecordError


def _expert(i: int) -> dict:
    turns = [
        ("human", "Do the task."),
        ("gpt", "OK"),
        ("human", f"Task {i}."),
        ("gpt", "Thought: go\nAction: go"),
    ]
    return {"id": str(i), "conversations": [{"from": f, "value": v} for f, v in turns]}


def _jsonl(records: list[dict]) -> str:
    return "\n".join(json.dumps(r) for r in records)


@pytest.mark.parametrize(
    "name, data",
    [
        ("no_final_newline.jsonl", _jsonl([_expert(0), _expert(1), _expert(2)]).encode()),
        ("one_line.jsonl", json.dumps(_expert(0)).encode()),
        ("bom.jsonl", b"\xef\xbb\xbf" + (_jsonl([_expert(0), _expert(1)]) + "\n").encode()),
        ("bom_list.json", b"\xef\xbb\xbf" + json.dumps([_expert(0), _expert(1)]).encode()),
        ("bom_one_line.jsonl", b"\xef\xbb\xbf" + json.dumps(_expert(0)).encode()),
    ],
)
def test_expert_files_load_every_record(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    expected = data.count(b'"conversations"')
    assert len(load_eto_sft(path, "sciworld")) == expected >= 1


@pytest.mark.parametrize(
    "text, where",
    [
        (_jsonl([_expert(0)]) + "\n" + '{"id": "1", "conv', r"in\.jsonl:2: not valid JSON"),
        (_jsonl([_expert(0)]) + "\nnot json\n", r"in\.jsonl:2: not valid JSON"),
        ("[" + json.dumps(_expert(0)) + ",\n{oops}]", r"in\.jsonl:2: not valid JSON"),
    ],
)
def test_a_bad_last_line_of_an_input_file_fails_naming_file_and_line(tmp_path, text, where):
    path = tmp_path / "in.jsonl"
    path.write_text(text)
    with pytest.raises(RecordError, match=where):
        load_records(path)


def test_input_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(json.dumps(_expert(0)).encode() + b'\n{"id": "\xe9"}\n')
    with pytest.raises(RecordError, match=r"in\.jsonl:2: not UTF-8"):
        load_records(path)


def test_own_append_file_still_drops_a_torn_tail_but_reads_a_bom(tmp_path):
    path = tmp_path / "episodes.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"a": 2')
    assert read_jsonl(path) == [{"a": 1}]
    path.write_bytes(b'{"a": 1}\n{"a": 2}')  # read as an input file: the last record counts
    assert read_jsonl(path, strict=True) == [{"a": 1}, {"a": 2}]
    path.write_bytes(b'{"a": 1}\n{"a": 2')
    with pytest.raises(JsonlError, match=r"episodes\.jsonl:2"):
        read_jsonl(path, strict=True)


def test_write_json_atomic_replaces_whole_and_read_json_names_a_damaged_file(tmp_path, monkeypatch):
    path = tmp_path / "costs.json"
    write_json_atomic(path, [{"stage": "sft"}])
    assert read_json(path) == [{"stage": "sft"}]

    def crash(*_):  # a kill between writing the temporary file and the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_json_atomic(path, [{"stage": "sft"}, {"stage": "eval"}])
    assert read_json(path) == [{"stage": "sft"}]  # the old file, whole
    path.write_text('[{"stage": ')
    with pytest.raises(JsonlError, match=r"costs\.json: not valid JSON"):
        read_json(path)
    assert read_json(tmp_path / "absent.json", default={}) == {}
