import math

import pytest
from pair_fixtures import make_expert, make_traj

from coevolve.data.records import pair_from_dict, to_dict
from coevolve.pairs import (
    PairSettings,
    eto_pairs,
    experts_by_id,
    failure_pairs,
    pair_stats,
    positive_pairs,
    prompt_check,
    target_pairs,
)


def _valid(pairs):
    for pair in pairs:
        pair_from_dict(to_dict(pair))  # both sides end on assistant, prompt ends on user
    return pairs


# ------------------------------------------------------------------ shape


def test_prompt_is_instruction_ok_task_and_sides_end_on_assistant():
    experts = {"1": make_expert("1")}
    rollout = make_traj("1", 0.4, turns=3)
    [pair] = _valid(eto_pairs(experts, [rollout]))
    assert [m.role for m in pair.prompt] == ["user", "assistant", "user"]
    assert pair.prompt[0].content == rollout.instruction
    assert pair.prompt[1].content == "OK"
    assert pair.prompt[2].content == "Task 1"
    assert pair.chosen == experts["1"].messages[1:]
    # the final observation of the rollout is dropped, nothing else
    assert pair.rejected == rollout.messages[1:-1]
    assert pair.meta["task_id"] == "1" and pair.env == "webshop"


def test_settings_reject_bad_values():
    with pytest.raises(ValueError, match="truncation"):
        PairSettings(truncation="trim")
    with pytest.raises(ValueError, match="sub_success_expert"):
        PairSettings(sub_success_expert="flip")


# ------------------------------------------------------------------ ETO


def test_eto_worse_rollout_gives_expert_chosen_with_sft_weight_one():
    [pair] = eto_pairs({"1": make_expert("1", 0.9)}, [make_traj("1", 0.5)])
    assert pair.kind == "eto"
    assert (pair.chosen_reward, pair.rejected_reward, pair.sft_weight) == (0.9, 0.5, 1.0)
    assert pair.meta["chosen_agent"] == "expert" and not pair.meta["reversed"]


def test_eto_better_rollout_is_reversed_with_sft_weight_zero():
    rollout = make_traj("1", 0.95)
    [pair] = _valid(eto_pairs({"1": make_expert("1", 0.8)}, [rollout]))
    assert pair.meta["reversed"] and pair.meta["chosen_agent"] == "target"
    assert (pair.chosen_reward, pair.rejected_reward, pair.sft_weight) == (0.95, 0.8, 0.0)
    assert pair.chosen == rollout.messages[1:-1]
    assert eto_pairs({"1": make_expert("1", 0.8)}, [rollout], PairSettings(reverse_when_better=False)) == []


def test_eto_skips_ties_unscored_and_missing_experts():
    experts = {"1": make_expert("1", 0.8), "2": make_expert("2"), "3": make_expert("3")}
    explored = [
        make_traj("1", 0.8),  # tie
        make_traj("2", 0.0, end_reason="error"),  # env crashed: no reward
        make_traj("3", math.nan),
        make_traj("4", 0.1),  # no expert
    ]
    assert eto_pairs(experts, explored) == []


def test_eto_one_pair_per_task_from_lowest_sample():
    explored = [make_traj("1", 0.2, sample=1), make_traj("1", 0.6, sample=0), make_traj("1", 0.1, sample=2)]
    [pair] = eto_pairs({"1": make_expert("1")}, explored)
    assert pair.rejected_reward == 0.6 and pair.meta["rejected_sample"] == 0


def test_eto_sciworld_expert_counts_as_one():
    expert = make_expert("0_1", 0.5, env="sciworld")
    [pair] = eto_pairs({"0_1": expert}, [make_traj("0_1", 0.7, env="sciworld")])
    assert pair.chosen_reward == 1.0 and pair.meta["chosen_agent"] == "expert"
    settings = PairSettings(expert_reward_one_envs=())
    [pair] = eto_pairs({"0_1": expert}, [make_traj("0_1", 0.7, env="sciworld")], settings)
    assert pair.meta["reversed"]


