"""Batched multi-episode rollout: many live episodes, one generation call per step over all of them.

Each loop iteration renders every live episode's conversation (instruction + OK + in-context examples
unless `with_examples` is off + episode so far), asks the policy for one assistant turn per episode in a
single batched call, then steps all environments in parallel through an `EnvPool`. A finished episode is
appended to the run's JSONL at once, so a killed run loses at most the live episodes and a rerun skips
finished keys.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from coevolve.agents.base import Generation, Policy, SamplingParams, derive_seed
from coevolve.data.jsonl import JsonlWriter, trajectory_file
from coevolve.data.records import SUCCESS_REWARD, Message, Step, Task, Trajectory
from coevolve.envs.base import EnvError, StepResult
from coevolve.envs.benchmark import get_benchmark
from coevolve.envs.prompts import PromptTemplate
from coevolve.rollout.progress import EtaColumn, RateColumn, StageColumn

log = logging.getLogger(__name__)


@dataclass
class RolloutSettings:
    """How to explore. `params.n` is ignored: each of `samples_per_task` samples is its own episode."""

    agent: str
    params: SamplingParams = field(default_factory=SamplingParams)
    samples_per_task: int = 1
    max_concurrent: int = 16
    num_workers: int = 2
    iteration: int | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    data_dir: str | None = None
    show_progress: bool = True
    # Smoke tests only: end episodes after this many steps (end_reason "step_cap", reward so far), below
    # the benchmark's own caps. Off by default; a capped run is not comparable to published numbers.
    max_steps: int | None = None
    # ETO prompts carry the in-context example; an SFT'd model does not need it (and prompts get far shorter).
    with_examples: bool = True
    # seconds one env step may take (None: the env class's `step_timeout`); a miss ends the episode
    step_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.samples_per_task < 1:
            raise ValueError(f"samples_per_task must be >= 1, got {self.samples_per_task}")
        if self.max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, got {self.max_concurrent}")


@dataclass
class Episode:
    """A live episode: the conversation after the prompt head, and the env steps so far."""

    key: str
    task: Task
    sample_index: int
    messages: list[Message] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    reward: float = 0.0
    prompt_tokens: int = 0  # summed over turns: what generation actually read (a cost measure)
    completion_tokens: int = 0


def episode_key(task: Task, agent: str, sample_index: int) -> str:
    """Same identity as `Trajectory.key`, known before the episode runs."""
    return f"{task.key}#{agent}#{sample_index}"


class RolloutEngine:
    def __init__(self, env_name: str, policy: Policy, settings: RolloutSettings) -> None:
        self.env_name = env_name
        self.policy = policy
        self.settings = settings
        self.params = replace(settings.params, n=1)
        self.env_kwargs = dict(settings.env_kwargs)
        if settings.data_dir is not None:
            self.env_kwargs.setdefault("data_dir", settings.data_dir)
        self.template = self._load_template()

    def _load_template(self) -> PromptTemplate:
        """The env's prompt from its benchmark description (no simulator or connection started)."""
        kwargs = {k: v for k, v in self.env_kwargs.items() if k != "data_dir"}
        return get_benchmark(self.env_name).prompt(self.env_kwargs.get("data_dir"), kwargs)

    # ------------------------------------------------------------ public API

    def run(self, tasks: list[Task], out_path: Path | Callable[[Task], Path]) -> list[Trajectory]:
        """Run every (task, sample) not yet in its file; return all of them, old and new, in task order.

        `out_path` is one JSONL file, or a function naming each task's file: several evaluation splits
        share one pool of live episodes (one policy, one set of simulators, one tail) but keep their files.
        """
        agent = self.settings.agent
        path_of = out_path if callable(out_path) else (lambda _task, path=Path(out_path): path)
        wanted = [
            (episode_key(t, agent, i), t, i) for t in tasks for i in range(self.settings.samples_per_task)
        ]
        paths = list(dict.fromkeys(Path(path_of(t)) for t in tasks))
        done = {t.key: t for path in paths if path.exists() for t in trajectory_file(path).read()}
        todo = deque((key, task, i) for key, task, i in wanted if key not in done)
        if done and len(todo) < len(wanted):
            log.info(
                "%s: %d of %d episodes already finished, skipping them",
                ", ".join(map(str, paths)),
                len(wanted) - len(todo),
                len(wanted),
            )
        if todo:
            finished = [done[key].reward for key, _, _ in wanted if key in done]
            self._run(todo, path_of, done, total=len(wanted), rewards=finished)
        return [done[key] for key, _, _ in wanted if key in done]

    # ------------------------------------------------------------ loop

    def _run(
        self,
        todo: deque,
        path_of: Callable[[Task], Path],
        done: dict[str, Trajectory],
        total: int,
        rewards: list[float],
    ) -> None:
        from coevolve.envs.pool import EnvPool

        live: dict[str, Episode] = {}
        finished_before = len(rewards)
        with (
            EnvPool(
                self.env_name,
                self.env_kwargs,
                num_workers=self.settings.num_workers,
                step_timeout=self.settings.step_timeout,
            ) as pool,
            ExitStack() as files,
            self._progress() as progress,
        ):
            writers: dict[Path, JsonlWriter] = {}

            def writer_for(task: Task) -> JsonlWriter:
                path = Path(path_of(task))
                if path not in writers:
                    writers[path] = files.enter_context(JsonlWriter(path))
                return writers[path]

            bar = progress.add_task(
                f"{self.env_name} {self.settings.agent}", total=total, completed=finished_before,
                resumed=finished_before, mean=_mean(rewards),
            )  # fmt: skip

            def finish(ep: Episode, end_reason: str) -> None:
                traj = self._trajectory(ep, end_reason)
                writer_for(ep.task).write(traj)
                done[ep.key] = traj
                rewards.append(traj.reward)
                pool.release(ep.key)
                del live[ep.key]
                progress.update(bar, advance=1, mean=_mean(rewards))

            while todo or live:
                self._start(pool, todo, live, finish)
                if live:
                    self._step(pool, list(live.values()), finish)

    def _start(self, pool: Any, todo: deque, live: dict[str, Episode], finish) -> None:
        """Fill free slots with new episodes."""
        new = []
        while todo and len(live) + len(new) < self.settings.max_concurrent:
            key, task, index = todo.popleft()
            new.append(Episode(key, task, index))
        if not new:
            return
        try:
            firsts = pool.reset([(ep.key, ep.task) for ep in new])
        except EnvError as exc:  # one bad reset must not sink the batch: retry one by one
            log.warning("batched reset failed (%s); resetting one at a time", exc)
            firsts = [self._reset_one(pool, ep) for ep in new]
        for ep, first in zip(new, firsts, strict=True):
            live[ep.key] = ep
            if first is None:
                finish(ep, "error")
            else:
                ep.messages.append(Message("user", first))

    def _reset_one(self, pool: Any, ep: Episode) -> str | None:
        try:
            return pool.reset([(ep.key, ep.task)])[0]
        except EnvError as exc:
            log.error("%s: reset failed: %s", ep.key, exc)
            return None

    def _step(self, pool: Any, episodes: list[Episode], finish) -> None:
        """One batched generation over all live episodes, then one parallel env step."""
        conversations = [
            self.template.messages(ep.messages, with_examples=self.settings.with_examples) for ep in episodes
        ]
        generations = self.policy.generate(conversations, self.params, self._seeds(episodes))
        acting: list[tuple[Episode, Generation]] = []
        for ep, gens in zip(episodes, generations, strict=True):
            gen = gens[0]
            ep.prompt_tokens += gen.prompt_tokens
            ep.completion_tokens += gen.completion_tokens
            if gen.finish_reason == "context_length":
                finish(ep, "context_length")
                continue
            ep.messages.append(Message("assistant", gen.text, token_ids=list(gen.token_ids) or None))
            acting.append((ep, gen))
        if not acting:
            return
        for (ep, gen), result in zip(acting, self._act(pool, acting), strict=True):
            if result is None:
                finish(ep, "error")
                continue
            ep.steps.append(
                Step(
                    gen.text, result.action, result.observation, result.reward, result.done, dict(result.info)
                )
            )
            ep.reward = result.reward
            if result.done:
                finish(ep, result.info.get("end_reason", "done"))
            elif self.settings.max_steps is not None and len(ep.steps) >= self.settings.max_steps:
                finish(ep, "step_cap")
            else:
                ep.messages.append(Message("user", result.observation))

    def _seeds(self, episodes: list[Episode]) -> list[int] | None:
        """Per-request seeds from (seed, task, agent, sample, iteration, step): a sampled agent draws new
        noise at every step (one seed for all steps repeated its choices in identical states), and a
        rerun or resume draws the same, whatever the batch holds."""
        if self.params.seed is None:
            return None
        agent, iteration = self.settings.agent, self.settings.iteration
        return [
            derive_seed(self.params.seed, ep.task.key, agent, ep.sample_index, iteration, len(ep.steps))
            for ep in episodes
        ]

    def _act(self, pool: Any, acting: list[tuple[Episode, Generation]]) -> list[StepResult | None]:
        requests = [(ep.key, gen.text) for ep, gen in acting]
        try:
            return pool.act(requests)
        except EnvError as exc:
            log.warning("batched step failed (%s); stepping one at a time", exc)
        results: list[StepResult | None] = []
        for request in requests:
            try:
                results.append(pool.act([request])[0])
            except EnvError as exc:
                log.error("%s: step failed: %s", request[0], exc)
                results.append(None)
        return results

    def _trajectory(self, ep: Episode, end_reason: str) -> Trajectory:
        return Trajectory(
            task=ep.task,
            agent=self.settings.agent,
            instruction=self.template.instruction,
            messages=ep.messages,
            reward=ep.reward,
            success=ep.reward == SUCCESS_REWARD,
            end_reason=end_reason,
            steps=ep.steps,
            model=self.policy.name,
            sampling=self.params.to_dict(),
            sample_index=ep.sample_index,
            iteration=self.settings.iteration,
            prompt_tokens=ep.prompt_tokens,
            completion_tokens=ep.completion_tokens,
            meta=self._meta(),
        )

    def _meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"with_examples": self.settings.with_examples}
        if self.settings.max_steps:
            meta["max_steps"] = self.settings.max_steps
        return meta

    def _progress(self) -> Progress:
        return Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("episodes · mean reward {task.fields[mean]:.3f}"),
            RateColumn(),
            EtaColumn(),
            TimeElapsedColumn(),
            StageColumn(),
            disable=not self.settings.show_progress,
        )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def run_rollouts(
    env_name: str,
    tasks: list[Task],
    policy: Policy,
    out_path: Path | Callable[[Task], Path],
    *,
    agent: str,
    params: SamplingParams,
    samples_per_task: int = 1,
    max_concurrent: int = 16,
    num_workers: int = 2,
    iteration: int | None = None,
    env_kwargs: dict | None = None,
    data_dir: str | None = None,
    show_progress: bool = True,
    max_steps: int | None = None,
    with_examples: bool = True,
    step_timeout: float | None = None,
) -> list[Trajectory]:
    """Roll out `policy` on every task `samples_per_task` times; returns all finished episodes (old + new).

    `out_path`: the JSONL file, or a function giving each task's file (RolloutEngine.run)."""
    settings = RolloutSettings(
        agent=agent,
        params=params,
        samples_per_task=samples_per_task,
        max_concurrent=max_concurrent,
        num_workers=num_workers,
        iteration=iteration,
        env_kwargs=dict(env_kwargs or {}),
        data_dir=data_dir,
        show_progress=show_progress,
        max_steps=max_steps,
        with_examples=with_examples,
        step_timeout=step_timeout,
    )
    return RolloutEngine(env_name, policy, settings).run(tasks, out_path)
