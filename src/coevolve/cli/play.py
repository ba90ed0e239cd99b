"""`coevolve play ENV --task ID`: run actions through an environment and print every step as JSON.

Actions come from --actions FILE (or `-` for stdin), one per line; with --raw each line is a JSON
string holding a full model output (parsed by the env like an agent turn). With no --actions and a
terminal on stdin it is an interactive text game. `--replay FILE.jsonl` instead replays the "actions"
of every record of an expert file and fails unless each reaches reward 1.0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from coevolve.data.formats import load_records
from coevolve.data.records import SUCCESS_REWARD, RecordError, Task
from coevolve.envs.base import Env, StepResult, name_error
from coevolve.envs.registry import make_env


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("play", help="play actions in an environment, or replay an expert file")
    parser.add_argument("env", help="environment name (`coevolve ls envs`)")
    parser.add_argument("--task", help="task id as the env lists it")
    parser.add_argument("--split", help="split of the task (default: the first split holding the id)")
    parser.add_argument("--actions", help="file with one action per line, or - for stdin")
    parser.add_argument("--raw", action="store_true", help="lines are JSON strings of full model outputs")
    parser.add_argument("--replay", help="expert JSONL file: replay each record's actions, expect 1.0")
    parser.add_argument("--data-dir", help="folder with the data files (or COEVOLVE_DATA_DIR)")
    parser.set_defaults(func=run)


def find_task(env: Env, task_id: str, split: str | None) -> Task:
    if split is not None:
        return env.get_task(split, task_id)
    every = []
    for name in env.splits:
        tasks = env.tasks(name)
        for task in tasks:
            if task.id == task_id:
                return task
        every += [t.id for t in tasks]
    raise name_error(f"{env.name} task", task_id, list(dict.fromkeys(every)))


def step_json(result: StepResult) -> dict[str, Any]:
    data = {"action": result.action, "observation": result.observation}
    data.update(reward=result.reward, done=result.done)
    info = {k: v for k, v in result.info.items() if k != "end_reason"}
    if info:
        data["info"] = info
    return data


def _lines(source: TextIO, raw: bool, where: str) -> Iterator[str]:
    for number, line in enumerate(source, start=1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        if not raw:
            yield line.strip()
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordError(f"{where}:{number}: --raw lines must be JSON strings ({exc.msg})") from exc
        if not isinstance(value, str):
            raise RecordError(f"{where}:{number}: --raw lines must be JSON strings")
        yield value


def play(
    env: Env, task: Task, inputs: Iterator[str], raw: bool, out: TextIO, interactive: bool = False
) -> dict:
    first = env.reset(task)
    print(first if interactive else json.dumps({"task": task.id, "observation": first}), file=out)
    result = None
    for text in inputs:
        result = env.act(text) if raw else env.step(text)
        print(result.observation if interactive else json.dumps(step_json(result)), file=out, flush=True)
        if result.done:
            break
    reward = result.reward if result else 0.0
    end_reason = result.info.get("end_reason") if result and result.done else "stopped"
    summary = {"reward": reward, "success": reward >= SUCCESS_REWARD, "steps": env.num_steps}
    summary["end_reason"] = end_reason
    print(json.dumps(summary), file=out)
    return summary


def _prompted(console: Console) -> Iterator[str]:
    while True:
        try:
            line = console.input("[bold]> ")
        except EOFError:
            return
        if line.strip():
            yield line.strip()


def replay(env: Env, path: str, split: str | None) -> int:
    table = Table("id", "split", "steps", "reward", "end reason", title=f"replay of {path}")
    failed = 0
    for i, record in enumerate(load_records(path)):
        where = f"{path}: record {i}"
        actions = record.get("actions")
        if (
            "id" not in record
            or not isinstance(actions, list)
            or not all(isinstance(a, str) for a in actions)
        ):
            raise RecordError(f"{where}: needs 'id' and 'actions' (a list of strings)")
        task = find_task(env, str(record["id"]), split or record.get("split"))
        env.reset(task)
        result = None
        for action in actions:
            result = env.step(action)
            if result.done:
                break
        reward = result.reward if result else 0.0
        failed += reward < SUCCESS_REWARD
        colour = "green" if reward >= SUCCESS_REWARD else "red"
        end = result.info.get("end_reason", "not done") if result and result.done else "not done"
        table.add_row(task.id, task.split, str(env.num_steps), f"[{colour}]{reward:.2f}", end)
    Console().print(table)
    print(f"{failed} of {table.row_count} records below reward 1.0", file=sys.stderr)
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    env = make_env(args.env, data_dir=args.data_dir)
    try:
        if args.replay:
            return replay(env, args.replay, args.split)
        if not args.task:
            raise ValueError("play needs --task ID (or --replay FILE)")
        task = find_task(env, args.task, args.split)
        if args.actions and args.actions != "-":
            with open(args.actions, encoding="utf-8") as fh:
                play(env, task, _lines(fh, args.raw, args.actions), args.raw, sys.stdout)
        elif args.actions == "-" or not sys.stdin.isatty():
            play(env, task, _lines(sys.stdin, args.raw, "<stdin>"), args.raw, sys.stdout)
        else:
            play(env, task, _prompted(Console()), False, sys.stdout, interactive=True)
        return 0
    finally:
        env.close()