@pytest.mark.parametrize("extra", [10, 3, 0])
def test_cut_keeps_at_most_expert_plus_extra_and_ends_on_assistant(extra):
    expert = make_expert("1", turns=2)  # chosen side: 3 messages
    long = make_traj("1", 0.0, turns=12)  # rejected side: 23 messages
    [pair] = _valid(eto_pairs({"1": expert}, [long], PairSettings(max_extra_messages=extra)))
    assert len(pair.rejected) <= 3 + extra
    assert len(pair.rejected) >= 3 + extra - 1
    assert pair.rejected[-1].role == "assistant"
    assert pair.rejected == long.messages[1 : 1 + len(pair.rejected)]
    assert pair.meta["truncated"]


def test_drop_and_keep_truncation():
    expert, long = make_expert("1", turns=2), make_traj("1", 0.0, turns=12)
    assert eto_pairs({"1": expert}, [long], PairSettings(truncation="drop")) == []
    [kept] = eto_pairs({"1": expert}, [long], PairSettings(truncation="keep"))
    assert len(kept.rejected) == 23 and not kept.meta["truncated"]
    # short enough: every mode keeps the whole reject
    short = make_traj("1", 0.0, turns=7)  # 13 messages = 3 + 10
    for mode in ("cut", "drop", "keep"):
        [pair] = eto_pairs({"1": expert}, [short], PairSettings(truncation=mode))
        assert len(pair.rejected) == 13


def test_reversed_pairs_are_never_cut():
    expert = make_expert("1", 0.5, turns=1)
    better = make_traj("1", 0.7, turns=12)
    [pair] = eto_pairs({"1": expert}, [better])
    assert pair.meta["reversed"] and len(pair.chosen) == 23


def test_rollout_without_assistant_turn_gives_no_pair():
    empty = make_traj("1", 0.0, turns=0)
    assert eto_pairs({"1": make_expert("1")}, [empty]) == []


def test_envs_never_mix_and_a_remaining_prompt_mismatch_is_kept_counted_or_refused():
    with pytest.raises(ValueError, match="env"):
        eto_pairs({"1": make_expert("1", env="sciworld")}, [make_traj("1", 0.0)])
    expert, other = make_expert("1"), make_traj("1", 0.0, first="a different task text")
    (pair,) = eto_pairs({"1": expert}, [other])  # default "keep": ETO never checks
    assert pair.prompt[2].content == "Task 1" and pair.meta["prompt_mismatch"] == "text"
    assert pair_stats([pair])["prompt_mismatch"] == {"text": 1}
    with pytest.raises(ValueError, match="first task turn"):
        eto_pairs({"1": expert}, [other], PairSettings(prompt_mismatch="error"))
    assert eto_pairs({"1": expert}, [other], PairSettings(prompt_mismatch="skip")) == []
    check = prompt_check({"1": expert}, [other, make_traj("2", 0.0)])
    assert check == {"checked": 1, "mismatched": 1, "by_reason": {"text": 1}, "tasks": {"text": ["1"]}}


def test_prompt_is_the_experts_own_task_turn_and_instruction():
    expert = make_expert("0_1", env="sciworld")
    rollout = make_traj("0_1", 0.0, env="sciworld", first="Task Description:\nTask 0_1")
    rollout.instruction = "another copy of the instruction"
    (pair,) = eto_pairs({"0_1": expert}, [rollout])
    assert pair.prompt[0].content == expert.instruction
    assert pair.prompt[2].content == "Task 0_1" and "prompt_mismatch" not in pair.meta


def test_sciworld_header_kept_when_the_expert_has_it():
    """Gold-path experts keep the header: the prompt must keep it too (decided by the expert data)."""
    expert = make_expert("0_1", env="sciworld")
    expert.messages[0].content = "Task Description:\nTask 0_1"
    rollout = make_traj("0_1", 0.0, env="sciworld", first="Task Description:\nTask 0_1")
    (pair,) = eto_pairs({"0_1": expert}, [rollout])
    assert pair.prompt[2].content == "Task Description:\nTask 0_1"
    (fail,) = failure_pairs(
        [rollout], [make_traj("0_1", 0.5, env="sciworld", agent="failure", first=rollout.messages[0].content)]
    )
    assert fail.prompt[2].content == "Task Description:\nTask 0_1"


