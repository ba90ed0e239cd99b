"""Environment instances in worker processes, for many episodes in parallel.

Each live episode owns one env instance (a ScienceWorld instance is one JVM), kept in one worker
process; idle instances are reused by later episodes. The parent keeps every episode's task and
model outputs, so when an env fails (EnvError, e.g. its JVM died) or a whole worker dies, the episode
is rebuilt on a fresh instance by replaying its outputs (environments are deterministic given task +
actions) and the failed step is retried, up to `max_retries` times per step.
`num_workers=0` runs everything in this process (tests, debugging).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from coevolve.data.records import Task
from coevolve.envs.base import Env, EnvError, StepResult
from coevolve.envs.registry import make_env

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


def _worker_main(conn: Connection, env_name: str, env_kwargs: dict[str, Any]) -> None:
    host = _Host(env_name, env_kwargs)
    try:
        while True:
            try:
                method, calls = conn.recv()
            except EOFError:
                return
            if method == "close":
                return
            replies = []
            for args in calls:
                try:
                    replies.append(("ok", getattr(host, method)(*args)))
                except EnvError as exc:
                    replies.append(("env_error", str(exc)))
                except Exception as exc:  # noqa: BLE001 - report, do not kill the worker
                    replies.append(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
            conn.send(replies)
    finally:
        host.close()


class _InProcessWorker:
    """Same interface as a worker process, calling a host directly."""

    def __init__(self, env_name: str, env_kwargs: dict[str, Any]) -> None:
        self.host = _Host(env_name, env_kwargs)
        self.pid = None

    def submit(self, method: str, calls: list[tuple]) -> None:
        self._pending = (method, calls)

    def collect(self) -> list[tuple[str, Any]]:
        method, calls = self._pending
        replies = []
        for args in calls:
            try:
                replies.append(("ok", getattr(self.host, method)(*args)))
            except EnvError as exc:
                replies.append(("env_error", str(exc)))
        return replies

    def alive(self) -> bool:
        return True

    def close(self) -> None:
        self.host.close()


class _ProcessWorker:
    def __init__(self, env_name: str, env_kwargs: dict[str, Any]) -> None:
        ctx = mp.get_context("spawn")  # no fork: parents may hold threads (py4j, torch)
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, env_name, env_kwargs), daemon=True)
        self.proc.start()
        child.close()
        self.pid = self.proc.pid

    def submit(self, method: str, calls: list[tuple]) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, EOFError):
            self.conn.send((method, calls))  # a dead worker is reported by collect()

    def collect(self) -> list[tuple[str, Any]]:
        try:
            return self.conn.recv()
        except (EOFError, ConnectionResetError, BrokenPipeError, OSError) as exc:
            raise _WorkerDied(f"worker {self.pid} died ({type(exc).__name__})") from exc

    def alive(self) -> bool:
        return self.proc.is_alive()

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
            self.conn.send(("close", []))
        self.proc.join(timeout=30)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


class _WorkerDied(RuntimeError):
    pass


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
    ) -> None:
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
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

    def _run(self, method: str, calls: dict[int, list[tuple]]) -> dict[int, list[tuple[str, Any]] | None]:
        """One batch per worker, in parallel; None for a worker that died (it is restarted)."""
        for index, batch in calls.items():
            self.workers[index].submit(method, batch)
        replies: dict[int, list[tuple[str, Any]] | None] = {}
        for index in calls:
            try:
                replies[index] = self.workers[index].collect()
            except _WorkerDied as exc:
                log.warning("%s; restarting it and replaying its episodes", exc)
                self._restart(index)
                replies[index] = None
        return replies

    def _restart(self, index: int) -> None:
        with contextlib.suppress(Exception):  # it is already dead
            self.workers[index].close()
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
        """(Re)build episodes by replay, retrying up to max_retries; returns keys that still fail."""
        pending, errors = list(keys), {}
        for _ in range(self.max_retries + 1):
            if not pending:
                break
            calls: dict[int, list[tuple]] = {}
            for key in pending:
                ep = self.episodes[key]
                calls.setdefault(ep.worker, []).append((key, ep.task, list(ep.outputs)))
            replies = self._run("restore", calls)
            pending = []
            for index, batch in calls.items():
                answers = replies[index] or [("env_error", "worker died")] * len(batch)
                for (key, *_), (status, value) in zip(batch, answers, strict=True):
                    if status == "ok":
                        self.episodes[key].first_turn, self.episodes[key].needs_restore = value, False
                    elif status == "env_error":
                        pending.append(key)
                        errors[key] = value
                    else:
                        raise RuntimeError(f"{self.env_name} worker failed: {value}")
        return {key: errors[key] for key in pending}

    def act(self, requests: list[tuple[str, str]]) -> list[StepResult]:
        """One step of each episode (parallel across workers); failed steps are replayed and retried."""
        for key, _ in requests:
            if key not in self.episodes:
                raise KeyError(f"episode {key!r} was not reset (or was released)")
        results: dict[str, StepResult] = {}
        retries = {key: 0 for key, _ in requests}
        pending = list(requests)
        while pending:
            broken = self._restore([k for k, _ in pending if self.episodes[k].needs_restore])
            for key in broken:
                results[key] = self._error_result(key, retries[key], broken[key])
            calls: dict[int, list[tuple]] = {}
            for key, output in pending:
                if key not in results:
                    calls.setdefault(self.episodes[key].worker, []).append((key, output))
            replies = self._run("act", calls)
            pending = []
            for index, batch in calls.items():
                answers = replies[index] or [("env_error", "worker died")] * len(batch)
                for (key, output), (status, value) in zip(batch, answers, strict=True):
                    if status == "ok":
                        self.episodes[key].outputs.append(output)
                        if retries[key]:
                            value.info["retries"] = retries[key]
                        results[key] = value
                    elif status == "env_error" and retries[key] < self.max_retries:
                        retries[key] += 1
                        self.episodes[key].needs_restore = True
                        pending.append((key, output))
                    elif status == "env_error":
                        results[key] = self._error_result(key, retries[key], value)
                    else:
                        raise RuntimeError(f"{self.env_name} worker failed: {value}")
        return [results[key] for key, _ in requests]

    def _error_result(self, key: str, retries: int, error: str) -> StepResult:
        log.error("%s episode %s failed after %d retries: %s", self.env_name, key, retries, error)
        self.episodes[key].needs_restore = True
        info = {"end_reason": "error", "retries": retries, "error": error}
        return StepResult(observation="", reward=0.0, done=True, info=info)

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
