"""Rollout throughput with SmolLM2-135M on CPU: batching (`--mode batch`) and prefix KV caching (`--mode cache`).

`--mode batch` runs the same greedy episodes twice with the hf backend: all `--episodes` live at once (one batched
`generate` per step) and one at a time (`max_concurrent=1`), and reports wall time, generated tokens/s,
the speed-up and whether both produced identical episodes. The environment is a trivial in-process
text game (any text is an action, done after `--steps` turns), so the numbers measure generation.

    OMP_NUM_THREADS=1 python bench/bench_rollout.py --episodes 32 --steps 2 --max-new-tokens 64 --threads 1

`--mode cache` rolls out real multi-turn ScienceWorld episodes (unseen split, capped at `--steps` steps)
with the prefix cache on and off, with and without the in-context example, and reports wall time, the
share of prompt tokens served from the cache, the speed-up and whether the episodes are identical:

    OMP_NUM_THREADS=1 python bench/bench_rollout.py --mode cache --episodes 4 --steps 8 --max-new-tokens 48 \
        --threads 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from coevolve.agents import SamplingParams, make_policy
from coevolve.data.records import Message, Task
from coevolve.envs.base import Env, StepResult
from coevolve.envs.prompts import PromptTemplate
from coevolve.envs.registry import register_env
from coevolve.rollout import run_rollouts


@register_env("bench_echo")
class EchoEnv(Env):
    """Done after `steps` turns; observations echo the turn count."""

    splits = ("test",)

    def __init__(self, data_dir: str | None = None, steps: int = 2) -> None:
        super().__init__(data_dir)
        self.steps = steps

    def tasks(self, split: str) -> list[Task]:
        return [Task("bench_echo", split, str(i)) for i in range(1000)]

    def prompt(self) -> PromptTemplate:
        example = [
            Message("user", "Task 0: describe the room."),
            Message("assistant", "Thought: look.\nAction: look"),
        ]
        return PromptTemplate("You are in a text game. Reply with a Thought and an Action.", [example])

    def max_steps(self, task: Task) -> int:
        return self.steps

    def parse_action(self, output: str) -> str | None:
        return output

    def _reset(self, task: Task) -> str:
        return f"Task {task.id}: describe what you would do in room {task.id}."

    def _step(self, action: str) -> StepResult:
        return StepResult(f"Observation: turn {self.num_steps + 1} done.", 0.0, False)


def _run(policy, tasks, params, steps: int, concurrent: int, out: Path) -> tuple[float, list]:
    start = time.perf_counter()
    trajs = run_rollouts(
        "bench_echo", tasks, policy, out, agent="bench", params=params, max_concurrent=concurrent,
        num_workers=0, env_kwargs={"steps": steps}, show_progress=False,
    )  # fmt: skip
    return time.perf_counter() - start, trajs


def _sciworld(policy, tasks, params, args, with_examples: bool, out: Path) -> tuple[float, list, float]:
    before = dict(policy.stats)
    start = time.perf_counter()
    trajs = run_rollouts(
        "sciworld", tasks, policy, out, agent="bench", params=params, max_concurrent=args.episodes,
        num_workers=args.workers, show_progress=False, max_steps=args.steps, with_examples=with_examples,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    sent = policy.stats["prompt_tokens"] - before["prompt_tokens"]
    return seconds, trajs, (policy.stats["cached_tokens"] - before["cached_tokens"]) / max(sent, 1)


def cache_mode(args: argparse.Namespace) -> None:
    from coevolve.envs.registry import make_env

    env = make_env("sciworld")
    tasks = env.tasks("unseen")[: args.episodes]
    env.close()
    params = SamplingParams(max_new_tokens=args.max_new_tokens)
    print(
        f"model {args.model}, sciworld unseen, {args.episodes} episodes (all live) x <= {args.steps} steps, "
        f"max_new_tokens {args.max_new_tokens}, torch threads {args.threads}"
    )
    print("| examples | prefix cache | wall s | steps | prompt tok/step | cached share | speed-up | same |")
    print("|---|---|---|---|---|---|---|---|")
    for with_examples in (True, False):
        runs = {}
        for cache in (True, False):
            policy = make_policy("hf", args.model, num_threads=args.threads, prefix_cache=cache)
            with tempfile.TemporaryDirectory() as tmp:
                runs[cache] = _sciworld(policy, tasks, params, args, with_examples, Path(tmp) / "r.jsonl")
            policy.close()
        same = [[m.content for m in t.messages] for t in runs[True][1]] == [
            [m.content for m in t.messages] for t in runs[False][1]
        ]
        for cache in (True, False):
            seconds, trajs, share = runs[cache]
            steps = sum(t.num_steps for t in trajs)
            per_step = sum(t.prompt_tokens for t in trajs) / max(steps, 1)
            ratio = f"{runs[False][0] / seconds:.2f}x" if cache else "1.00x"
            print(
                f"| {'on' if with_examples else 'off'} | {'on' if cache else 'off'} | {seconds:.1f} | {steps} "
                f"| {per_step:.0f} | {share:.2f} | {ratio} | {same} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["batch", "cache"], default="batch")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--workers", type=int, default=1, help="cache mode: env worker processes")
    args = parser.parse_args()
    if args.mode == "cache":
        return cache_mode(args)

    policy = make_policy("hf", args.model, num_threads=args.threads)
    params = SamplingParams(max_new_tokens=args.max_new_tokens)
    tasks = EchoEnv().tasks("test")[: args.episodes]
    policy.generate([[Message("user", "warm up")]], SamplingParams(max_new_tokens=2))
    with tempfile.TemporaryDirectory() as tmp:
        batched_s, batched = _run(policy, tasks, params, args.steps, args.episodes, Path(tmp) / "b.jsonl")
        single_s, single = _run(policy, tasks, params, args.steps, 1, Path(tmp) / "s.jsonl")
    tokens = sum(t.completion_tokens for t in batched)
    same = [[m.content for m in t.messages] for t in batched] == [
        [m.content for m in t.messages] for t in single
    ]
    print(
        f"model {args.model}, {args.episodes} episodes x {args.steps} steps, max_new_tokens {args.max_new_tokens}"
    )
    print("| mode | wall s | generated tok/s |")
    print("|---|---|---|")
    print(f"| batched ({args.episodes} live) | {batched_s:.1f} | {tokens / batched_s:.1f} |")
    print(f"| one at a time | {single_s:.1f} | {sum(t.completion_tokens for t in single) / single_s:.1f} |")
    print(f"speed-up: {single_s / batched_s:.2f}x; identical greedy episodes: {same}")


if __name__ == "__main__":
    main()
