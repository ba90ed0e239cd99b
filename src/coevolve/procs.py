"""Child processes that die with their parent: env workers (and their JVMs), `accelerate launch` jobs.

Linux only does half of this for us: `prctl(PR_SET_PDEATHSIG)` signals a process when its *direct*
parent dies, but a JVM or a `torchrun` worker is a grandchild. So every child we start leads its own
process group, and
- `die_with_parent()` asks the kernel for SIGTERM when the parent dies and turns that SIGTERM into a
  SIGKILL of the whole group;
- `watch_parent()` starts a daemon thread that does the same when the parent is gone (covers a parent
  that died before prctl ran, a SIGTERM that cannot be handled while the main thread is stuck in C, and
  grandchildren that watch a pid that is not their parent, such as a training job under `accelerate`);
- `run_group()` runs a command as its own group and kills the group if this process is interrupted.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
PARENT_PID_ENV = "COEVOLVE_PARENT_PID"  # a launched training job exits when this pid is gone


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a whole process group; a group that is already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _kill_own_group(*_: object) -> None:
    kill_group(os.getpgid(0))
    os._exit(1)  # not reached when we lead the group: the SIGKILL above includes us


def set_pdeathsig(sig: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send `sig` when the parent thread exits (Linux); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch_parent(parent: int | None = None, interval: float = 0.5) -> threading.Thread:
    """Daemon thread: kill this process group once `parent` (default: the current parent) is gone."""
    expected = parent if parent is not None else os.getppid()
    direct = parent is None

    def gone() -> bool:
        return os.getppid() != expected if direct else not pid_alive(expected)

    def loop() -> None:
        while not gone():
            time.sleep(interval)
        log.warning("parent process %d is gone; stopping this process group", expected)
        _kill_own_group()

    thread = threading.Thread(target=loop, name="watch-parent", daemon=True)
    thread.start()
    return thread


def die_with_parent(lead_group: bool = True) -> None:
    """Called first thing in a child: lead a process group, and take it down when the parent dies."""
    parent = os.getppid()
    if lead_group:
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _kill_own_group)
    set_pdeathsig(signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        _kill_own_group()
    watch_parent(parent)


def run_group(
    cmd: Sequence[str], env: dict[str, str] | None = None, grace: float = 10.0, pass_fds: Sequence[int] = ()
) -> int:
    """Run `cmd` as its own process group that dies with us; returns its exit status.

    The child learns our pid through COEVOLVE_PARENT_PID (see `watch_parent`), so a `kill -9` of
    this process also ends a job whose processes are grandchildren (accelerate, torchrun). `pass_fds`
    are inherited (the run-directory lock, so that the lock lasts as long as the job).
    """
    env = {**(env if env is not None else os.environ), PARENT_PID_ENV: str(os.getpid())}
    proc = subprocess.Popen(list(cmd), env=env, start_new_session=True, pass_fds=tuple(pass_fds))
    try:
        return proc.wait()
    except BaseException:
        kill_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
        kill_group(proc.pid)
        proc.wait()
        raise


def watch_launcher_parent() -> None:
    """In a launched job: exit with the pipeline that launched us (COEVOLVE_PARENT_PID), if any."""
    pid = os.environ.get(PARENT_PID_ENV)
    if pid and pid.isdigit():
        watch_parent(int(pid))
