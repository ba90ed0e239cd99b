"""End to end on the real WebShop environment: experts and degraded replays -> pairs -> analysis -> report."""

import json

import matplotlib.image
import pytest

from coevolve.data.jsonl import JsonlWriter
from coevolve.data.records import SUCCESS_REWARD, Message, Step, Trajectory, pair_from_dict, to_dict
from coevolve.envs.registry import make_env
from coevolve.evaluation.analysis import analyze_rollouts
from coevolve.evaluation.report import load_run, results_table, write_report
from coevolve.experts import play_expert
from coevolve.pairs import experts_by_id, failure_pairs, pair_stats, target_pairs


def replay(env, task, actions: list[str], agent: str) -> Trajectory:
    """Play fixed actions through the environment, as a policy would (rewards come from the env)."""
    messages, steps, result = [Message("user", env.reset(task))], [], None
    for action in actions:
        text = env.format_output("replaying", action)
        result = env.act(text)
        messages += [Message("assistant", text), Message("user", result.observation)]
        steps.append(Step(text, result.action, result.observation, result.reward, result.done, result.info))
        if result.done:
            break
    done = result is not None and result.done
    return Trajectory(
        task=task,
        agent=agent,
        instruction=env.prompt().instruction,
        messages=messages,
        reward=result.reward if done else 0.0,
        success=done and result.reward >= SUCCESS_REWARD,
        end_reason=result.info.get("end_reason", "done") if done else "step_cap",
        steps=steps,
        iteration=1,
    )


@pytest.mark.slow
def test_webshop_rollouts_to_pairs_and_report(tmp_path):
    env = make_env("webshop")
    tasks = env.tasks("train")[:6]
    experts = experts_by_id(play_expert(env, t) for t in tasks)
    assert all(e.reward == SUCCESS_REWARD for e in experts.values())
    target, failure = [], []
    for task in tasks:
        gold = [a for a in experts[task.id].actions if a is not None]
        search, item = gold[0], gold[1]
        # target: buys the right item without choosing options; failure agent: skips only the last option
        target.append(replay(env, task, [search, item, "click[Buy Now]"], "target"))
        failure.append(
            replay(env, task, [*gold[:-2], "click[Buy Now]"] if len(gold) > 3 else gold, "failure")
        )
    assert all(t.reward < SUCCESS_REWARD for t in target)

    d_tgt = target_pairs(experts, target, failure)
    d_fail = failure_pairs(target, failure)
    for pair in d_tgt + d_fail:
        pair_from_dict(to_dict(pair))
        assert pair.chosen_reward > pair.rejected_reward
        assert pair.prompt[2].content == experts[pair.meta["task_id"]].messages[0].content
    assert pair_stats(d_tgt)["by_kind"]["expert_vs_target"] == len(target)
    assert all(p.sft_weight == 0.0 for p in d_fail)

    run = tmp_path / "run"
    (run / "config.yaml").parent.mkdir(parents=True)
    (run / "config.yaml").write_text("method: coevolve\n")
    for agent, trajs in (("target", target), ("failure", failure)):
        with JsonlWriter(run / "iter1" / "rollouts" / "webshop" / f"{agent}.jsonl") as writer:
            writer.write_all(trajs)
    with JsonlWriter(run / "iter1" / "pairs" / "target.jsonl") as writer:
        writer.write_all(d_tgt)
    summary = {"env": "webshop", "split": "train", "data": "generated", "avg_reward": 50.0}
    (run / "eval" / "iter1" / "webshop_test").mkdir(parents=True)
    (run / "eval" / "iter1" / "webshop_test" / "summary.json").write_text(
        json.dumps({**summary, "split": "test"})
    )

    stats = analyze_rollouts(load_run(run).rollouts)
    by_agent = {s.agent: s for s in stats}
    for s in stats:
        parts = s.composition()
        assert sum(parts.values()) == pytest.approx(100.0)
    assert by_agent["failure"].success_rate >= by_agent["target"].success_rate
    table = results_table([load_run(run)])
    assert table.headers[1] == "WebShop*" and table.rows[0].values["WebShop"] == 50.0
    report = write_report([run], tmp_path / "out")
    assert "| 1 | webshop | target | 6 |" in report.read_text()
    for png in (tmp_path / "out" / "run").glob("*.png"):
        assert matplotlib.image.imread(png).size > 0
