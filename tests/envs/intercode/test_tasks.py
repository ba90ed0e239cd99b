"""Task splits on InterCode's Spider dev file and IPR's files."""

import json

import pytest

from coevolve.data.records import RecordError
from coevolve.data.resources import ResourceMissing
from coevolve.envs.intercode_sql.tasks import TEST_SIZE, load_tasks


def test_default_splits_partition_the_dev_file():
    test, train = load_tasks("test"), load_tasks("train")
    assert len(test) == TEST_SIZE == 200
    assert len(test) + len(train) == 1034
    assert [t.id for t in test] == [str(i) for i in range(200)]
    assert not {t.id for t in test} & {t.id for t in train}
    first = test[0]
    assert first.instruction and first.meta["db"] and first.meta["gold"].upper().startswith("SELECT")
    assert len({t.meta["db"] for t in test}) >= 19  # the dev file is shuffled: ids 0-199 span the databases


def test_ipr_split_without_its_file_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("COEVOLVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COEVOLVE_DATA_DIR", str(tmp_path))
    with pytest.raises(ResourceMissing, match="ic_spider_test.json"):
        load_tasks("ipr_test")


def test_ipr_split_reads_extra_db_and_indices(tmp_path, monkeypatch):
    folder = tmp_path / "ipr" / "intercode_sql"
    folder.mkdir(parents=True)
    records = [{"query": f"q{i}", "gold": "SELECT 1", "extra": {"db": "world_1"}} for i in range(3)]
    (folder / "ic_spider_test.json").write_text(json.dumps(records))
    (folder / "test_indices.json").write_text(json.dumps([2, 0]))
    monkeypatch.setenv("COEVOLVE_DATA_DIR", str(tmp_path))
    tasks = load_tasks("ipr_test")
    assert [(t.id, t.instruction, t.meta["db"]) for t in tasks] == [
        ("2", "q2", "world_1"),
        ("0", "q0", "world_1"),
    ]


def test_bad_record_names_file_record_and_field(tmp_path, monkeypatch):
    folder = tmp_path / "ipr" / "intercode_sql"
    folder.mkdir(parents=True)
    (folder / "ic_spider_test.json").write_text(json.dumps([{"query": "q", "extra": {"db": "x"}}]))
    (folder / "test_indices.json").write_text("[0]")
    monkeypatch.setenv("COEVOLVE_DATA_DIR", str(tmp_path))
    with pytest.raises(RecordError, match=r"ic_spider_test.json: record 0: field 'gold'"):
        load_tasks("ipr_test")
