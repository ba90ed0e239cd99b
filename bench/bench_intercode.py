"""InterCodeSQL throughput: environment steps per second on the real MariaDB server.

    coevolve db start
    COEVOLVE_DATA_DIR=<data> python bench/bench_intercode.py --episodes 200 --workers 1 2 4

Each episode replays the expert (SHOW TABLES, DESC per table, the gold query, submit) as model text
through `env.act`, so parsing, formatting, the guarded connection and the reward are all timed.
"One env" runs in this process; N concurrent envs run in an EnvPool of N worker processes, stepped
in lockstep batches as rollout does. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import time

from coevolve.envs.intercode_sql import IntercodeSqlEnv
from coevolve.envs.pool import EnvPool


def expert_outputs(env: IntercodeSqlEnv, split: str, episodes: int) -> list[tuple]:
    tasks = env.tasks(split)
    chosen = [tasks[i % len(tasks)] for i in range(episodes)]
    return [(task, [step.text(env) for step in env.expert(task)]) for task in chosen]


def bench_single(env: IntercodeSqlEnv, work: list[tuple]) -> tuple[int, float, float]:
    steps, reward, start = 0, 0.0, time.perf_counter()
    for task, outputs in work:
        env.reset(task)
        for output in outputs:
            result = env.act(output)
            steps += 1
        reward += result.reward
    return steps, time.perf_counter() - start, reward / len(work)


def bench_pool(workers: int, work: list[tuple]) -> tuple[int, float, float]:
    pool = EnvPool("intercode_sql", num_workers=workers)
    try:
        pool.reset([("warm", work[0][0])])  # start the worker processes outside the timing
        pool.release("warm")
        steps, reward, start = 0, 0.0, time.perf_counter()
        for begin in range(0, len(work), workers):
            batch = {f"ep{begin + i}": item for i, item in enumerate(work[begin : begin + workers])}
            pool.reset([(key, task) for key, (task, _) in batch.items()])
            live = {key: list(outputs) for key, (_, outputs) in batch.items()}
            while live:
                keys = list(live)
                results = pool.act([(key, live[key].pop(0)) for key in keys])
                steps += len(keys)
                for key, result in zip(keys, results, strict=True):
                    if result.done or not live[key]:
                        reward += result.reward
                        del live[key]
                        pool.release(key)
        return steps, time.perf_counter() - start, reward / len(work)
    finally:
        pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()

    with IntercodeSqlEnv() as env:
        work = expert_outputs(env, args.split, args.episodes)
        rows = [("1 env (in process)", *bench_single(env, work))]
    for workers in args.workers:
        label = f"{workers} env{'s' if workers > 1 else ''} (EnvPool, {workers} process{'es' if workers > 1 else ''})"
        rows.append((label, *bench_pool(workers, work)))

    print(f"\nInterCodeSQL expert replay, {args.episodes} episodes of split {args.split!r}\n")
    print("| setting | steps | seconds | steps/s | mean reward |")
    print("|---|---:|---:|---:|---:|")
    for name, steps, seconds, reward in rows:
        print(f"| {name} | {steps} | {seconds:.2f} | {steps / seconds:.0f} | {reward:.3f} |")


if __name__ == "__main__":
    main()
