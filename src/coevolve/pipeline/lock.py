"""A lock on a run directory, so two pipelines (or a resume racing an orphaned job) never share one.

`RUN_DIR/run.lock` is held with `flock` for as long as the owning process (or a training job it
launched and handed the descriptor to) lives; the kernel drops the lock when they die, so a lock left by
a killed run is stale by construction. The file names the owner (pid, host, process start time, command)
for the refusal message. When the lock cannot be taken:
- the holder is refused with pid, host and command in the message;
- a file naming a process that is gone (same host) is reported as a stale lock and taken over.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOCK_FILE = "run.lock"


class RunLocked(RuntimeError):
    """Another live process holds the run directory."""


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return None if fields[0] == "Z" else fields[19]  # field 22 of stat: starttime; zombies are gone


def owner_record() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "start": process_start(os.getpid()),
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(sys.argv),
    }


def holder_alive(record: dict[str, Any]) -> bool:
    """Whether the lock's owner (on this host) is still running: same pid and same start time."""
    pid = record.get("pid")
    if not isinstance(pid, int):
        return False
    start = process_start(pid)
    return start is not None and (record.get("start") in (None, start))


class RunLock:
    """`with RunLock(run_dir):` holds the lock for the block; re-entrant within one process."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self.fd: int | None = None
        self.depth = 0

    def acquire(self) -> None:
        if self.depth:
            self.depth += 1
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                record = _read(fd)
                os.close(fd)
                raise RunLocked(_refusal(self.path, record)) from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # the holder released and removed the file meanwhile: lock the new one
        previous = _read(fd)
        if previous.get("pid"):
            log.warning(
                "%s: taking over a stale lock of pid %s on %s (%s), which is no longer running",
                self.path, previous.get("pid"), previous.get("host"), previous.get("command"),
            )  # fmt: skip
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(owner_record()) + "\n").encode(), 0)
        os.fsync(fd)
        self.fd, self.depth = fd, 1

    def release(self) -> None:
        if not self.depth:
            return
        self.depth -= 1
        if self.depth == 0 and self.fd is not None:
            self.path.unlink(missing_ok=True)  # while still locked: nobody else can hold this inode
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 65536, 0).decode("utf-8") or "{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}  # torn by a crash while written: nobody to name
    return data if isinstance(data, dict) else {}


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _refusal(path: Path, record: dict[str, Any]) -> str:
    who = f"pid {record.get('pid', '?')} on host {record.get('host', '?')!r}"
    if record.get("host") == socket.gethostname() and record.get("pid") and not holder_alive(record):
        who += " (gone; a job it launched still holds the lock)"
    return (
        f"{path.parent} is in use by {who} since {record.get('since', '?')}: {record.get('command', '?')}. "
        "Wait for that run to finish or stop it; two runs must not share a run directory."
    )
