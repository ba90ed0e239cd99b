"""IPR's action parsing and observation formatting."""

import pytest

from coevolve.envs.intercode_sql.actions import (
    NO_OUTPUT,
    PARSE_FAILURE,
    format_observation,
    format_sql_action,
    format_submit_observation,
    parse_action,
)


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("Thought: t\nAction: \n```sql\nSELECT 1\n```", "SELECT 1"),
        ("Thought: t\nAction:```sql SELECT 1 ```", "SELECT 1"),
        ("Thought: t\nAction: \n```sql\nSELECT a\nFROM b\n```", "SELECT a"),  # first line only
        ("Thought: t\nAction: submit.", "submit"),
        ("Thought: t\nAction: \n```sql\nSELECT submitted FROM t\n```", "submit"),  # IPR: anywhere
        ("Thought: I will submit\nAction: \n```sql\nSELECT 1\n```", "SELECT 1"),  # thought ignored
        ("Thought: no action here", None),
        ("Thought: t\nAction: SELECT 1", None),  # no sql block
        ("Thought: t\nAction: \n```sql\n\n```", None),  # empty block
    ],
)
def test_parse_action(text, action):
    assert parse_action(text) == action


@pytest.mark.parametrize("action", ["SELECT count(*) FROM singer", "submit"])
def test_format_round_trips(action):
    assert parse_action(format_sql_action("Some thought.", action)) == action


def test_rows_render_as_python_list_of_tuples():
    assert format_observation([("city",), ("country",)]) == "Observation: [('city',), ('country',)]"
    assert format_observation([]) == "Observation: []"


def test_long_output_is_cut_at_350_chars():
    rows = [(i, "x" * 20) for i in range(100)]
    text = format_observation(rows)
    assert text == "Observation: " + str(rows)[:350] + "..."


def test_errors_get_a_newline_unless_unknown():
    syntax = "Error executing query: You have an error in your SQL syntax"
    assert format_observation(syntax) == f"Observation: {syntax}\n"
    unknown = "Error executing query: Unknown column 'x' in 'SELECT'"
    assert format_observation(unknown) == f"Observation: {unknown}"


def test_no_result_set_modes():
    assert format_observation(None) == f"Observation: {PARSE_FAILURE}"  # IPR's behaviour (a bug)
    assert format_observation(None, "no_output") == f"Observation: {NO_OUTPUT}"


def test_submit_shows_last_raw_result_truncated_like_any_observation():
    rows = [(i, "y" * 30) for i in range(50)]
    assert format_submit_observation(rows) == format_observation(rows)
    assert format_submit_observation(rows) == f"Observation: {str(rows)[:350]}..."
    assert format_submit_observation(rows[:2]) == f"Observation: {rows[:2]}"
    assert format_submit_observation(None) == "Observation: None"
