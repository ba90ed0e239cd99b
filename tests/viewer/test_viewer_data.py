"""Pure pieces of the viewer on hand-built records: reward bands, CIs, pair grouping, token pieces."""

from __future__ import annotations

from coevolve.data.records import Message, PreferencePair
from coevolve.evaluation.viewer.data import band, bootstrap_ci, pair_groups
from coevolve.evaluation.viewer.tokens import pieces_of, turn_split


def test_reward_bands_follow_the_paper():
    assert band(1.0, "done") == "success"
    assert band(0.6, "done") == "hard_negative" and band(0.99, "step_cap") == "hard_negative"
    assert band(0.59, "done") == "failure"
    assert band(0.0, "error") == "unscored" and band(float("nan"), "done") == "unscored"


def test_bootstrap_ci_brackets_the_mean_and_is_seeded():
    values = [0.0, 100.0, 50.0, 100.0, 0.0, 25.0]
    lo, hi = bootstrap_ci(values)
    assert lo <= sum(values) / len(values) <= hi and lo < hi
    assert bootstrap_ci(values) == (lo, hi)
    assert bootstrap_ci([3.0]) is None
    assert bootstrap_ci([5.0, 5.0, 5.0]) == (5.0, 5.0)


def _pair(kind: str, chosen: tuple[str, int], rejected: tuple[str, int], task: str = "7") -> PreferencePair:
    prompt = [Message("user", "instr"), Message("assistant", "OK"), Message("user", "task")]
    return PreferencePair(
        id=f"e/{task}/{kind}/{chosen[0]}{chosen[1]}>{rejected[0]}{rejected[1]}", env="e", prompt=prompt,
        chosen=[Message("assistant", "good")], rejected=[Message("assistant", "bad")], kind=kind,
        chosen_reward=1.0, rejected_reward=0.7,
        meta={"task_id": task, "chosen_agent": chosen[0], "chosen_sample": chosen[1],
              "rejected_agent": rejected[0], "rejected_sample": rejected[1]},
    )  # fmt: skip


def test_pair_groups_put_expert_then_failure_agent_then_target():
    pairs = {
        (1, "target"): [_pair("expert_vs_target", ("expert", 0), ("target", 1)),
                        _pair("expert_vs_failure_agent", ("expert", 0), ("failure", 0)),
                        _pair("expert_vs_target", ("expert", 0), ("target", 0), task="8")],
        (1, "aux"): [_pair("failure_failure", ("failure", 1), ("failure", 0))],
    }  # fmt: skip
    groups = pair_groups(pairs)
    assert [(g.iteration, g.task) for g in groups] == [(1, "7"), (1, "8")]
    cols = [(c["agent"], c["sample"]) for c in groups[0].columns]
    assert cols == [("expert", 0), ("failure", 0), ("failure", 1), ("target", 1)]
    by_id = {p["kind"]: p for p in groups[0].pairs}
    assert by_id["failure_failure"]["chosen"] == 2 and by_id["failure_failure"]["rejected"] == 1
    assert by_id["expert_vs_target"]["rejected"] == 3 and by_id["expert_vs_target"]["set"] == "target"


class CharTokenizer:
    """One character per token id (enough to test piece building)."""

    def decode(self, ids):
        return "".join(chr(i) for i in ids)


def test_pieces_keep_scored_tokens_and_merge_masked_runs():
    ids = [ord(c) for c in "ab<obs>cd"]
    flags = [1, 1, 0, 0, 0, 0, 0, 1, 2]
    data = pieces_of(CharTokenizer(), ids, flags)
    assert data["pieces"] == ["a", "b", "<obs>", "c", "d"] and data["mask"] == "11012"
    assert "".join(data["pieces"]) == "ab<obs>cd"


def test_turn_split_scores_assistant_turns_only():
    data = turn_split(
        [("assistant", "Action: go"), ("user", "Observation: ok"), ("assistant", "Action: stop")]
    )
    assert data["mask"] == "101" and data["pieces"][1] == "Observation: ok"
