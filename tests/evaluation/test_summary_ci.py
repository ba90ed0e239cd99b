"""Confidence intervals of evaluation summaries (bootstrap for rewards, Wilson for success rates)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pairs"))
from pair_fixtures import make_traj  # noqa: E402

from coevolve.evaluation.summary import mean_ci, paired_diff_ci, summarize, wilson_ci  # noqa: E402


def test_mean_ci_brackets_the_mean_and_shrinks_with_more_episodes():
    small = [0.0, 1.0] * 5
    large = [0.0, 1.0] * 50
    lo, hi = mean_ci(small)
    lo2, hi2 = mean_ci(large)
    assert lo < 0.5 < hi and lo2 < 0.5 < hi2
    assert hi2 - lo2 < hi - lo
    assert mean_ci([0.7] * 30) == pytest.approx((0.7, 0.7))
    assert mean_ci(small) == mean_ci(small)  # seeded
    with pytest.raises(ValueError):
        mean_ci([])


def test_wilson_interval_known_values_and_edges():
    lo, hi = wilson_ci(15, 30)
    assert lo == pytest.approx(0.3315, abs=1e-3) and hi == pytest.approx(0.6685, abs=1e-3)
    assert wilson_ci(0, 30)[0] == 0.0 and wilson_ci(0, 30)[1] == pytest.approx(0.1135, abs=1e-3)
    assert wilson_ci(30, 30)[1] == 1.0 and wilson_ci(30, 30)[0] < 1.0
    with pytest.raises(ValueError):
        wilson_ci(3, 2)


def test_paired_difference_uses_common_episodes_only():
    mean, lo, hi, n = paired_diff_ci({"a": 1.0, "b": 0.5, "c": 0.0}, {"a": 0.5, "b": 0.5, "z": 1.0})
    assert n == 2 and mean == pytest.approx(0.25) and lo <= mean <= hi
    with pytest.raises(ValueError):
        paired_diff_ci({"a": 1.0}, {"b": 1.0})


def test_summary_reports_both_intervals():
    trajs = [make_traj(str(i), r) for i, r in enumerate([1.0, 1.0, 0.5, 0.0])]
    s = summarize(trajs, "webshop", "test", "official", "m", "target")
    assert s["avg_reward"] == pytest.approx(62.5) and s["success_rate"] == 0.5
    lo, hi = s["avg_reward_ci"]
    assert 0.0 <= lo < 62.5 < hi <= 100.0
    assert s["success_ci"] == pytest.approx(list(wilson_ci(2, 4)))
