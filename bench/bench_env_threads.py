"""Policy threads in a real rollout: the same ScienceWorld evaluation with 1 and 2 torch threads, side by side.

The simulator runs in JVMs beside the policy, so whether the policy should take every core is measured here
on the demo's slice (30 unseen variations of the three `find` types, greedy, 64-token turns, 30 concurrent
episodes, 2 env workers, no in-context example), not inferred from bench_rollout.py's in-process env.

    python bench/bench_env_threads.py runs/demo/sciworld/sft/checkpoints/sft --threads 2 1 --out /tmp/env-threads
"""

from __future__ import annotations

import argparse
import json
import time

from coevolve.agents.base import SamplingParams
from coevolve.envs.benchmark import get_benchmark
from coevolve.evaluation.runner import evaluate

FIND_TYPES = ("task-3-find-living-thing", "task-3-find-non-living-thing", "task-3-find-plant")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="an SFT'd model (e.g. the demo's)")
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--split", default="unseen")
    parser.add_argument("--out", default="/tmp/env-threads")
    args = parser.parse_args()
    tasks = [
        t
        for t in get_benchmark("sciworld").tasks(args.split, None, {})
        if t.meta.get("task_name") in FIND_TYPES
    ]
    print(
        "| policy threads | wall s | generated tokens | generated tok/s | avg reward x 100 |\n|---:|---:|---:|---:|---:|"
    )
    rows = []
    for i, threads in enumerate(args.threads):
        start = time.time()
        summary = evaluate(args.checkpoint, "sciworld", args.split, f"{args.out}/t{threads}_{i}", tasks=tasks,
                           params=SamplingParams(max_new_tokens=64), max_concurrent=30, num_workers=2,
                           with_examples=False, policy_kwargs={"num_threads": threads}, show_progress=False)  # fmt: skip
        wall = time.time() - start
        rows.append([threads, round(wall, 1), summary["generated_tokens"], round(summary["generated_tokens"] / wall, 1),
                     round(summary["avg_reward"], 1)])  # fmt: skip
        print("| " + " | ".join(map(str, rows[-1])) + " |", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
