"""Expert trajectories from an environment's own gold actions, for any env with `expert()`.

Each task's gold steps are played through the env exactly as an agent's turns would be (`env.act` on
"Thought: ...\\nAction: ..."), so the recorded observations, step caps and rewards are the env's. A
trajectory is kept only when it reaches reward 1.0. Steps the env calls no-ops (`Env.is_noop`, e.g.
opening an open door) are dropped by default: they do not count toward the step cap and are not
recorded (`drop_noops=False` keeps them). Output: JSONL, one ETO SFT record per line ({"id",
"conversations", "reward", "env", "split", "actions", "noops", "dropped_noops"}; `noops` is "dropped" or
"kept"), appended durably, so an interrupted
run resumes by skipping the ids already in the file. With `workers > 1` each worker process has its own
env (for a simulator env its own process); records are still written in task order as they complete.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from coevolve.data.formats import trajectory_to_eto
from coevolve.data.jsonl import JsonlWriter, read_jsonl
from coevolve.data.records import SUCCESS_REWARD, Message, Step, Task, Trajectory
from coevolve.envs.base import Env, EnvError
from coevolve.envs.registry import make_env

log = logging.getLogger(__name__)


@dataclass
class ExpertConfig:
    env: str
    split: str
    out: Path
    limit: int | None = None  # first N tasks (after `per_type`)
    per_type: int | None = None  # at most K tasks per task type, so a small run covers many types
    data_dir: str | None = None
    task_ids: list[str] | None = None  # only these ids (in split order)
    workers: int = 1  # processes with one env each (> 1: envs made by name, not the one passed in)
    drop_noops: bool = True  # leave out steps the env reports as no-ops (recorded in each record)


@dataclass
class ExpertCounts:
    written: int = 0
    already_done: int = 0
    below_reward: int = 0
    errors: int = 0
    by_type: Counter = field(default_factory=Counter)


def task_type(task: Task) -> str:
    """The sub-task a task belongs to (`Task.meta['task_name']`, ...); envs without types give 'all'."""
    return str(task.meta.get("task_type") or task.meta.get("task_name") or "all")


def select_tasks(
    tasks: Iterable[Task], limit: int | None, per_type: int | None, ids: list[str] | None = None
) -> list[Task]:
    chosen, seen = [], Counter()
    wanted = set(ids) if ids else None
    for task in tasks:
        if wanted is not None and task.id not in wanted:
            continue
        kind = task_type(task)
        if per_type is not None and seen[kind] >= per_type:
            continue
        seen[kind] += 1
        chosen.append(task)
    return chosen[:limit] if limit is not None else chosen


def play_expert(env: Env, task: Task, drop_noops: bool = True) -> Trajectory:
    """Run the gold steps of `task` through `env`; stops at the end of the episode.

    With `drop_noops`, a step the env reports as a no-op (and that did not finish the task) is taken
    back and left out; their number is in `meta["dropped_noops"]`.
    """
    gold = env.expert(task)
    first = env.reset(task)
    messages, steps = [Message("user", first)], []
    result, dropped = None, 0
    for expert_step in gold:
        text = expert_step.text(env)
        before = env.last_reward
        outcome = env.act(text)
        finished = outcome.done and outcome.info.get("end_reason") == "done"
        if drop_noops and not finished and env.is_noop(outcome):
            env.take_back(before)
            dropped += 1
            continue
        result = outcome
        messages += [Message("assistant", text), Message("user", result.observation)]
        steps.append(Step(text, result.action, result.observation, result.reward, result.done, result.info))
        if result.done:
            break
    reward = result.reward if result else 0.0
    end_reason = result.info.get("end_reason", "expert") if result and result.done else "expert"
    return Trajectory(
        task=task,
        agent="expert",
        instruction=env.prompt().instruction,
        messages=messages,
        reward=reward,
        success=reward >= SUCCESS_REWARD,
        end_reason=end_reason,
        steps=steps,
        meta={"noops": "dropped" if drop_noops else "kept", "dropped_noops": dropped},
    )


def expert_record(traj: Trajectory) -> dict[str, Any]:
    """ETO SFT record; the conversation ends on the last assistant turn (ETO drops the final observation)."""
    episode = traj.messages[:-1] if traj.messages and traj.messages[-1].role == "user" else traj.messages
    base = trajectory_to_eto(
        Trajectory(traj.task, traj.agent, traj.instruction, episode, traj.reward, traj.success, "expert")
    )
    noops = {key: traj.meta[key] for key in ("noops", "dropped_noops") if key in traj.meta}
    return {
        **base,
        "env": traj.task.env,
        "split": traj.task.split,
        "actions": [s.action for s in traj.steps],
        **noops,
    }


def done_ids(path: Path) -> set[str]:
    return {str(r["id"]) for r in read_jsonl(path) if "id" in r}


# ---------------------------------------------------------------- worker processes

_worker_env: Env | None = None
_worker_drop_noops = True


def _init_worker(env_name: str, data_dir: str | None, drop_noops: bool = True) -> None:
    global _worker_env, _worker_drop_noops
    _worker_env, _worker_drop_noops = make_env(env_name, data_dir=data_dir), drop_noops
    # Run at the worker's normal exit (pool.close + join), so its simulator process is stopped.
    mp.util.Finalize(_worker_env, _worker_env.close, exitpriority=10)


def _expert_in_worker(task: Task) -> Trajectory | str:
    """A task's expert trajectory, or the env error's text (exceptions would end the whole pool)."""
    assert _worker_env is not None
    try:
        return play_expert(_worker_env, task, _worker_drop_noops)
    except EnvError as exc:
        return str(exc)


class ExpertGenerator:
    def __init__(self, config: ExpertConfig, env: Env | None = None) -> None:
        if config.workers < 1:
            raise ValueError(f"workers must be >= 1, got {config.workers}")
        self.config = config
        self.env = env or make_env(config.env, data_dir=config.data_dir)

    def tasks(self) -> list[Task]:
        c = self.config
        return select_tasks(self.env.tasks(self.env.check_split(c.split)), c.limit, c.per_type, c.task_ids)

    def run(self, show_progress: bool = True) -> ExpertCounts:
        counts = ExpertCounts()
        finished = done_ids(self.config.out)
        todo = []
        for task in self.tasks():
            if task.id in finished:
                counts.already_done += 1
            else:
                todo.append(task)
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        with (
            JsonlWriter(self.config.out) as writer,
            Progress(*columns, disable=not show_progress) as progress,
        ):
            bar = progress.add_task(f"{self.config.env} experts", total=len(todo))
            for task, outcome in zip(todo, self._outcomes(todo), strict=True):
                self._record(task, outcome, writer, counts)
                progress.advance(bar)
        return counts

    def _outcomes(self, todo: list[Task]) -> Iterator[Trajectory | str]:
        """Each task's trajectory or error text, in task order."""
        workers = min(self.config.workers, len(todo))
        if workers <= 1:
            for task in todo:
                try:
                    yield play_expert(self.env, task, self.config.drop_noops)
                except EnvError as exc:
                    yield str(exc)
            return
        # spawn: the parent may hold simulator threads and sockets that a fork would copy
        context = mp.get_context("spawn")
        init_args = (self.config.env, self.config.data_dir, self.config.drop_noops)
        with context.Pool(workers, initializer=_init_worker, initargs=init_args) as pool:
            yield from pool.imap(_expert_in_worker, todo)
            pool.close()
            pool.join()

    def _record(
        self, task: Task, outcome: Trajectory | str, writer: JsonlWriter, counts: ExpertCounts
    ) -> None:
        if isinstance(outcome, str):
            counts.errors += 1
            log.warning("%s: expert failed: %s", task.key, outcome)
            return
        traj = outcome
        if traj.reward < SUCCESS_REWARD:
            counts.below_reward += 1
            log.warning(
                "%s: gold actions reach reward %.2f (%s after %d steps); skipped",
                task.key,
                traj.reward,
                traj.end_reason,
                traj.num_steps,
            )
            return
        writer.write(expert_record(traj))
        counts.written += 1
        counts.by_type[task_type(task)] += 1

    def close(self) -> None:
        self.env.close()
