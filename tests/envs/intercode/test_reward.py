"""InterCode's reward rules on hand-built row lists (values worked out from intercode-bench 0.1.22's code)."""

from decimal import Decimal

import pytest

from coevolve.envs.intercode_sql.reward import intercode_reward

ROWS = [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]


def test_exact_answer_scores_one():
    assert intercode_reward(list(ROWS), list(ROWS)) == 1.0


def test_reversed_order_scores_minus_one():
    # tau between the shared rows' string values: a sorted list against its reverse is -1
    assert intercode_reward(ROWS[::-1], ROWS) == -1.0


def test_order_factor_is_rounded_product():
    agent = [ROWS[1], ROWS[0], ROWS[2], ROWS[3], ROWS[4]]  # one swapped pair out of 10 pairs: tau 0.8
    assert intercode_reward(agent, ROWS) == 0.8


def test_duplicates_count_as_a_multiset():
    # intersection {a:1, b:1} = 2, union {a:2, b:1} = 3; shared rows in the same order: tau 1
    assert intercode_reward([("a",), ("a",), ("b",)], [("a",), ("b",)]) == 0.67


def test_single_shared_row_keeps_unrounded_iou():
    assert intercode_reward([("x",)], [("x",), ("y",), ("z",)]) == pytest.approx(1 / 3, abs=1e-12)
    assert intercode_reward([("x",)], [("x",), ("y",), ("z",)]) != 0.33


def test_both_empty_scores_integer_one():
    reward = intercode_reward([], [])
    assert reward == 1 and isinstance(reward, int)


def test_empty_answer_against_rows_scores_zero():
    assert intercode_reward([], ROWS) == 0.0
    assert intercode_reward(ROWS, []) == 0.0


@pytest.mark.parametrize("agent", [None, "Error executing query: Unknown column 'x' in 'SELECT'", ()])
def test_non_list_answer_scores_zero(agent):
    assert intercode_reward(agent, []) == 0.0


def test_rows_compare_as_strings():
    # Decimal('1') and 1 print differently, so they are different rows
    assert intercode_reward([(Decimal("1"),)], [(1,)]) == 0.0
    assert intercode_reward([(Decimal("1"),)], [(Decimal("1"),)]) == 1.0
