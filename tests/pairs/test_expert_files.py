"""ETO/IPR-format expert files (tests/fixtures/expert_files) through the pair rules.

The fixtures follow ETO's and IPR's SFT schema exactly; the rollouts here are hand-built as each env's
wrapper writes them (ScienceWorld keeps its `Task Description:` header, WebShop runs written before the
ETO-wrapper fix prefixed the first page with `Observation:`).
"""

from __future__ import annotations

import json
from pathlib import Path

from pair_fixtures import make_traj

from coevolve.data.formats import filter_by_reward, load_eto_sft
from coevolve.pairs import eto_pairs, experts_by_id, pair_stats, prompt_check, target_pairs

FIXTURES = Path(__file__).parents[1] / "fixtures" / "expert_files"


def _experts(env: str):
    return experts_by_id(load_eto_sft(FIXTURES / f"{env}_sft.json", env))


def _rollout_from(expert, first: str, reward: float = 0.0, turns: int = 12, agent: str = "target"):
    traj = make_traj(expert.task.id, reward, turns=turns, env=expert.task.env, agent=agent, first=first)
    traj.instruction = "the evaluation prompt's own copy of the instruction"
    return traj


def test_fixtures_follow_etos_schema():
    for name in ("webshop", "sciworld", "intercode_sql"):
        records = json.loads((FIXTURES / f"{name}_sft.json").read_text())
        for record in records:
            turns = record["conversations"]
            assert [t["from"] for t in turns[:3]] == ["human", "gpt", "human"] and turns[1]["value"] == "OK"
            assert turns[-1]["from"] == "gpt" and set(record) <= {"id", "conversations", "reward"}
    webshop = load_eto_sft(FIXTURES / "webshop_sft.json", "webshop")
    assert [t.task.id for t in filter_by_reward(webshop, 0.7)] == ["200", "201"]
    assert {t.reward for t in load_eto_sft(FIXTURES / "sciworld_sft.json", "sciworld")} == {1.0}


def test_sciworld_eto_file_prompt_has_no_header_and_rollout_header_is_not_a_mismatch():
    experts = _experts("sciworld")
    expert = experts["11_0"]
    task_turn = expert.messages[0].content
    rollout = _rollout_from(expert, "Task Description:\n" + task_turn)
    (pair,) = eto_pairs(experts, [rollout])
    assert [m.content for m in pair.prompt] == [expert.instruction, "OK", task_turn]
    assert "prompt_mismatch" not in pair.meta and pair.chosen == expert.messages[1:]
    # ETO's cut, pred[: len(golden) + 10][1:]: the expert's messages + 10, ending on a model turn
    assert len(pair.rejected) == len(pair.chosen) + 10 and pair.rejected[-1].role == "assistant"
    assert prompt_check(experts, [rollout])["mismatched"] == 0


def test_ipr_intercode_file_pairs_with_rollouts_of_the_same_question():
    experts = _experts("intercode_sql")
    rollouts = [_rollout_from(e, e.messages[0].content, turns=3) for e in experts.values()]
    rollouts.append(_rollout_from(experts["201"], "a question the expert was not about", agent="failure"))
    pairs = target_pairs(experts, rollouts[:2], rollouts[2:])
    assert len(pairs) == 3 and all(
        p.prompt[2].content == experts[p.meta["task_id"]].messages[0].content for p in pairs
    )
    assert pair_stats(pairs)["prompt_mismatch"] == {"text": 1}
    assert all(p.chosen[-1].content.endswith("Action: submit") for p in pairs)


def test_webshop_eto_file_pairs_every_failed_task_and_names_the_price_cap():
    experts = _experts("webshop")
    ours = {  # our env's first pages (seeded caps); 201's differs from the file's cap
        "200": experts["200"].messages[0].content,
        "201": experts["201"].messages[0].content.replace("70.00", "60.00"),
    }
    rollouts = [_rollout_from(experts[i], text) for i, text in ours.items()]
    rollouts.append(_rollout_from(experts["200"], "Observation:\n" + ours["200"], agent="failure"))
    pairs = target_pairs(experts, rollouts[:2], rollouts[2:])
    assert sorted(p.meta["task_id"] for p in pairs) == ["200", "200", "201"]
    assert {p.meta["task_id"]: p.meta.get("prompt_mismatch") for p in pairs} == {
        "200": None,
        "201": "price_cap",
    }
    assert all(p.prompt[2].content == experts[p.meta["task_id"]].messages[0].content for p in pairs)
    check = prompt_check(experts, rollouts)
    assert (
        check["checked"] == 3
        and check["by_reason"] == {"price_cap": 1}
        and check["tasks"] == {"price_cap": ["201"]}
    )
