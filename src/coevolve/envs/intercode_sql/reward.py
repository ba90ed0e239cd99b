"""InterCode's SQL reward, reproduced exactly as intercode-bench 0.1.22 computes it (`SqlEnv.get_reward`).

reward = multiset IoU of the stringified rows of the agent's last result and the gold result, scaled by
scipy's Kendall tau between the two lists of *shared* rows (each in its own order), rounded to 2 decimals.
Documented quirks kept on purpose, because published numbers include them:
- tau correlates the shared rows' string values position by position, so a reordered answer can score
  below 0 (down to -1);
- when tau is NaN (fewer than two shared rows, or constant lists) the IoU is returned unrounded;
- both results empty scores the integer 1 (a failing gold counts as an empty result);
- anything but a list as the agent's answer (an error text, None after a statement without a result
  set, or no query at all) scores 0.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from typing import Any


def _shared_in_order(rows: list[str], shared: Counter[str]) -> list[str]:
    """The rows of `rows` that belong to the multiset intersection, in `rows`' order."""
    left = shared.copy()
    kept = []
    for row in rows:
        if left[row] > 0:
            left[row] -= 1
            kept.append(row)
    return kept


def intercode_reward(agent: Any, gold: Any) -> float:
    """Reward of an agent answer (list of row tuples, or anything else) against the gold rows."""
    if not isinstance(agent, list) or not isinstance(gold, list):
        return 0.0
    agent_rows = [str(row) for row in agent]
    gold_rows = [str(row) for row in gold]
    agent_count, gold_count = Counter(agent_rows), Counter(gold_rows)
    shared = agent_count & gold_count
    union = agent_count | gold_count  # per row: the larger count, as InterCode's groupby-max
    if not union:
        return 1  # both empty: InterCode returns the int 1
    reward = sum(shared.values()) / sum(union.values())
    if shared:
        from scipy.stats import kendalltau  # imported here: scipy.stats costs ~1.5 s to import

        with warnings.catch_warnings():  # scipy warns on < 2 samples and returns NaN, which we keep
            warnings.simplefilter("ignore")
            tau = kendalltau(
                _shared_in_order(agent_rows, shared), _shared_in_order(gold_rows, shared), nan_policy="omit"
            ).statistic
        if not math.isnan(tau):
            reward = round(float(tau) * reward, 2)
    return reward
