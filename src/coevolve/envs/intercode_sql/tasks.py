"""InterCodeSQL tasks: InterCode's 1,034 Spider dev questions, and IPR's own files when supplied.

Default splits on the dev data: `test` = ids 0-199, `train` = ids 200-1033. The dev file is already
shuffled (ids 0-199 span 19 of the 20 databases with the file's hardness mix), and IPR's own test split
is likewise the first 200 ids of its test file, so the first 200 ids are the simplest fixed choice.
`ipr_train` / `ipr_test` index IPR's `ic_spider_{train,test}.json` with its published index lists; the
train tasks need the Spider *train* databases, which only IPR's server image holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from coevolve.data.records import RecordError, Task
from coevolve.data.resources import Resource, register_resource, resolve

ENV_NAME = "intercode_sql"
DEV_TASKS = "intercode/ic_spider_dev.json"
TEST_SIZE = 200
_IPR_HOW = (
    "download intercode_sql_data.zip as IPR's setup.sh does (WeiminXiong/IPR) and copy {file} to "
    "<data-dir>/ipr/intercode_sql/{file}; its train tasks also need the Spider train databases"
)
IPR_TASK_FILES = {
    split: register_resource(
        Resource(
            name=f"ipr/intercode_sql/ic_spider_{split}.json",
            url=None,
            sha256=None,
            source="intercode_sql_data.zip from IPR's setup.sh (WeiminXiong/IPR)",
            how_to_get=_IPR_HOW.format(file=f"ic_spider_{split}.json"),
        )
    ).name
    for split in ("train", "test")
}
IPR_INDICES = {split: f"ipr/intercode_sql/{split}_indices.json" for split in ("train", "test")}
SPLITS = ("train", "test", "ipr_train", "ipr_test")


def _load_json_list(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, list):
        raise RecordError(f"{path}: expected a JSON list")
    return data


def _task(record: Any, split: str, index: int, path: Path) -> Task:
    where = f"{path}: record {index}"
    if not isinstance(record, dict):
        raise RecordError(f"{where}: expected an object")
    db = record.get("db") or (record.get("extra") or {}).get("db")  # IPR's files nest it under "extra"
    for name, value in (("db", db), ("gold", record.get("gold")), ("query", record.get("query"))):
        if not isinstance(value, str) or not value:
            raise RecordError(f"{where}: field {name!r} must be a non-empty string")
    meta = {"db": db, "gold": record["gold"], "hardness": record.get("hardness", "")}
    if isinstance(record.get("db_tables"), dict):
        meta["tables"] = sorted(record["db_tables"])
    return Task(env=ENV_NAME, split=split, id=str(index), instruction=record["query"], meta=meta)


def load_tasks(split: str, data_dir: str | Path | None = None) -> list[Task]:
    """The tasks of a split, ids being positions in their task file (as IPR's indices)."""
    if split in ("train", "test"):
        path = resolve(DEV_TASKS, data_dir)
        records = _load_json_list(path)
        ids = range(TEST_SIZE) if split == "test" else range(TEST_SIZE, len(records))
    elif split in ("ipr_train", "ipr_test"):
        part = split.removeprefix("ipr_")
        path = resolve(IPR_TASK_FILES[part], data_dir)
        records = _load_json_list(path)
        index_path = resolve(IPR_INDICES[part], data_dir)
        ids = _load_json_list(index_path)
        bad = [i for i in ids if not isinstance(i, int) or not 0 <= i < len(records)]
        if bad:
            raise RecordError(
                f"{index_path}: ids out of range for {path} ({len(records)} records): {bad[:5]}"
            )
    else:
        raise ValueError(f"unknown intercode_sql split {split!r}; valid: {', '.join(SPLITS)}")
    return [_task(records[i], split, i, path) for i in ids]
