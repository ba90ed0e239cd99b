from pair_fixtures import make_expert, make_traj

from coevolve.pairs import HARD_NEGATIVE_MIN, is_hard_negative, pair_stats, target_pairs


def test_hard_negative_threshold():
    assert HARD_NEGATIVE_MIN == 0.6
    assert is_hard_negative(0.6) and is_hard_negative(0.99)
    assert not is_hard_negative(0.59) and not is_hard_negative(1.0)


def test_pair_stats_counts_gaps_and_hard_negative_share():
    experts = {"1": make_expert("1", 0.9), "2": make_expert("2")}
    tgt = [make_traj("1", 0.95), make_traj("2", 0.7)]
    fail = [make_traj("1", 0.3, agent="failure"), make_traj("2", 0.6, agent="failure")]
    pairs = target_pairs(experts, tgt, fail)
    stats = pair_stats(pairs)
    assert stats["pairs"] == 4 and stats["tasks"] == 2
    assert stats["by_kind"] == {"expert_vs_target": 2, "expert_vs_failure_agent": 2}
    # gaps: reversed 0.95-0.9, 0.9-0.3, 1-0.7, 1-0.6
    gaps = sorted([0.05, 0.6, 0.3, 0.4])
    assert abs(stats["reward_gap"]["mean"] - sum(gaps) / 4) < 1e-9
    assert abs(stats["reward_gap"]["median"] - (gaps[1] + gaps[2]) / 2) < 1e-9
    # rejected rewards 0.9 (reversed expert), 0.3, 0.7, 0.6 -> 3 hard negatives
    assert stats["hard_negative_share"] == 0.75
    assert stats["reversed"] == 1 and stats["sft_pairs"] == 3
    assert stats["per_kind"]["expert_vs_failure_agent"]["hard_negative_share"] == 0.5


def test_pair_stats_of_empty_set():
    stats = pair_stats([])
    assert (
        stats["pairs"] == 0 and stats["hard_negative_share"] is None and stats["reward_gap"]["mean"] is None
    )
