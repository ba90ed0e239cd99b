"""Evaluate a policy on an environment split: roll out, then write `episodes.jsonl` + `summary.json`.

`evaluate_splits` runs several splits of one benchmark in one pool of live episodes (the pipeline's seen +
unseen evaluation), each split keeping its own folder. Evaluation is greedy by default (ETO's setting) and
resumable: episodes already in `episodes.jsonl` are kept and the summary is recomputed over all of them, so a
killed run rerun gives a clean run's summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coevolve.agents.base import Policy, SamplingParams, make_policy
from coevolve.data.jsonl import write_json_atomic
from coevolve.data.records import Task
from coevolve.envs.benchmark import get_benchmark
from coevolve.evaluation.summary import summarize
from coevolve.rollout.engine import run_rollouts

EPISODES_FILE = "episodes.jsonl"
SUMMARY_FILE = "summary.json"


def evaluate(
    model: str,
    env: str,
    split: str,
    out_dir: str | Path,
    *,
    limit: int | None = None,
    tasks: list[Task] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Run (or finish) the evaluation of one split in `out_dir` and return its summary (`evaluate_splits`)."""
    only = {split: tasks} if tasks is not None else None
    return evaluate_splits(model, env, {split: out_dir}, limit=limit, tasks=only, **kwargs)[split]


def evaluate_splits(
    model: str,
    env: str,
    out_dirs: dict[str, str | Path],
    *,
    limit: int | None = None,
    tasks: dict[str, list[Task]] | None = None,
    backend: str = "hf",
    policy: Policy | None = None,
    params: SamplingParams | None = None,
    max_concurrent: int = 16,
    num_workers: int = 2,
    agent: str = "target",
    data_label: str = "official",
    iteration: int | None = None,
    data_dir: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    policy_kwargs: dict[str, Any] | None = None,
    show_progress: bool = True,
    max_steps: int | None = None,
    with_examples: bool = True,
    step_timeout: float | None = None,
    samples_per_task: int = 1,
    select: str = "mean",
) -> dict[str, dict[str, Any]]:
    """Evaluate several splits of one benchmark in one pool of live episodes; a summary per split.

    `out_dirs` maps each split to its folder (`episodes.jsonl` + `summary.json`, as one `evaluate` call
    writes). One policy, one set of simulators and one batch tail for all splits: the pipeline's seen +
    unseen evaluation keeps `max_concurrent` episodes live until both are done instead of draining twice.
    `tasks` (by split) replaces a split's task list; `limit` keeps the first N of each split.
    Pass `policy` to reuse a loaded model; otherwise one is built from `backend` and `model` and closed
    at the end. `with_examples=False` drops the in-context example from the prompt (for SFT'd models; ETO
    evaluates with it). With `samples_per_task` > 1 the summary adds best-of-N and mean-of-N;
    `select="best"` reports best-of-N as avg_reward (an oracle).
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    kwargs = dict(env_kwargs or {})
    if data_dir is not None:
        kwargs.setdefault("data_dir", data_dir)
    # the benchmark's description gives tasks, data label and prompt set without a live env
    bench, own_kwargs = get_benchmark(env), {k: v for k, v in kwargs.items() if k != "data_dir"}
    data_label = bench.describe_data(own_kwargs, kwargs.get("data_dir"))[0]  # e.g. "generated" offline
    prompt_set = bench.prompt(kwargs.get("data_dir"), own_kwargs).prompt_set or None  # "embedded", "eto"
    by_split: dict[str, list[Task]] = {}
    for split in out_dirs:
        bench.check_split(split)
        given = (tasks or {}).get(split)
        chosen = given if given is not None else bench.tasks(split, kwargs.get("data_dir"), own_kwargs)
        by_split[split] = chosen[:limit] if limit else chosen
        if not by_split[split]:  # an average over nothing is no score: refuse instead of reporting 0.0
            raise ValueError(
                f"{env} {split}: no task to evaluate (check the split, the ids and the task filter)"
            )
    route = {t.key: Path(out_dirs[split]) / EPISODES_FILE for split, ts in by_split.items() for t in ts}
    if len(route) < sum(len(ts) for ts in by_split.values()):
        raise ValueError(f"{env}: splits {sorted(out_dirs)} share a task; evaluate them one at a time")
    own = policy is None
    policy = policy or make_policy(backend, model, **(policy_kwargs or {}))
    try:
        trajs = run_rollouts(
            env,
            [t for ts in by_split.values() for t in ts],
            policy,
            lambda task: route[task.key],
            agent=agent,
            params=params or SamplingParams(),
            max_concurrent=max_concurrent,
            num_workers=num_workers,
            iteration=iteration,
            env_kwargs=kwargs,
            show_progress=show_progress,
            max_steps=max_steps,
            with_examples=with_examples,
            step_timeout=step_timeout,
            samples_per_task=samples_per_task,
        )
    finally:
        if own:
            policy.close()
    summaries = {}
    for split, out_dir in out_dirs.items():
        own_trajs = [t for t in trajs if route[t.task.key].parent == Path(out_dir)]
        summary = summarize(own_trajs, env, split, data_label, model, agent, prompt_set, select)
        summary["generated_tokens"] = sum(t.completion_tokens for t in own_trajs)  # cost accounting
        summary["prompt_tokens"] = sum(t.prompt_tokens for t in own_trajs)
        write_json_atomic(Path(out_dir) / SUMMARY_FILE, summary, indent=2)
        summaries[split] = summary
    return summaries
