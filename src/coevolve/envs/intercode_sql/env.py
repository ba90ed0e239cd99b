"""The `intercode_sql` environment: IPR's wrapper over InterCode's SQL env, on a read-only connection.

Differences from the official setup, all safety fixes that leave rewards of honest answers unchanged:
the agent's account can only read and every statement is rolled back; the gold query runs on its own
clean connection in the task's database (officially it shares the agent's cursor, so an agent's
`DELETE` or `USE` changed the gold answer); long statements are cut off by the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coevolve.data.records import Task
from coevolve.envs.base import Env, ExpertStep, StepResult
from coevolve.envs.intercode_sql import actions
from coevolve.envs.intercode_sql.reward import intercode_reward
from coevolve.envs.intercode_sql.server import DbUrl
from coevolve.envs.intercode_sql.session import SqlOutput, SqlSession
from coevolve.envs.intercode_sql.tasks import SPLITS, load_tasks
from coevolve.envs.prompts import PromptTemplate
from coevolve.envs.registry import register_env


@dataclass
class IntercodeSqlConfig:
    """Settings of the InterCodeSQL environment."""

    # mysql://user:password@host:port; None: COEVOLVE_DB_URL, else the project's server (`coevolve db start`).
    db_url: str | None = None
    # Seconds before the server cuts a statement off (MariaDB max_statement_time); 0 = no limit.
    statement_timeout: float = 10.0
    # How a statement without a result set is shown: "ipr" (IPR's parse-failure text) or "no_output".
    no_result: str = "ipr"
    num_examples: int = 1  # IPR uses the first of its three in-context examples
    max_steps: int = 10

    def __post_init__(self) -> None:
        if self.no_result not in actions.NO_RESULT_MODES:
            raise ValueError(f"no_result must be one of {actions.NO_RESULT_MODES}, got {self.no_result!r}")
        if self.statement_timeout < 0:
            raise ValueError(f"statement_timeout must be >= 0, got {self.statement_timeout}")


@register_env("intercode_sql")
class IntercodeSqlEnv(Env):
    splits = SPLITS
    invalid_format_observation = f"Observation: {actions.PARSE_FAILURE}"

    def __init__(
        self, data_dir: str | Path | None = None, config: IntercodeSqlConfig | None = None, **overrides: Any
    ) -> None:
        super().__init__(str(data_dir) if data_dir else None)
        self.config = config or IntercodeSqlConfig(**overrides)
        url = DbUrl.default(self.config.db_url)
        self.agent = SqlSession(url, self.config.statement_timeout, read_only=True)
        self.gold = SqlSession(url, self.config.statement_timeout, read_only=True)
        self.last_output: SqlOutput = None
        self._tasks: dict[str, list[Task]] = {}

    # ------------------------------------------------------------ Env API

    def tasks(self, split: str) -> list[Task]:
        if split not in self._tasks:
            self._tasks[split] = load_tasks(self.check_split(split), self.data_dir)
        return self._tasks[split]

    def prompt(self) -> PromptTemplate:
        return PromptTemplate.load(
            "ipr/prompts/intercode_sql_inst.txt",
            "ipr/prompts/intercode_sql_icl.json",
            num_examples=self.config.num_examples,
            data_dir=self.data_dir,
        )

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
        return StepResult(observation, 0.0, False, info={"error": isinstance(self.last_output, str)})

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
