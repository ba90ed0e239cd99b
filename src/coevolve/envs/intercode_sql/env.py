"""The `intercode_sql` environment: IPR's wrapper over InterCode's SQL env, on a read-only connection.

Differences from the official setup, all safety fixes that leave rewards of honest answers unchanged:
the agent's account can only read and every statement is rolled back; the gold query runs on its own
clean connection in the task's database once the agent changed session state (officially it shares the
agent's cursor, so an agent's `DELETE` or `USE` changed the gold answer); long statements are cut off by
the server and by the client; the session's settings are pinned (guard.py); a result is read up to
`max_result_rows` rows / `max_result_bytes` bytes (the rest is dropped; `info["result_capped"]`); the
observation after `submit` is truncated like every other (IPR prints the whole last result there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coevolve.data.records import Task
from coevolve.envs.base import Env, ExpertStep, StepResult
from coevolve.envs.benchmark import Benchmark, Column, Service, register_benchmark
from coevolve.envs.intercode_sql import actions, service
from coevolve.envs.intercode_sql.resources import RESOURCES
from coevolve.envs.intercode_sql.reward import intercode_reward
from coevolve.envs.intercode_sql.server import DB_URL_ENV, DbUrl, MariaDBServer
from coevolve.envs.intercode_sql.session import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, SqlOutput, SqlSession
from coevolve.envs.intercode_sql.tasks import (
    DATA_LABELS,
    DEV_TASKS,
    SPLITS,
    TASK_SETS,
    choose_task_set,
    load_tasks,
)
from coevolve.envs.prompts import EMBEDDED, PromptTemplate, choose_prompt_set, load_prompts
from coevolve.envs.registry import register_env


@dataclass
class IntercodeSqlConfig:
    """Settings of the InterCodeSQL environment."""

    # mysql://user:password@host:port; None: COEVOLVE_DB_URL, else the project's server (`coevolve db start`).
    db_url: str | None = None
    # Seconds before the server cuts a statement off (MariaDB max_statement_time); 0 = no limit.
    statement_timeout: float = 10.0
    # Seconds the client waits for one statement before killing it; None: statement_timeout + 5 (0 = none).
    client_timeout: float | None = None
    # A result is read up to this many rows / about this many bytes (the largest gold: 1,860 rows, 25 kB).
    max_result_rows: int = DEFAULT_MAX_ROWS
    max_result_bytes: int = DEFAULT_MAX_BYTES
    # How a statement without a result set is shown: "ipr" (IPR's parse-failure text) or "no_output".
    no_result: str = "ipr"
    num_examples: int = 1  # IPR uses the first of its three in-context examples
    max_steps: int = 10
    # "embedded" (the project's own instruction + example), "ipr" (IPR's files, downloaded) or "auto".
    prompt_set: str = EMBEDDED
    # "auto" (ic_spider_dev.json when local, else the wheel's 23 questions), "spider_dev" or "wheel".
    task_set: str = "auto"

    def __post_init__(self) -> None:
        if self.no_result not in actions.NO_RESULT_MODES:
            raise ValueError(f"no_result must be one of {actions.NO_RESULT_MODES}, got {self.no_result!r}")
        if self.statement_timeout < 0:
            raise ValueError(f"statement_timeout must be >= 0, got {self.statement_timeout}")
        if self.client_timeout is not None and self.client_timeout < 0:
            raise ValueError(f"client_timeout must be >= 0 or null, got {self.client_timeout}")
        for key in ("max_result_rows", "max_result_bytes"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.task_set not in TASK_SETS:
            raise ValueError(f"task_set must be one of {TASK_SETS}, got {self.task_set!r}")


@register_env("intercode_sql")
class IntercodeSqlEnv(Env):
    splits = SPLITS
    invalid_format_observation = f"Observation: {actions.PARSE_FAILURE}"

    def __init__(
        self, data_dir: str | Path | None = None, config: IntercodeSqlConfig | None = None, **overrides: Any
    ) -> None:
        super().__init__(str(data_dir) if data_dir else None)
        self.config = config or IntercodeSqlConfig(**overrides)
        self.prompt_set = choose_prompt_set("intercode_sql", self.config.prompt_set, self.data_dir)
        self.task_set = choose_task_set(self.config.task_set, self.data_dir)
        self.data_label = DATA_LABELS[self.task_set]
        self.agent = self._session()
        self.gold = self._session()
        self.last_output: SqlOutput = None
        self._tasks: dict[str, list[Task]] = {}

    def _session(self) -> SqlSession:
        config = self.config
        return SqlSession(
            DbUrl.default(config.db_url),
            config.statement_timeout,
            read_only=True,
            client_timeout=config.client_timeout,
            max_rows=config.max_result_rows,
            max_bytes=config.max_result_bytes,
        )

    # ------------------------------------------------------------ Env API

    def tasks(self, split: str) -> list[Task]:
        if split not in self._tasks:
            self._tasks[split] = load_tasks(self.check_split(split), self.data_dir, self.task_set)
        return self._tasks[split]

    def prompt(self) -> PromptTemplate:
        return load_prompts("intercode_sql", self.prompt_set, self.config.num_examples, self.data_dir)

    def max_steps(self, task: Task) -> int:
        return self.config.max_steps

    def reward_at_step_cap(self, last: StepResult) -> float:
        return 0.0  # IPR: reaching the cap without submitting scores 0

    def parse_action(self, output: str) -> str | None:
        return actions.parse_action(output)

    def format_output(self, thought: str, action: str) -> str:
        return actions.format_sql_action(thought, action)

    def _reset(self, task: Task) -> str:
        if self.agent.tainted:  # a SET in the last episode (e.g. of max_statement_time) must not carry over
            self.agent.close()
        self.agent.use(task.meta["db"])
        self.last_output = None  # InterCode's `use <db>` leaves no result: submit now scores 0
        return task.instruction

    def _step(self, action: str) -> StepResult:
        if action == actions.SUBMIT:
            return self._submit()
        self.last_output = self.agent.execute(action)
        observation = actions.format_observation(self.last_output, self.config.no_result)
        info: dict[str, Any] = {"error": isinstance(self.last_output, str)}
        if self.agent.capped:
            info["result_capped"] = True
        return StepResult(observation, 0.0, False, info=info)

    def _submit(self) -> StepResult:
        assert self.task is not None
        gold, gold_error = self.gold_result(self.task)
        reward = intercode_reward(self.last_output, gold)
        info: dict[str, Any] = {"success": reward == 1.0}
        if gold_error:
            info["gold_error"] = gold_error
        return StepResult(actions.format_submit_observation(self.last_output), float(reward), True, info=info)

    def gold_result(self, task: Task) -> tuple[SqlOutput, str | None]:
        """The gold rows (a failing gold counts as empty, as in InterCode) and the gold's error text.

        Rows tied at a LIMIT come back in one order on one connection but not across connections, so,
        as InterCode does, the gold runs on the agent's connection, which holds no uncommitted change
        (read-only grants, rollback after every statement), in the task's database. If the agent ran
        anything that may change session state (SET ...), a separate fresh connection runs it instead.
        """
        session = self.gold if self.agent.tainted or self.agent.database is None else self.agent
        if session is self.gold:
            self.gold.close()
        session.use(task.meta["db"])
        output = session.execute(task.meta["gold"])
        if isinstance(output, str):
            return [], output
        return (output if output is not None else []), None

    def expert(self, task: Task) -> list[ExpertStep]:
        """SHOW TABLES, DESC of each table the gold query names, the gold query, submit."""
        steps = [ExpertStep("I should check which tables the database has.", "SHOW TABLES")]
        for table in tables_in_query(task.meta["gold"], task.meta.get("tables", [])):
            steps.append(ExpertStep(f"I should look at the columns of the `{table}` table.", f"DESC {table}"))
        query = " ".join(task.meta["gold"].split("\n")).strip()  # IPR runs the first line only
        steps.append(ExpertStep("Now I can write a query that answers the question.", query))
        steps.append(
            ExpertStep("The query ran and its result answers the question. I can submit it.", "submit")
        )
        return steps

    def close(self) -> None:
        self.agent.close()
        self.gold.close()


def tables_in_query(sql: str, tables: list[str]) -> list[str]:
    """The known tables named in a query, in order of first mention."""
    found = []
    for table in tables:
        match = re.search(rf"(?<![\w`.]){re.escape(table)}(?![\w`])", sql, re.IGNORECASE)
        if match:
            found.append((match.start(), table))
    return [table for _, table in sorted(found)]


# ------------------------------------------------------------------ benchmark description


def _config(kwargs: dict[str, Any]) -> IntercodeSqlConfig:
    return kwargs.get("config") or IntercodeSqlConfig(
        **{k: v for k, v in kwargs.items() if k not in ("config", "data_dir")}
    )


def _benchmark_tasks(split: str, data_dir: str | Path | None, kwargs: dict[str, Any]) -> list[Task]:
    data_dir = str(data_dir) if data_dir else None
    return load_tasks(split, data_dir, choose_task_set(_config(kwargs).task_set, data_dir))


def _benchmark_prompt(data_dir: str | Path | None, kwargs: dict[str, Any]) -> PromptTemplate:
    config = _config(kwargs)
    return load_prompts(
        "intercode_sql", config.prompt_set, config.num_examples, str(data_dir) if data_dir else None
    )


def _benchmark_data(kwargs: dict[str, Any], data_dir: str | Path | None) -> tuple[str, str]:
    chosen = choose_task_set(_config(kwargs).task_set, data_dir)
    if chosen == "spider_dev":
        return DATA_LABELS[chosen], f"InterCode's Spider dev tasks ({DEV_TASKS})"
    return DATA_LABELS[chosen], "the intercode-bench wheel's 23 questions, not the benchmark split"


def _start_server() -> str:
    return MariaDBServer().start()  # idempotent: "already running" when it is


def _stop_server() -> str:
    return MariaDBServer().stop()


BENCHMARK = register_benchmark(
    Benchmark(
        name="intercode_sql",
        display_name="InterCodeSQL",
        columns=(Column("InterCodeSQL", "test"),),
        results_table=True,
        metric="average reward (InterCode's row overlap x Kendall tau of the submitted result, 0-1) x100",
        service=Service(
            "MariaDB",
            _start_server,
            external_env_var=DB_URL_ENV,
            how_to_start="coevolve db start",
            kind="database",
            add_arguments=service.add_arguments,
            command=service.run,
            user_error=service.is_user_error,
            stop=_stop_server,
        ),
        data=_benchmark_data,
        task_list=_benchmark_tasks,
        prompt_loader=_benchmark_prompt,
        resources=RESOURCES,
        demo={
            "env": {
                "name": "intercode_sql",
                "train_limit": 100,
                "explore_limit": 30,
                "eval_splits": ["test"],
                "eval_limit": 30,
            },
            "quick": {"train_limit": 4, "eval_limit": 3},
            "max_new_tokens": 192,
            "max_length": 2048,
        },
    )
)
