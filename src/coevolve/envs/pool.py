"""Environment instances in worker processes, for many episodes in parallel.

Each live episode owns one env instance (a ScienceWorld instance is one JVM), kept in one worker
process; idle instances are reused by later episodes. The parent keeps every episode's task and
model outputs, so when an env fails (EnvError, e.g. its JVM died) or a whole worker dies, the episode
is rebuilt on a fresh instance by replaying its outputs (environments are deterministic given task +
actions) and the failed step is retried, up to `max_retries` times per step.

Every call is bounded: a step has `step_timeout` seconds (a reset, or a rebuild by replay, gets
`reset_timeout` plus `step_timeout` per replayed output); the defaults come from the env class
(`Env.step_timeout`, `Env.reset_timeout`). A worker that misses a deadline is killed with its whole
process group (its JVMs too) and replaced; the hung episode ends with `end_reason` "error" and
`info["error_kind"]` "timeout", the other episodes of that worker are replayed on the new one. A step
that raises an unexpected exception ends its episode the same way (`error_kind` "exception") instead of
failing the stage; neither is retried, since a deterministic env would only fail again. Workers lead
their own process group and die with the parent (`coevolve.procs`).

`num_workers=0` runs everything in this process (tests, debugging); there a deadline interrupts the
step with SIGALRM, which stops Python code but not a call blocked inside C.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing as mp
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from coevolve.data.records import Task
from coevolve.envs.base import Env, EnvError, StepResult
from coevolve.envs.registry import get_env_class, make_env
from coevolve.procs import die_with_parent, kill_group

log = logging.getLogger(__name__)


class _Host:
    """Env instances of one process, keyed by episode."""

    def __init__(self, env_name: str, env_kwargs: dict[str, Any]) -> None:
        self.env_name, self.env_kwargs = env_name, env_kwargs
        self.live: dict[str, Env] = {}
        self.idle: list[Env] = []

    def _env_for(self, key: str) -> Env:
        if key not in self.live:
            self.live[key] = self.idle.pop() if self.idle else make_env(self.env_name, **self.env_kwargs)
        return self.live[key]

    def restore(self, key: str, task: Task, outputs: list[str]) -> str:
        """Start (or rebuild) an episode and replay its outputs; returns the first task turn."""
        self.discard(key)
        env = self._env_for(key)
        first = env.reset(task)
        for output in outputs:
            env.act(output)
        return first

    def act(self, key: str, output: str) -> StepResult:
        if key not in self.live:
            raise EnvError(f"episode {key!r} is not live in this worker")
        return self.live[key].act(output)

    def release(self, key: str) -> None:
        env = self.live.pop(key, None)
        if env is not None:
            self.idle.append(env)

    def discard(self, key: str) -> None:
        """Drop an episode's instance without reuse (it may be broken)."""
        env = self.live.pop(key, None)
        if env is not None:
            env.close()

    def close(self) -> None:
        for env in [*self.live.values(), *self.idle]:
            env.close()
        self.live.clear()
        self.idle.clear()


def _call(host: _Host, method: str, args: tuple) -> tuple[str, Any]:
    """One call on the host as a (status, value) reply; never raises."""
    try:
        return ("ok", getattr(host, method)(*args))
    except EnvError as exc:
        return ("env_error", str(exc))
    except _Deadline as exc:
        return ("timeout", str(exc))
    except Exception as exc:  # noqa: BLE001 - report, do not kill the worker
        log.debug("env call failed:\n%s", traceback.format_exc())
        return ("error", f"{type(exc).__name__}: {exc}")


def _worker_main(conn: Connection, env_name: str, env_kwargs: dict[str, Any], module: str) -> None:
    die_with_parent()
    importlib.import_module(module)  # registers the env class (it may live outside coevolve.envs)
    host = _Host(env_name, env_kwargs)
    try:
        while True:
            try:
                method, calls = conn.recv()
            except EOFError:
                return
            if method == "close":
                return
            for args in calls:  # one reply per call, so the parent knows which call hangs
                conn.send(_call(host, method, args))
    finally:
        host.close()


class _Deadline(Exception):  # noqa: N818 - raised by SIGALRM in the in-process worker
    pass


