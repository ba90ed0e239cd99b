"""ETO wrapper behaviour, splits, labels, the oracle expert and goal determinism (generated data)."""

import json
import subprocess
import sys

import pytest

from coevolve.envs.registry import make_env
from coevolve.envs.webshop.goals import NO_CAP, price_cap


@pytest.fixture(scope="module")
def env():
    return make_env("webshop", catalogue="generated", num_products=600)


def test_registry_label_and_splits(env):
    assert env.name == "webshop" and env.data_label == "generated"
    test, train = env.tasks("test"), env.tasks("train")
    assert len(test) == 200 and len(train) == len(env.data.goals) - 200
    assert not {t.id for t in test} & {t.id for t in train}
    task = test[0]
    assert task.meta["catalogue"] == "generated" and task.instruction == env.goal(task)["instruction_text"]


def test_first_turn_and_wrapper(env):
    task = env.tasks("test")[1]
    first = env.reset(task)
    # ETO's wrapper: the raw start page, no "Observation:" prefix (only later pages have one)
    assert first == f"WebShop [SEP] Instruction: [SEP] {task.instruction} [SEP] Search"
    r = env.act("no action here")
    assert r.observation == "Observation: Invalid format. The input must contains 'Action: '"
    assert r.info["catalogue"] == "generated" and not r.done
    r = env.act("Thought: x\nAction: click[Buy Now]")  # not clickable on the start page: no-op
    assert r.observation == "Observation:\n" + first and r.reward == 0.0


def test_invalid_action_on_engine_assertion(env):
    env.reset(env.tasks("test")[2])
    env.engine.session.page = "item"  # an item page whose product vanished
    env.engine.session.asin = "NOPE"
    r = env.step("click[Buy Now]")
    assert r.observation == "Observation: Invalid action!" and not r.done


def test_expert_replays_to_one(env):
    rewards = []
    for task in env.tasks("test")[:25]:
        env.reset(task)
        steps = env.expert(task)
        assert steps[0].action.startswith("search[") and steps[-1].action == "click[Buy Now]"
        for step in steps:
            result = env.act(step.text(env))
        assert result.done and result.info["end_reason"] == "done"
        assert result.info["reward_breakdown"]["r_type"] == 1.0
        rewards.append(result.reward)
    assert rewards == [1.0] * len(rewards)


def test_step_cap_zeroes_reward_except_buy_on_last_step(env):
    task = env.tasks("test")[3]
    env.reset(task)
    for _ in range(10):
        r = env.act("Thought: t\nAction: click[nothing]")
    assert r.done and r.reward == 0.0 and r.info["end_reason"] == "step_cap"
    steps = env.expert(task)
    env.reset(task)
    for _ in range(10 - len(steps)):
        env.act("Thought: t\nAction: click[nothing]")
    for step in steps:
        r = env.act(step.text(env))
    assert env.num_steps == 10 and r.done and r.reward == 1.0


def test_price_cap_rule():
    import random

    upper, text = price_cap(64.98, random.Random(0))
    assert upper in (80.0, 90.0, 100.0) and text == f", and price lower than {upper:.2f} dollars"
    assert price_cap(985.0, random.Random(0)) == (NO_CAP, "")


def test_goals_identical_across_processes(env):
    code = (
        "import json; from coevolve.envs.registry import make_env;"
        "e = make_env('webshop', catalogue='generated', num_products=600);"
        "print(json.dumps([t.instruction for t in e.tasks('test')[:50]]))"
    )
    outs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    mine = [t.instruction for t in env.tasks("test")[:50]]
    assert json.loads(outs[0]) == json.loads(outs[1]) == mine
