"""Rollout throughput with SmolLM2-135M on CPU: batching (`--mode batch`) and prefix KV caching (`--mode cache`).

`--mode batch` runs the same greedy episodes with the hf backend for every dtype (fp32, and bf16 where
the CPU has bf16 matrix units) x torch threads (`--thread-counts`) x live episodes (`--live`: one batched
`generate` per step) plus one at a time (`max_concurrent=1`, first `--single-episodes` tasks), and reports
wall time, generated tokens/s, its ratio to the fp32 / 1 thread / batched row (`vs today`: the path before
bf16), prefill tokens/s (one batched forward over the first prompts), how many episodes are identical to
the fp32 batched run with the same threads, and the setting the rollout engine picks by default. Rows are
interleaved (each mode cycles through the settings) so machine load affects them alike. The environment is a trivial in-process
text game (any text is an action, done after `--steps` turns), so the numbers measure generation.

    python bench/bench_rollout.py --episodes 32 --steps 2 --max-new-tokens 64

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


def _episodes(trajs) -> list[list[str]]:
    return [[m.content for m in t.messages] for t in trajs]


def _prefill_rate(policy, tasks, steps: int) -> float:
    """Prompt tokens/s of one batched forward over the first-step prompts (no cache)."""
    import torch

    env = EchoEnv(steps=steps)
    prompts = [policy.render(env.prompt().messages([Message("user", env.reset(t))])) for t in tasks]
    width = max(len(p) for p in prompts)
    ids = torch.tensor([[policy.pad_id] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    start = time.perf_counter()
    with torch.inference_mode():
        policy.model(input_ids=ids, attention_mask=mask, logits_to_keep=1)
    return sum(len(p) for p in prompts) / (time.perf_counter() - start)


def _default_setting(model: str) -> dict:
    """What the rollout engine picks when neither dtype nor threads are given (`HFPolicy.setting`)."""
    policy = make_policy("hf", model)
    setting = dict(policy.setting)
    policy.close()
    return setting


def batch_mode(args: argparse.Namespace) -> None:
    """Every dtype x threads x concurrency in one run, interleaved; one-at-a-time on the first --single-episodes.

    The rows are taken mode by mode, cycling through the dtype x threads settings inside each mode (and
    `--repeat` times over), so a change in machine load hits every setting alike. `vs today` divides each
    row's generated tok/s by the fp32 / 1 thread / most-live-episodes row (the rollout path before bf16).
    """
    import torch

    from coevolve.hardware import cpu_bf16_flags

    dtypes = ["float32", "bfloat16"] if cpu_bf16_flags() else ["float32"]
    params = SamplingParams(max_new_tokens=args.max_new_tokens)
    tasks = EchoEnv().tasks("test")[: args.episodes]
    print(
        f"model {args.model}, {args.episodes} episodes x {args.steps} steps, max_new_tokens {args.max_new_tokens}, "
        f"one-at-a-time on the first {args.single_episodes}; CPU bf16 features: {cpu_bf16_flags() or 'none'}; "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}"
    )
    default = _default_setting(args.model)
    settings = [(d, t) for d in dtypes for t in args.thread_counts]
    policies = {s: make_policy("hf", args.model, dtype=s[0], num_threads=s[1]) for s in settings}
    modes = [(f"batched ({live} live)", live, tasks) for live in args.live]
    modes.append(("one at a time", 1, tasks[: args.single_episodes]))
    prefill: dict = {s: [] for s in settings}
    runs: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeat):
            for s, policy in policies.items():
                torch.set_num_threads(s[1])
                if rep == 0:
                    policy.generate([[Message("user", "warm up")]], SamplingParams(max_new_tokens=2))
                prefill[s].append(_prefill_rate(policy, tasks, args.steps))
            for mode, live, mode_tasks in modes:
                for s, policy in policies.items():
                    torch.set_num_threads(s[1])
                    out = Path(tmp) / f"{s[0]}-{s[1]}-{live}-{rep}.jsonl"
                    runs.setdefault((s, mode), []).append(
                        _run(policy, mode_tasks, params, args.steps, live, out)
                    )
    for policy in policies.values():
        policy.close()
    _print_batch_table(runs, prefill, settings, modes)
    print(f"\nrollout engine default (no dtype / num_threads given): {default}")


def _print_batch_table(runs: dict, prefill: dict, settings: list, modes: list) -> None:
    """tok/s over all repeats; episodes compared with the fp32 run of the first mode at the same threads."""
    first = modes[0][0]
    rate = {
        k: sum(t.completion_tokens for _, tr in v for t in tr) / sum(sec for sec, _ in v)
        for k, v in runs.items()
    }
    today = rate.get((("float32", 1), first))
    print(
        f"\n| dtype | threads | mode | wall s | generated tok/s | vs today | prefill tok/s | same as fp32 ({first}) |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---|")
    for s in settings:
        for mode, _, _ in modes:
            reps = runs[(s, mode)]
            ref = _episodes(runs[(("float32", s[1]), first)][0][1])
            eps = _episodes(reps[0][1])
            same = sum(e == r for e, r in zip(eps, ref, strict=False))
            ratio = f"{rate[(s, mode)] / today:.2f}x" if today else "-"
            seconds = sum(sec for sec, _ in reps) / len(reps)
            pre = sum(prefill[s]) / len(prefill[s])
            print(f"| {s[0]} | {s[1]} | {mode} | {seconds:.1f} | {rate[(s, mode)]:.1f} | {ratio} | {pre:.0f} | "
                  f"{same}/{len(eps)} |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["batch", "cache"], default="batch")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, help="cache mode: torch CPU threads")
    parser.add_argument(
        "--thread-counts", type=int, nargs="+", default=[1, 2], help="batch mode: threads to try"
    )
    parser.add_argument("--live", type=int, nargs="+", default=[32, 16], help="batch mode: live episodes")
    parser.add_argument(
        "--single-episodes", type=int, default=4, help="batch mode: episodes run one at a time"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="batch mode: passes over all rows (interleaved)"
    )
    parser.add_argument("--workers", type=int, default=1, help="cache mode: env worker processes")
    args = parser.parse_args()
    if args.mode == "cache":
        return cache_mode(args)
    return batch_mode(args)


if __name__ == "__main__":
    main()
