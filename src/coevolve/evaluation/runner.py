"""Evaluate a policy on an environment split: roll out, then write `episodes.jsonl` + `summary.json`.

Evaluation is greedy by default (ETO's setting) and resumable: episodes already in `episodes.jsonl` are
kept and the summary is recomputed over all of them, so a killed run rerun gives a clean run's summary.
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
) -> dict[str, Any]:
    """Run (or finish) the evaluation in `out_dir` and return its summary.

    Pass `policy` to reuse a loaded model (the pipeline evaluates after each iteration); otherwise one
    is built from `backend` and `model` and closed at the end. `with_examples=False` drops the in-context
    example from the prompt (for SFT'd models; ETO evaluates with it). With `samples_per_task` > 1 the
    summary adds best-of-N and mean-of-N; `select="best"` reports best-of-N as avg_reward (an oracle).
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    kwargs = dict(env_kwargs or {})
    if data_dir is not None:
        kwargs.setdefault("data_dir", data_dir)
    # the benchmark's description gives tasks, data label and prompt set without a live env
    bench, own_kwargs = get_benchmark(env), {k: v for k, v in kwargs.items() if k != "data_dir"}
    bench.check_split(split)
    tasks = tasks if tasks is not None else bench.tasks(split, kwargs.get("data_dir"), own_kwargs)
    data_label = bench.describe_data(own_kwargs, kwargs.get("data_dir"))[0]  # e.g. "generated" offline
    prompt_set = bench.prompt(kwargs.get("data_dir"), own_kwargs).prompt_set or None  # "embedded", "eto"
    tasks = tasks[:limit] if limit else tasks
    if not tasks:  # an average over nothing is no score: refuse instead of reporting 0.0
        raise ValueError(f"{env} {split}: no task to evaluate (check the split, the ids and the task filter)")
    out_dir = Path(out_dir)
    own = policy is None
    policy = policy or make_policy(backend, model, **(policy_kwargs or {}))
    try:
        trajs = run_rollouts(
            env,
            tasks,
            policy,
            out_dir / EPISODES_FILE,
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
    summary = summarize(trajs, env, split, data_label, model, agent, prompt_set, select)
    summary["generated_tokens"] = sum(t.completion_tokens for t in trajs)  # cost accounting
    summary["prompt_tokens"] = sum(t.prompt_tokens for t in trajs)
    write_json_atomic(out_dir / SUMMARY_FILE, summary, indent=2)
    return summary