def test_webshop_prefix_ignored_and_price_cap_difference_named():
    page = (
        "WebShop [SEP] Instruction: [SEP] i need red socks, and price lower than 40.00 dollars [SEP] Search"
    )
    expert = make_expert("7")
    expert.messages[0].content = page
    old_style = make_traj("7", 0.0, first="Observation:\n" + page)
    (pair,) = eto_pairs({"7": expert}, [old_style])
    assert pair.prompt[2].content == page and "prompt_mismatch" not in pair.meta
    other_cap = make_traj("7", 0.0, first=page.replace("40.00", "50.00"))
    (pair,) = eto_pairs({"7": expert}, [other_cap])
    assert pair.prompt[2].content == page and pair.meta["prompt_mismatch"] == "price_cap"


# ------------------------------------------------------------------ failure agent


def test_failure_pairs_higher_reward_chosen_from_either_agent():
    tgt = [make_traj("1", 0.7, agent="target"), make_traj("2", 0.2, agent="target")]
    fail = [make_traj("1", 0.3, agent="failure"), make_traj("2", 0.8, agent="failure")]
    pairs = _valid(failure_pairs(tgt, fail))
    assert [(p.meta["chosen_agent"], p.chosen_reward, p.rejected_reward) for p in pairs] == [
        ("target", 0.7, 0.3),
        ("failure", 0.8, 0.2),
    ]
    assert all(p.kind == "failure_failure" and p.sft_weight == 0.0 for p in pairs)


def test_failure_pairs_need_failures_from_both_agents_and_drop_ties():
    tgt = [make_traj("1", 0.5), make_traj("2", 1.0), make_traj("3", 0.4), make_traj("4", 0.3)]
    fail = [
        make_traj("1", 0.5, agent="failure"),
        make_traj("2", 0.3, agent="failure"),
        make_traj("3", 1.0, agent="failure"),
    ]
    # 1: tie; 2: target succeeded; 3: failure agent succeeded; 4: failure agent has no rollout
    assert failure_pairs(tgt, fail) == []


def test_failure_pairs_multi_sample_all_vs_best_worst():
    tgt = [make_traj("1", 0.2, sample=0), make_traj("1", 0.6, sample=1)]
    fail = [make_traj("1", 0.6, agent="failure", sample=0), make_traj("1", 0.9, agent="failure", sample=1)]
    all_pairs = failure_pairs(tgt, fail)
    assert len(all_pairs) == 3  # 4 combinations minus the 0.6/0.6 tie
    assert len({p.id for p in all_pairs}) == 3
    [best] = failure_pairs(tgt, fail, PairSettings(multi_sample="best_worst"))
    assert (best.chosen_reward, best.rejected_reward) == (0.9, 0.2)


def test_failure_pairs_do_not_cut():
    tgt = [make_traj("1", 0.1, turns=1)]
    fail = [make_traj("1", 0.5, agent="failure", turns=12)]
    [pair] = failure_pairs(tgt, fail, PairSettings(truncation="drop"))
    assert len(pair.chosen) == 23


# ------------------------------------------------------------------ target agent


def _round():
    experts = {"1": make_expert("1"), "2": make_expert("2")}
    tgt = [make_traj("1", 0.3), make_traj("2", 1.0)]
    fail = [make_traj("1", 0.7, agent="failure"), make_traj("2", 0.1, agent="failure")]
    return experts, tgt, fail


def test_target_pairs_expert_against_every_failure_of_both_agents():
    experts, tgt, fail = _round()
    pairs = _valid(target_pairs(experts, tgt, fail))
    got = sorted((p.kind, p.meta["task_id"], p.rejected_reward) for p in pairs)
    assert got == [
        ("expert_vs_failure_agent", "1", 0.7),
        ("expert_vs_failure_agent", "2", 0.1),
        ("expert_vs_target", "1", 0.3),
    ]
    assert all(p.sft_weight == 1.0 and p.meta["chosen_agent"] == "expert" for p in pairs)


def test_target_pair_kinds_switch_on_and_off():
    experts, tgt, fail = _round()
    only_fail = target_pairs(experts, tgt, fail, PairSettings(expert_vs_target=False))
    assert {p.kind for p in only_fail} == {"expert_vs_failure_agent"}
    only_tgt = target_pairs(experts, tgt, fail, PairSettings(expert_vs_failure_agent=False))
    assert {p.kind for p in only_tgt} == {"expert_vs_target"}
    with_ff = target_pairs(experts, tgt, fail, PairSettings(failure_failure=True))
    [ff] = [p for p in with_ff if p.kind == "failure_failure"]
    assert ff.sft_weight == 0.0 and (ff.chosen_reward, ff.rejected_reward) == (0.7, 0.3)
    assert len(with_ff) == 4


