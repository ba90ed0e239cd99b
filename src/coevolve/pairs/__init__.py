"""Preference-pair construction: ETO, failure-agent, target and positive-agent pair sets, and their stats."""

from coevolve.pairs.build import (
    eto_pairs,
    experts_by_id,
    failure_pairs,
    has_reward,
    is_failure,
    is_success,
    positive_pairs,
    prompt_check,
    target_pairs,
)
from coevolve.pairs.settings import PairConfig, PairSettings
from coevolve.pairs.stats import HARD_NEGATIVE_MIN, is_hard_negative, pair_stats

__all__ = [
    "HARD_NEGATIVE_MIN",
    "PairConfig",
    "PairSettings",
    "eto_pairs",
    "experts_by_id",
    "failure_pairs",
    "has_reward",
    "is_failure",
    "is_hard_negative",
    "is_success",
    "pair_stats",
    "positive_pairs",
    "prompt_check",
    "target_pairs",
]
