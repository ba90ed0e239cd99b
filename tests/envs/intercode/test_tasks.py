"""Task splits on InterCode's Spider dev file, the intercode-bench wheel's questions and IPR's files."""

import json

import pytest

from coevolve.data.records import RecordError
from coevolve.data.resources import ResourceMissing, find_local
from coevolve.envs.intercode_sql.tasks import (
    DEV_TASKS,
    TEST_SIZE,
    choose_task_set,
    dump_tables,
    load_tasks,
    read_wheel_queries,
    wheel_queries_path,
    wheel_tasks,
)


def _dev_fixture(folder, n: int = 230) -> None:
    """A small ic_spider_dev.json in InterCode's schema (query, gold, db, hardness, db_tables)."""
    records = [
        {
            "query": f"question {i}",
            "gold": f"SELECT {i}",
            "db": f"db_{i % 7}",
            "hardness": "easy",
            "db_tables": {"t": ["c"]},
        }
        for i in range(n)
    ]
    (folder / "intercode").mkdir(parents=True)
    (folder / DEV_TASKS).write_text(json.dumps(records))


def test_dev_file_splits_first_200_are_test(tmp_path, monkeypatch):
    monkeypatch.setenv("COEVOLVE_CACHE_DIR", str(tmp_path / "cache"))
    _dev_fixture(tmp_path / "data")
    monkeypatch.setenv("COEVOLVE_DATA_DIR", str(tmp_path / "data"))
    assert choose_task_set("auto") == "spider_dev"
    test, train = load_tasks("test", task_set="auto"), load_tasks("train", task_set="auto")
    assert [t.id for t in test] == [str(i) for i in range(TEST_SIZE)]
    assert [t.id for t in train] == [str(i) for i in range(TEST_SIZE, 230)]
    assert train[0].instruction == "question 200" and train[0].meta["tables"] == ["t"]


def test_auto_without_dev_file_uses_the_wheel_questions(tmp_path, monkeypatch):
    monkeypatch.setenv("COEVOLVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COEVOLVE_DATA_DIR", raising=False)
    monkeypatch.setenv("COEVOLVE_OFFLINE", "1")
    assert choose_task_set("auto") == "wheel"
    rows = read_wheel_queries(wheel_queries_path())
    test, train = load_tasks("test", task_set="auto"), load_tasks("train", task_set="auto")
    assert len(test) + len(train) == len(rows) >= 20
    assert [t.id for t in test] == [f"s{i}" for i in range(0, len(rows), 2)]
    assert [t.id for t in train] == [f"s{i}" for i in range(1, len(rows), 2)]
    assert test[0].instruction == rows[0]["query"] and test[0].meta["db"] == rows[0]["db"]
    assert len({t.meta["db"] for t in train}) >= 3  # alternating positions spread the databases


def test_wheel_file_errors_name_file_and_line(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("query,gold,db\nq1,SELECT 1,pets_1\nq2,,pets_1\n")
    with pytest.raises(RecordError, match=r"q.csv: line 3: empty field\(s\) \['gold'\]"):
        wheel_tasks("test", path)
    path.write_text("question,gold,db\nq1,SELECT 1,pets_1\n")
    with pytest.raises(RecordError, match=r"q.csv: header lacks column\(s\) \['query'\]"):
        wheel_tasks("test", path)


def test_unknown_task_set_lists_valid():
    with pytest.raises(ValueError, match="spider_dev, wheel"):
        choose_task_set("spider")


@pytest.mark.skipif(
    find_local(DEV_TASKS) is None, reason=f"{DEV_TASKS} (InterCode's Spider dev file) is not local"
)
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


def test_dump_tables_per_database(tmp_path):
    dump = tmp_path / "spider_dev.sql"
    dump.write_text(
        "CREATE DATABASE IF NOT EXISTS `a`;\nUSE `a`;\nCREATE TABLE `t1` (\n  x int\n);\n"
        "CREATE TABLE `t2` (\n  y int\n);\nCREATE DATABASE IF NOT EXISTS `b`;\nUSE `b`;\n"
        "CREATE TABLE `u` (\n  z int\n);\n"
    )
    assert dump_tables(dump) == {"a": ["t1", "t2"], "b": ["u"]}