def test_target_pairs_cut_long_failures():
    experts = {"1": make_expert("1", turns=1)}
    long = [make_traj("1", 0.2, turns=12)]
    [pair] = target_pairs(experts, long, [])
    assert len(pair.rejected) <= 11 and pair.meta["truncated"]
    assert target_pairs(experts, long, [], PairSettings(truncation="drop")) == []


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # (chosen agent, chosen reward, rejected reward, sft weight) per pair
        ("reverse", [("target", 0.9, 0.8, 0.0), ("expert", 0.8, 0.5, 1.0)]),
        ("skip", []),
        ("keep", [("expert", 0.8, 0.9, 1.0), ("expert", 0.8, 0.8, 1.0), ("expert", 0.8, 0.5, 1.0)]),
    ],
)
def test_sub_success_webshop_expert(mode, expected):
    experts = {"1": make_expert("1", 0.8)}
    tgt = [make_traj("1", 0.9, sample=0), make_traj("1", 0.8, sample=1), make_traj("1", 0.5, sample=2)]
    pairs = _valid(target_pairs(experts, tgt, [], PairSettings(sub_success_expert=mode)))
    got = [(p.meta["chosen_agent"], p.chosen_reward, p.rejected_reward, p.sft_weight) for p in pairs]
    assert got == expected


def test_failure_agent_successes_as_extra_positives():
    experts, tgt, fail = _round()
    fail.append(make_traj("1", 1.0, agent="failure", sample=1))
    assert not [p for p in target_pairs(experts, tgt, fail) if p.kind == "success_vs_failure"]
    pairs = target_pairs(experts, tgt, fail, PairSettings(failure_agent_successes="positive"))
    [extra] = [p for p in pairs if p.kind == "success_vs_failure"]
    assert extra.meta["chosen_agent"] == "failure" and extra.meta["rejected_agent"] == "target"
    assert (extra.chosen_reward, extra.rejected_reward, extra.sft_weight) == (1.0, 0.3, 0.0)
    pairs = target_pairs(
        experts, tgt, fail, PairSettings(failure_agent_successes="positive", success_sft_weight=1.0)
    )
    assert [p.sft_weight for p in pairs if p.kind == "success_vs_failure"] == [1.0]


# ------------------------------------------------------------------ positive agent


def test_positive_pairs_success_of_either_agent_beats_failures():
    experts = {"1": make_expert("1"), "2": make_expert("2")}
    tgt = [make_traj("1", 1.0), make_traj("2", 0.4)]
    aux = [make_traj("1", 0.6, agent="positive"), make_traj("2", 0.2, agent="positive")]
    pairs = _valid(positive_pairs(experts, tgt, aux))
    succ = [p for p in pairs if p.kind == "success_vs_failure"]
    assert [(p.meta["chosen_agent"], p.meta["rejected_agent"], p.rejected_reward) for p in succ] == [
        ("target", "positive", 0.6)
    ]
    # task 2 was solved by nobody: its failures are paired with the expert
    fallback = sorted(
        (p.kind, p.rejected_reward, p.sft_weight) for p in pairs if p.kind != "success_vs_failure"
    )
    assert fallback == [("expert_vs_failure_agent", 0.2, 1.0), ("expert_vs_target", 0.4, 1.0)]
    only = positive_pairs({}, tgt, aux)
    assert {p.kind for p in only} == {"success_vs_failure"} and len(only) == 1


def test_positive_pairs_multi_sample():
    tgt = [make_traj("1", 1.0, sample=0), make_traj("1", 0.3, sample=1)]
    aux = [make_traj("1", 1.0, agent="positive"), make_traj("1", 0.1, agent="positive", sample=1)]
    assert len(positive_pairs({}, tgt, aux)) == 4
    [pair] = positive_pairs({}, tgt, aux, PairSettings(multi_sample="best_worst"))
    assert pair.rejected_reward == 0.1


def test_experts_by_id_keys_one_env():
    experts = experts_by_id([make_expert("1"), make_expert("2")])
    assert sorted(experts) == ["1", "2"]
    with pytest.raises(ValueError, match="two experts"):
        experts_by_id([make_expert("1"), make_expert("1")])
    with pytest.raises(ValueError, match="mix environments"):
        experts_by_id([make_expert("1"), make_expert("2", env="sciworld")])
