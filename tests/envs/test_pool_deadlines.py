"""EnvPool deadlines: a hung step is timed out and its worker (and the worker's children) replaced,
a raising step ends only its own episode, and workers die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import hang_env  # noqa: F401  registers the "hang" environment
import pytest

from coevolve.data.records import Task
from coevolve.envs.pool import EnvPool

TASKS = [Task("hang", "test", str(k)) for k in range(3)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its parent's wait() counts as dead
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_dead(pids: list[int], seconds: float = 10.0) -> list[int]:
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def _children(pid_dir: Path) -> dict[int, int]:
    """worker pid -> its stand-in JVM pid."""
    return dict(tuple(map(int, p.name.split("-"))) for p in pid_dir.iterdir())


def test_hung_step_times_out_and_the_worker_is_replaced(tmp_path):
    with EnvPool("hang", {"pid_dir": str(tmp_path)}, num_workers=1, step_timeout=1.0) as pool:
        pool.reset([("a", TASKS[0]), ("b", TASKS[1])])
        old = pool.worker_pids()[0]
        jvm = _children(tmp_path)[old]
        t0 = time.monotonic()
        a, b = pool.act([("a", "hang"), ("b", "fine")])
        assert time.monotonic() - t0 < 30
        assert a.done and a.info["end_reason"] == "error" and a.info["error_kind"] == "timeout"
        assert "1 s" in a.info["error"] and "environment failure" in a.observation
        # b was queued behind the hung call: replayed on the new worker, not charged a retry
        assert not b.done and b.observation == "Observation: fine ok" and "retries" not in b.info
        assert pool.worker_pids()[0] != old
        assert _wait_dead([old, jvm]) == []
        pool.release("a")
        again = pool.act([("b", "again")])[0]  # the episode goes on where it was: step 2 of 3
        assert again.observation == "Observation: again ok" and not again.done
        assert pool.act([("b", "last")])[0].done


def test_raising_step_ends_only_its_episode(tmp_path):
    with EnvPool("hang", num_workers=1) as pool:
        pool.reset([("a", TASKS[0]), ("b", TASKS[1])])
        worker = pool.worker_pids()[0]
        a, b = pool.act([("a", "boom"), ("b", "fine")])
        assert a.done and a.info["error_kind"] == "exception" and "UnicodeDecodeError" in a.info["error"]
        assert a.info["retries"] == 0 and not b.done and pool.worker_pids()[0] == worker
        pool.release("a")
        pool.reset([("c", TASKS[2])])  # the broken instance was discarded, a fresh one serves c
        assert pool.act([("c", "fine")])[0].observation == "Observation: fine ok"


def test_in_process_hang_is_interrupted():
    with EnvPool("hang", num_workers=0, step_timeout=0.5) as pool:
        pool.reset([("a", TASKS[0])])
        result = pool.act([("a", "hang")])[0]
    assert result.info["error_kind"] == "timeout"


def test_hung_reset_or_replay_is_an_error_not_a_hang():
    from coevolve.envs.base import EnvError

    with EnvPool("hang", num_workers=1, step_timeout=0.5, reset_timeout=0.5) as pool:
        with pytest.raises(EnvError, match="could not start episode 'x': timeout"):
            pool.reset([("x", Task("hang", "test", "stuck"))])
        pool.reset([("a", TASKS[0])])
        pool.act([("a", "fine")])
        pool.episodes["a"].outputs.append("hang")  # a replay that would hang
        pool.episodes["a"].needs_restore = True
        assert pool.act([("a", "fine")])[0].info["error_kind"] == "timeout"
        pool.release("a")
        pool.reset([("b", TASKS[1])])  # the pool still serves new episodes
        assert pool.act([("b", "fine")])[0].observation == "Observation: fine ok"


PARENT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    import hang_env
    from coevolve.data.records import Task
    from coevolve.envs.pool import EnvPool
    pool = EnvPool("hang", {{"pid_dir": {pid_dir!r}}}, num_workers=2)
    pool.reset([(str(k), Task("hang", "test", str(k))) for k in range(2)])
    print("ready", flush=True)
    pool.act([("0", "hang"), ("1", "hang")])  # both workers hang; the parent is killed meanwhile
    """
)


def test_workers_and_their_children_die_with_a_killed_parent(tmp_path):
    script = PARENT.format(tests=str(Path(__file__).parent), pid_dir=str(tmp_path))
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        pids = [p for pair in _children(tmp_path).items() for p in pair]
        assert len(pids) == 4 and all(_alive(p) for p in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert _wait_dead(pids) == []
    finally:
        parent.kill()
        parent.wait()
