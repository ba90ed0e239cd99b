"""IPR's InterCodeSQL wrapper rules: turning model text into an action and an SQL result into the
observation the agent reads (`eval_agent/envs/intercode_sql_env.py`, reimplemented from its behaviour).
"""

from __future__ import annotations

import re
from typing import Any

# IPR: the text after the first "Action:" (one optional whitespace), dot matches newline.
ACTION_RE = re.compile(r"Action:\s?(.*)", re.DOTALL)
SQL_BLOCK_RE = re.compile(r"```sql(.*?)```", re.DOTALL)
SUBMIT = "submit"
MAX_OBSERVATION_CHARS = 350
NO_OUTPUT = "[Executed Successfully with No Output]"
PARSE_FAILURE = (
    "I don't understand your input.\n"
    ' Your input shoud include the key world "Action:".\n'
    " If you want to perform a query operation, please use the following format:\n"
    " Action: \n```sql\nthe mysql code\n```. And the action should be executable and should not contain "
    "natural language.\n"
    " If you have got the final answer, please use the following format:\n"
    ' Action: submit. Remember your output should contain only one "Action:" part.'
)
# How a statement without a result set (USE, SET, DDL: InterCode's None) is shown. "ipr": IPR's wrapper
# crashes on None and answers with the parse-failure text (a bug, kept by default for comparable
# numbers); "no_output": the "[Executed Successfully with No Output]" message IPR meant to show.
NO_RESULT_MODES = ("ipr", "no_output")


def parse_action(output: str) -> str | None:
    """`submit`, the first line of the first ```sql block, or None (IPR's parse failure)."""
    match = ACTION_RE.search(output.strip())
    if match is None:
        return None
    action = match.group(1)
    if SUBMIT in action:  # anywhere, as IPR: "SELECT submitted ..." also submits
        return SUBMIT
    block = SQL_BLOCK_RE.search(action)
    if block is None:
        return None
    first_line = block.group(1).strip().split("\n")[0]
    return first_line or None


def format_sql_action(thought: str, action: str) -> str:
    """An assistant turn in IPR's format (its in-context example writes `Action: submit.`)."""
    if action == SUBMIT:
        return f"Thought: {thought}\nAction: submit."
    return f"Thought: {thought}\nAction: \n```sql\n{action}\n```"


def format_observation(output: Any, no_result: str = "ipr") -> str:
    """The user turn after a query: rows as str(list of tuples), errors, truncated to 350 chars."""
    if output is None:
        text = PARSE_FAILURE if no_result == "ipr" else NO_OUTPUT
        return f"Observation: {text}"
    if isinstance(output, str):
        # IPR appends a newline to error texts, except those that contain "Unknown".
        text = f"{output}\n" if "Error" in output and "Unknown" not in output else output
        text = text or NO_OUTPUT
    else:
        text = str(output)
    return f"Observation: {truncate(text)}"


def truncate(text: str) -> str:
    """IPR's cut: 350 characters, then `...`."""
    return text[:MAX_OBSERVATION_CHARS] + "..." if len(text) > MAX_OBSERVATION_CHARS else text


def format_submit_observation(last_output: Any) -> str:
    """The last raw result on submit (`None` when no query ran), cut as every other observation (IPR
    prints it whole; it ends the episode, so the model never reads it)."""
    return f"Observation: {truncate(str(last_output))}"
