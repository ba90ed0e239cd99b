"""InterCodeSQL tasks: InterCode's 1,034 Spider dev questions, and IPR's own files when supplied.

Default splits on the dev data: `test` = ids 0-199, `train` = ids 200-1033. The dev file is already
shuffled (ids 0-199 span 19 of the 20 databases with the file's hardness mix), and IPR's own test split
is likewise the first 200 ids of its test file, so the first 200 ids are the simplest fixed choice.
`ipr_train` / `ipr_test` index IPR's `ic_spider_{train,test}.json` with its published index lists; the
train tasks need the Spider *train* databases, which only IPR's server image holds.

Task set (env kwarg `task_set`) for `train`/`test`:
- "spider_dev": InterCode's `ic_spider_dev.json` (data dir, cache, else a pinned download); label "official".
- "wheel": the 23 Spider dev questions the installed `intercode-bench` wheel ships beside its database
  dump (`intercode/assets/datasets/sql_queries.csv`: query, gold, db). Even positions are `test`, odd
  ones `train` (the file is grouped by database; this spreads the 8 databases over both); ids "s0",
  "s1", ... so they never collide with dev-file ids. Label "sample": not a benchmark split.
- "auto" (default): "spider_dev" when that file is already local, else "wheel" (never downloads).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

from coevolve.data.records import RecordError, Task
from coevolve.data.resources import Resource, find_local, register_resource, resolve

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
TASK_SETS = ("auto", "spider_dev", "wheel")
DATA_LABELS = {"spider_dev": "official", "wheel": "sample"}
WHEEL_ID_PREFIX = "s"
WHEEL_FIELDS = ("query", "gold", "db")


def choose_task_set(task_set: str, data_dir: str | Path | None = None) -> str:
    """The concrete task set ("auto" -> the dev file when local, else the wheel's sample)."""
    if task_set not in TASK_SETS:
        raise ValueError(f"intercode_sql: unknown task_set {task_set!r}; valid: {', '.join(TASK_SETS)}")
    if task_set != "auto":
        return task_set
    return "spider_dev" if find_local(DEV_TASKS, data_dir) else "wheel"


def wheel_queries_path() -> Path:
    """intercode-bench's sql_queries.csv, found without importing intercode (its env pulls in docker)."""
    spec = importlib.util.find_spec("intercode")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the PyPI package intercode-bench is not installed; its sql_queries.csv is the offline "
            f"InterCodeSQL task set (or get {DEV_TASKS} with `coevolve data fetch {DEV_TASKS}`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "datasets" / "sql_queries.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall intercode-bench==0.1.22")
    return path


def read_wheel_queries(path: Path) -> list[dict[str, str]]:
    """Rows of a query,gold,db CSV; a missing column or empty field names the file and line."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [f for f in WHEEL_FIELDS if f not in (reader.fieldnames or [])]
        if missing:
            raise RecordError(f"{path}: header lacks column(s) {missing}; expected {list(WHEEL_FIELDS)}")
        rows = []
        for row in reader:
            empty = [f for f in WHEEL_FIELDS if not (row.get(f) or "").strip()]
            if empty:
                raise RecordError(f"{path}: line {reader.line_num}: empty field(s) {empty}")
            rows.append({f: row[f] for f in WHEEL_FIELDS})
    return rows


_USE_DB = re.compile(r"^USE `([^`]+)`;", re.MULTILINE)
_CREATE_TABLE = re.compile(r"^CREATE TABLE `([^`]+)`", re.MULTILINE)


def dump_tables(dump: Path) -> dict[str, list[str]]:
    """Database -> its table names, read from a mysqldump file (the wheel's spider_dev.sql)."""
    text = dump.read_text(encoding="utf-8", errors="replace")
    tables: dict[str, list[str]] = {}
    marks = [(m.start(), m.group(1)) for m in _USE_DB.finditer(text)]
    for (start, db), (end, _) in zip(marks, [*marks[1:], (len(text), "")], strict=True):
        tables[db] = _CREATE_TABLE.findall(text, start, end)
    return tables


def wheel_tasks(split: str, path: Path | None = None) -> list[Task]:
    """`test` = even positions, `train` = odd positions of the wheel's query file. Table names (for the
    gold-path expert's DESC steps, as `db_tables` gives them in the dev file) come from the dump beside it."""
    path = path or wheel_queries_path()
    rows = read_wheel_queries(path)
    dump = path.with_name("spider_dev.sql")
    tables = dump_tables(dump) if dump.is_file() else {}
    for row in rows:
        row["db_tables"] = dict.fromkeys(tables.get(row["db"], []))  # type: ignore[assignment]
    first = 0 if split == "test" else 1
    return [
        _task(rows[i], split, i, path, task_id=f"{WHEEL_ID_PREFIX}{i}") for i in range(first, len(rows), 2)
    ]


def _load_json_list(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, list):
        raise RecordError(f"{path}: expected a JSON list")
    return data


def _task(record: Any, split: str, index: int, path: Path, task_id: str | None = None) -> Task:
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
    return Task(env=ENV_NAME, split=split, id=task_id or str(index), instruction=record["query"], meta=meta)


def load_tasks(split: str, data_dir: str | Path | None = None, task_set: str = "spider_dev") -> list[Task]:
    """The tasks of a split, ids being positions in their task file (as IPR's indices)."""
    if split in ("train", "test") and choose_task_set(task_set, data_dir) == "wheel":
        return wheel_tasks(split)
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
