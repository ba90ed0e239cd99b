"""Append-only JSONL files that survive a crash mid-write, strict readers for input files, atomic JSON.

Each record is one line, written with a single `write` and flushed + fsynced, so a crash leaves at
most one torn last line. Reading one of *our own* append files (`strict=False`) detects that line (no
newline at the end, or not valid JSON), warns and drops it; opening for append truncates it so the next
record starts on a clean line. A bad line anywhere else is corruption, not a crash, and raises with the
file and line number.

*Input* files (experts, pairs, replays: `strict=True`) are never ours to repair: every line must be a
JSON object, a last line without a newline is a record like any other, and a bad one raises naming the
file and line. Both read a UTF-8 byte-order mark as nothing.

Small JSON side files (costs, stats, summaries) are replaced whole with `write_json_atomic`
(temporary file, fsync, rename), so a kill leaves the old or the new file, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from coevolve.data.records import RecordError, to_dict

log = logging.getLogger(__name__)
T = TypeVar("T")


class JsonlError(ValueError):
    """A JSONL file has a malformed line; the message names the file and line."""


def _split_complete(raw: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines and the torn tail (bytes after the last newline)."""
    cut = raw.rfind(b"\n") + 1
    return raw[:cut].splitlines(), raw[cut:]


BOM = b"\xef\xbb\xbf"


def read_jsonl(path: str | Path, strict: bool = False) -> list[dict[str, Any]]:
    """Every record of a JSONL file. `strict=False` (our append files): a torn last line is dropped
    with a warning. `strict=True` (input files): read whole, or raise naming file and line."""
    path = Path(path)
    if not path.exists():
        if strict:
            raise FileNotFoundError(f"{path}: no such file")
        return []
    raw = path.read_bytes().removeprefix(BOM)
    if strict and raw and not raw.endswith(b"\n"):
        raw += b"\n"  # a missing final newline is no tear in a file we did not write
    lines, tail = _split_complete(raw)
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except UnicodeDecodeError as exc:
            raise JsonlError(f"{path}:{number}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        except json.JSONDecodeError as exc:
            if number == len(lines) and not tail and not strict:
                # A last line that ends in a newline but is not JSON: a torn write that got lucky.
                log.warning("%s:%d: dropping torn last line (%s)", path, number, exc.msg)
                break
            raise JsonlError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(value, dict):
            raise JsonlError(f"{path}:{number}: expected a JSON object per line")
        records.append(value)
    if tail.strip():
        log.warning("%s:%d: dropping torn last line (%d bytes, no newline)", path, len(lines) + 1, len(tail))
    return records


def write_json_atomic(path: str | Path, data: Any, indent: int | None = 1) -> None:
    """Replace `path` with `data` as JSON: temporary file, fsync, rename (a kill leaves old or new)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    text = json.dumps(data, indent=indent, ensure_ascii=False, default=str) + "\n"
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # the rename itself reaches the disk
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def read_json(path: str | Path, default: Any = None) -> Any:
    """A JSON side file (`default` when absent); a damaged one raises naming the file."""
    path = Path(path)
    if not path.exists():
        return default
    try:
        return json.loads(path.read_bytes().removeprefix(BOM).decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise JsonlError(f"{path}: not valid JSON ({exc}); delete it to have it rebuilt") from exc


def repair_tail(path: Path) -> None:
    """Cut a torn last line off so appends start on a clean line."""
    if not path.exists():
        return
    raw = path.read_bytes()
    keep = raw.rfind(b"\n") + 1
    if keep < len(raw):
        log.warning("%s: truncating a torn last line before appending", path)
        with path.open("r+b") as fh:
            fh.truncate(keep)


class JsonlWriter:
    """Appends records durably. Use as a context manager or call `close()`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_tail(self.path)
        self._fh = self.path.open("ab")

    def write(self, record: Any) -> None:
        data = record if isinstance(record, dict) else to_dict(record)
        line = json.dumps(data, ensure_ascii=False) + "\n"
        self._fh.write(line.encode("utf-8"))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def write_all(self, records: Iterable[Any]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecordFile(Generic[T]):
    """A JSONL file of typed records (trajectories, pairs) with parse errors naming file and line."""

    def __init__(self, path: str | Path, parse: Callable[[Any, str], T]) -> None:
        self.path = Path(path)
        self.parse = parse

    def __iter__(self) -> Iterator[T]:
        for number, data in enumerate(read_jsonl(self.path), start=1):
            try:
                yield self.parse(data, f"{self.path}: record {number}")
            except RecordError:
                raise
            except (TypeError, ValueError, KeyError) as exc:
                raise RecordError(f"{self.path}: record {number}: {exc}") from exc

    def read(self) -> list[T]:
        return list(self)

    def writer(self) -> JsonlWriter:
        return JsonlWriter(self.path)


def trajectory_file(path: str | Path) -> RecordFile:
    from coevolve.data.records import trajectory_from_dict

    return RecordFile(path, trajectory_from_dict)


def pair_file(path: str | Path) -> RecordFile:
    from coevolve.data.records import pair_from_dict

    return RecordFile(path, pair_from_dict)