@contextlib.contextmanager
def _alarm(seconds: float | None):
    """Interrupt Python code after `seconds` (main thread only; elsewhere unbounded)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(*_: object) -> None:
        raise _Deadline(f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _InProcessWorker:
    """Same interface as a worker process, calling a host directly."""

    def __init__(self, env_name: str, env_kwargs: dict[str, Any]) -> None:
        self.host = _Host(env_name, env_kwargs)
        self.pid = None

    def submit(self, method: str, calls: list[tuple]) -> None:
        self._pending = (method, calls)

    def collect(self, deadlines: list[float]) -> list[tuple[str, Any]]:
        method, calls = self._pending
        replies = []
        for args, seconds in zip(calls, deadlines, strict=True):
            with _alarm(seconds):
                replies.append(_call(self.host, method, args))
        return replies

    died = False

    def alive(self) -> bool:
        return True

    def kill(self) -> None:
        self.close()

    def close(self) -> None:
        self.host.close()


class _ProcessWorker:
    def __init__(self, env_name: str, env_kwargs: dict[str, Any]) -> None:
        ctx = mp.get_context("spawn")  # no fork: parents may hold threads (py4j, torch)
        self.conn, child = ctx.Pipe()
        module = get_env_class(env_name).__module__
        self.proc = ctx.Process(target=_worker_main, args=(child, env_name, env_kwargs, module), daemon=True)
        self.proc.start()
        child.close()
        self.pid = self.proc.pid

    def submit(self, method: str, calls: list[tuple]) -> None:
        self._count = len(calls)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, EOFError):
            self.conn.send((method, calls))  # a dead worker is reported by collect()

    def collect(self, deadlines: list[float]) -> list[tuple[str, Any]]:
        """One reply per call, each within its deadline; a hung worker is killed, a dead one reported.

        Calls after a hung or crashed one are answered ("lost", ...): they never ran to the end.
        """
        replies: list[tuple[str, Any]] = []
        self.died = False
        for seconds in deadlines:
            try:
                ready = self.conn.poll(seconds)
                if not ready:
                    self.kill()
                    replies.append(("timeout", f"no answer within {seconds:g} s; worker {self.pid} killed"))
                    break
                replies.append(self.conn.recv())
            except (EOFError, ConnectionResetError, BrokenPipeError, OSError) as exc:
                # the call in flight is charged (a step that crashes its worker must not loop forever)
                replies.append(("env_error", f"worker {self.pid} died ({type(exc).__name__})"))
                self.died = True
                break
        return replies + [("lost", "worker replaced")] * (len(deadlines) - len(replies))

    def alive(self) -> bool:
        return self.proc.is_alive()

    def kill(self) -> None:
        """Kill the worker and everything it started (it leads its own process group)."""
        kill_group(self.pid)
        self.proc.kill()
        self.proc.join(timeout=10)

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
            self.conn.send(("close", []))
        self.proc.join(timeout=30)
        if self.proc.is_alive():
            self.kill()
        kill_group(self.pid)  # children it left behind
        self.conn.close()


def _reason(status: str, value: Any) -> str:
    """`kind: message` of a failed call; kind is timeout | exception | env_error."""
    kind = {"error": "exception"}.get(status, status)
    return f"{kind}: {str(value).strip()}"


@dataclass
class _Episode:
    task: Task
    worker: int
    outputs: list[str] = field(default_factory=list)
    first_turn: str = ""
    needs_restore: bool = False


class EnvPool:
    def __init__(
        self,
        env_name: str,
        env_kwargs: dict | None = None,
        num_workers: int = 2,
        max_retries: int = 1,
        step_timeout: float | None = None,
        reset_timeout: float | None = None,
    ) -> None:
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        cls = get_env_class(env_name)
        self.step_timeout = float(step_timeout or cls.step_timeout)
        self.reset_timeout = float(reset_timeout or cls.reset_timeout)
        if self.step_timeout <= 0 or self.reset_timeout <= 0:
            raise ValueError(
                f"step_timeout and reset_timeout must be > 0, got {step_timeout}, {reset_timeout}"
            )
        self.env_name, self.env_kwargs = env_name, dict(env_kwargs or {})
        self.max_retries = max_retries
        self.in_process = num_workers == 0
        self.workers: list[Any] = [self._spawn() for _ in range(max(num_workers, 1))]
        self.episodes: dict[str, _Episode] = {}

    def _spawn(self) -> Any:
        cls = _InProcessWorker if self.in_process else _ProcessWorker
        return cls(self.env_name, self.env_kwargs)

    def worker_pids(self) -> list[int | None]:
        return [w.pid for w in self.workers]

    # ------------------------------------------------------------ batched calls

    def _deadline(self, method: str, args: tuple) -> float:
        if method == "restore":  # (key, task, outputs): a reset plus one step per replayed output
            return self.reset_timeout + self.step_timeout * len(args[2])
        return self.step_timeout

    def _run(self, method: str, calls: dict[int, list[tuple]]) -> dict[int, list[tuple[str, Any]]]:
        """One batch per worker, in parallel, one (status, value) reply per call.

        A worker that died, hung or lost calls is replaced and its episodes marked for replay.
        """
        t0 = time.monotonic()
        for index, batch in calls.items():
            self.workers[index].submit(method, batch)
        replies: dict[int, list[tuple[str, Any]]] = {}
        for index, batch in calls.items():
            worker = self.workers[index]
            replies[index] = worker.collect([self._deadline(method, a) for a in batch])
            failed = [v for s, v in replies[index] if s == "timeout"] + (["it died"] if worker.died else [])
            if failed and not self.in_process:  # in process, only the hung episode's env is dropped
                log.warning("%s worker %d failed (%s); replacing it", self.env_name, index, failed[0])
                self._restart(index)
        log.debug("%s %s on %d workers took %.2f s", self.env_name, method, len(calls), time.monotonic() - t0)
        return replies

    def _restart(self, index: int) -> None:
        with contextlib.suppress(Exception):  # it is already dead
            self.workers[index].kill()
        self.workers[index] = self._spawn()
        for episode in self.episodes.values():
            if episode.worker == index:
                episode.needs_restore = True

    def _least_loaded(self) -> int:
        load = [0] * len(self.workers)
        for episode in self.episodes.values():
            load[episode.worker] += 1
        return load.index(min(load))

    # ------------------------------------------------------------ public API

    def reset(self, requests: list[tuple[str, Task]]) -> list[str]:
        """Start episodes; returns each one's first task turn."""
        for key, task in requests:
            if key in self.episodes:
                self.release(key)
            self.episodes[key] = _Episode(task=task, worker=self._least_loaded(), needs_restore=True)
        failures = self._restore([key for key, _ in requests])
        for key, error in failures.items():
            self.episodes.pop(key, None)
            raise EnvError(f"{self.env_name}: could not start episode {key!r}: {error}")
        return [self.episodes[key].first_turn for key, _ in requests]

    def _restore(self, keys: list[str]) -> dict[str, str]:
        """(Re)build episodes by replay, retrying env errors up to max_retries; returns keys that still fail.

        A timeout or an exception is final at once (a replay that hangs or raises would do so again);
        a call lost to another episode's failure is requeued without counting a retry.
        """
        pending, errors, tries = list(keys), {}, dict.fromkeys(keys, 0)
        while pending:
            calls: dict[int, list[tuple]] = {}
            for key in pending:
                ep = self.episodes[key]
                calls.setdefault(ep.worker, []).append((key, ep.task, list(ep.outputs)))
            replies = self._run("restore", calls)
            pending = []
            for index, batch in calls.items():
                for (key, *_), (status, value) in zip(batch, replies[index], strict=True):
                    if status == "ok":
                        self.episodes[key].first_turn, self.episodes[key].needs_restore = value, False
                    elif status == "lost":
                        pending.append(key)
                    elif status == "env_error" and tries[key] < self.max_retries:
                        tries[key] += 1
                        pending.append(key)
                    else:
                        errors[key] = _reason(status, value)
        return errors

    def act(self, requests: list[tuple[str, str]]) -> list[StepResult]:
        """One step of each episode (parallel across workers); failed steps are replayed and retried.

        Never raises for an env failure: an episode whose step timed out, raised, or kept failing after
        `max_retries` replays gets a final error result (`info["error"]` says why).
        """
        for key, _ in requests:
            if key not in self.episodes:
                raise KeyError(f"episode {key!r} was not reset (or was released)")
        results: dict[str, StepResult] = {}
        retries = {key: 0 for key, _ in requests}
        pending = list(requests)
        while pending:
            broken = self._restore([k for k, _ in pending if self.episodes[k].needs_restore])
            for key, error in broken.items():
                results[key] = self._error_result(key, retries[key], error)
            calls: dict[int, list[tuple]] = {}
            for key, output in pending:
                if key not in results:
                    calls.setdefault(self.episodes[key].worker, []).append((key, output))
            replies = self._run("act", calls)
            pending = []
            for index, batch in calls.items():
                for (key, output), (status, value) in zip(batch, replies[index], strict=True):
                    if status == "ok":
                        self.episodes[key].outputs.append(output)
                        if retries[key]:
                            value.info["retries"] = retries[key]
                        results[key] = value
                    elif status == "lost":  # another episode's failure took the worker down
                        pending.append((key, output))
                    elif status == "env_error" and retries[key] < self.max_retries:
                        retries[key] += 1
                        self.episodes[key].needs_restore = True
                        pending.append((key, output))
                    else:
                        results[key] = self._error_result(key, retries[key], _reason(status, value))
        return [results[key] for key, _ in requests]

    def _error_result(self, key: str, retries: int, error: str) -> StepResult:
        log.error(
            "%s episode %s ended by an env failure after %d retries: %s", self.env_name, key, retries, error
        )
        self.episodes[key].needs_restore = True
        kind = error.split(":", 1)[0]
        info = {"end_reason": "error", "retries": retries, "error": error, "error_kind": kind}
        return StepResult(observation=f"Observation: environment failure ({error})", reward=0.0, done=True,
                          info=info)  # fmt: skip

    def release(self, episode_key: str) -> None:
        """End an episode; its instance goes back to the worker's idle list."""
        episode = self.episodes.pop(episode_key, None)
        if episode is not None:  # a broken instance is closed, not reused
            self._run("discard" if episode.needs_restore else "release", {episode.worker: [(episode_key,)]})

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.workers, self.episodes = [], {}

    def __enter__(self) -> EnvPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
