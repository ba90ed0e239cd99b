"""The run-directory lock: a live holder is refused (also through `coevolve run`), a dead one taken over."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from coevolve.cli import main
from coevolve.pipeline.lock import LOCK_FILE, RunLock, RunLocked

HOLD = textwrap.dedent(
    """
    import sys, time
    from coevolve.pipeline.lock import RunLock
    with RunLock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(120)
    """
)


@pytest.fixture
def holder(tmp_path):
    """Another live process holding tmp_path/run."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    proc.kill()
    proc.wait()


def test_live_holder_is_refused_with_pid_and_host(tmp_path, holder):
    with pytest.raises(RunLocked, match=rf"in use by pid {holder.pid} on host .* -c"):
        RunLock(tmp_path / "run").acquire()


def test_second_coevolve_run_on_a_locked_run_dir_is_refused(tmp_path, holder, capsys):
    config = tmp_path / "run.yaml"
    config.write_text("method: sft\nbase_model: unused\nenvs:\n  - name: sciworld\n")
    code = main(["run", str(config), "--out", str(tmp_path / "run"), "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and f"pid {holder.pid}" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "manifest.json").exists()  # nothing ran


def test_lock_of_a_killed_process_is_taken_over(tmp_path, holder, caplog):
    holder.kill()
    holder.wait()
    assert json.loads((tmp_path / "run" / LOCK_FILE).read_text())["pid"] == holder.pid
    with RunLock(tmp_path / "run") as lock:
        record = json.loads((tmp_path / "run" / LOCK_FILE).read_text())
        assert record["pid"] != holder.pid and lock.fd is not None
    assert "stale lock of pid" in caplog.text
    assert not (tmp_path / "run" / LOCK_FILE).exists()  # released on exit


def test_lock_is_reentrant_in_one_process(tmp_path):
    lock = RunLock(tmp_path)
    with lock, lock:
        assert (tmp_path / LOCK_FILE).exists()
    assert not (tmp_path / LOCK_FILE).exists()
