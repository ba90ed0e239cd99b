import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pairs"))
from pair_fixtures import make_traj  # noqa: E402

from coevolve.evaluation.analysis import (  # noqa: E402
    action_verb,
    agent_stats,
    analyze_rollouts,
    edit_distance,
    failure_diversity,
    failure_histogram,
    normalised_edit_distance,
)


def test_edit_distance_on_action_sequences():
    assert edit_distance(["a", "b", "c"], ["a", "c"]) == 1
    assert edit_distance([], ["x", "y"]) == 2
    assert edit_distance(["a", "b"], ["b", "a"]) == 2
    assert normalised_edit_distance(["a", "b", "c", "d"], ["a", "b", "x", "d"]) == 0.25
    assert normalised_edit_distance([], []) == 0.0


def test_failure_histogram_bins_and_clips():
    assert failure_histogram([0.0, 0.05, 0.1, 0.65, 0.99, -0.5], bins=10) == [3, 1, 0, 0, 0, 0, 1, 0, 0, 1]


def test_composition_success_failure_and_hard_negatives():
    trajs = [
        make_traj("1", 1.0),
        make_traj("2", 1.0),
        make_traj("3", 0.75),  # hard negative
        make_traj("4", 0.6),  # hard negative (boundary)
        make_traj("5", 0.59),  # ordinary failure
        make_traj("6", 0.0, end_reason="error"),  # unscored: excluded from shares
    ]
    stats = agent_stats(1, "webshop", "failure", trajs)
    assert stats.episodes == 6 and stats.scored == 5
    assert stats.composition() == pytest.approx({"success": 40.0, "failure": 20.0, "hard_negative": 40.0})
    assert sorted(stats.failure_rewards) == [0.59, 0.6, 0.75]
    assert sum(stats.histogram) == 3


def test_diversity_within_task_uses_same_task_pairs():
    same = ["search[a]", "click[b]", "click[buy now]"]
    failures = [
        make_traj("1", 0.5, sample=0, actions=same),
        make_traj("1", 0.4, sample=1, actions=same),
        make_traj("1", 0.3, sample=2, actions=["search[a]", "click[c]", "click[buy now]"]),
        make_traj("2", 0.1, actions=["totally", "different"]),
    ]
    d = failure_diversity(failures)
    assert d.edit_mode == "within_task" and d.pairs == 3
    assert d.distinct_share == 0.75
    assert d.edit_distance == pytest.approx((0 + 1 / 3 + 1 / 3) / 3)


def test_diversity_across_tasks_compares_verbs():
    failures = [
        make_traj("1", 0.5, actions=["search[red shoes]", "click[item 1]"]),
        make_traj("2", 0.5, actions=["search[blue hat]", "click[item 9]"]),
        make_traj("3", 0.5, actions=["search[x]", "search[y]"]),
    ]
    d = failure_diversity(failures)
    assert d.edit_mode == "across_tasks" and d.pairs == 3
    assert d.distinct_share == 1.0
    assert d.edit_distance == pytest.approx((0 + 0.5 + 0.5) / 3)
    assert action_verb("SELECT name FROM t") == "select" and action_verb("look around") == "look"


def test_collapsed_failures_have_low_diversity():
    collapsed = [make_traj(str(i), 0.2, actions=["search[x]", "click[y]"]) for i in range(50)]
    d = failure_diversity(collapsed, max_pairs=100)
    assert d.distinct_share == 1 / 50 and d.edit_distance == 0.0 and d.pairs == 100
    assert failure_diversity(collapsed[:1]).edit_distance is None


def test_analyze_rollouts_sorted_per_iteration_env_agent():
    rollouts = {
        (2, "webshop", "target"): [make_traj("1", 1.0)],
        (1, "webshop", "target"): [make_traj("1", 0.2)],
        (1, "webshop", "failure"): [make_traj("1", 0.7, agent="failure")],
    }
    stats = analyze_rollouts(rollouts)
    assert [(s.iteration, s.agent) for s in stats] == [(1, "failure"), (1, "target"), (2, "target")]
    assert [s.success_rate for s in stats] == [0.0, 0.0, 1.0]
    assert stats[0].hard_negative_share == 1.0
