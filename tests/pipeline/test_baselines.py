"""RFT and Best-of-N in the pipeline, multi-sample ETO pairs, and per-method cost accounting.

Pure rules on hand-built trajectories; one small real comparison on the ladder env (tiny model trained
for real, acting by a seeded dice policy so that samples differ and some of them succeed).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict

import ladder_env  # noqa: F401  registers the "ladder" environment
import pytest
from test_runner import _config

from coevolve.agents.base import Generation, Policy, register_policy
from coevolve.data.jsonl import read_jsonl, trajectory_file
from coevolve.data.records import Message, Task, Trajectory
from coevolve.evaluation.report import cost_comparison_table, load_run, method_costs, write_report
from coevolve.evaluation.summary import summarize
from coevolve.pairs import PairSettings, eto_pairs
from coevolve.pipeline.baselines import seen_before, select_successes
from coevolve.pipeline.compare import run_comparison, shared_sft
from coevolve.pipeline.config import ConfigError, RFTConfig, from_dict
from coevolve.pipeline.runner import Pipeline


@register_policy("ladder_dice")
class LadderDice(Policy):
    """Climbs with probability 0.6 per turn, drawn from the request's seed (samples differ, reruns agree)."""

    def __init__(self, model: str, **_: object) -> None:
        self.name = f"ladder_dice:{model}"

    @property
    def context_length(self) -> int:
        return 4096

    def generate(self, conversations, params, seeds=None):
        out = []
        for i, _conversation in enumerate(conversations):
            seed = seeds[i] if seeds else 0
            action = "climb" if random.Random(seed).random() < 0.6 else "wait"
            out.append([Generation(f"Thought: go.\nAction: {action}", completion_tokens=5, prompt_tokens=20)])
        return out


def _traj(task: str, reward: float, turns: list[str], sample: int = 0, end: str = "done") -> Trajectory:
    messages = [Message("user", f"Climb {task}.")]
    for turn in turns:
        messages += [Message("assistant", turn), Message("user", "Observation: ok")]
    return Trajectory(Task("ladder", "train", task), "target", "Climb.", messages, reward, reward == 1.0, end,
                      sample_index=sample)  # fmt: skip


# ------------------------------------------------------------------ pure rules


def test_successes_kept_by_threshold_distinct_turns_and_cap():
    expert = _traj("1", 1.0, ["climb"])
    rollouts = [
        _traj("1", 1.0, ["climb"], 0),  # same turns as the expert: not new
        _traj("1", 1.0, ["climb "], 1),  # same after trimming
        _traj("2", 1.0, ["wait", "climb"], 0),
        _traj("2", 1.0, ["climb", "wait"], 1),
        _traj("2", 1.0, ["climb", "wait"], 2),  # duplicate of sample 1
        _traj("3", 0.7, ["a"], 0),  # below the threshold
        _traj("3", 1.0, ["b"], 1, end="error"),  # unscored
    ]
    seen, counts = seen_before([expert], [])
    kept = select_successes(rollouts, RFTConfig(), seen, counts)
    assert [(t.task.id, t.sample_index) for t in kept] == [("2", 0), ("2", 1)]
    assert all(t.messages[-1].role == "assistant" for t in kept)  # final observation dropped
    # earlier successes count toward the cap and the distinct rule; a lower threshold admits WebShop-like 0.7
    seen, counts = seen_before([expert], kept[:1])
    spec = RFTConfig(success_threshold=0.7, max_per_task=1)
    assert [(t.task.id, t.sample_index) for t in select_successes(rollouts, spec, seen, counts)] == [("3", 0)]
    every = select_successes(rollouts, RFTConfig(distinct=False), *seen_before([], []))
    assert len(every) == 5


def test_best_of_n_summary_is_the_per_task_best_and_keeps_the_mean():
    trajs = [_traj("1", r, ["x"], i) for i, r in enumerate([0.0, 1.0, 0.5])]
    trajs += [_traj("2", r, ["x"], i) for i, r in enumerate([0.2, 0.2, 0.0])]
    best = summarize(trajs, "ladder", "test", "official", "m", "target", select="best")
    assert best["avg_reward"] == pytest.approx(60.0) and best["best_of_n"] == pytest.approx(60.0)
    assert best["mean_of_n"] == pytest.approx(100 * 1.9 / 6) and best["samples_per_task"] == 3
    assert best["success_rate"] == 0.5 and best["tasks"] == 2 and "oracle" in best
    mean = summarize(trajs, "ladder", "test", "official", "m", "target")
    assert mean["avg_reward"] == pytest.approx(100 * 1.9 / 6) and mean["best_of_n"] == pytest.approx(60.0)
    single = summarize(trajs[:1], "ladder", "test", "official", "m", "target")
    assert "best_of_n" not in single


def test_eto_pairs_from_several_samples():
    expert = _traj("1", 1.0, ["climb", "climb"])
    explored = [_traj("1", 0.5, ["climb", "wait"], 0), _traj("1", 0.0, ["wait", "wait"], 1),
                _traj("1", 1.0, ["climb", "climb"], 2)]  # fmt: skip
    experts = {"1": expert}
    assert [p.rejected_reward for p in eto_pairs(experts, explored)] == [0.5]  # ETO: first sample only
    assert [p.rejected_reward for p in eto_pairs(experts, explored, PairSettings(eto_samples="all"))] == [
        0.5,
        0.0,
    ]
    worst = eto_pairs(experts, explored, PairSettings(eto_samples="best_worst"))
    assert [p.meta["rejected_sample"] for p in worst] == [1]
    with pytest.raises(ValueError, match="eto_samples"):
        PairSettings(eto_samples="every")


def test_plans_and_config_checks(tmp_path):
    names = [s.name for s in Pipeline(from_dict(_config("rft", iterations=2)), tmp_path / "r").stages()]
    assert names == ["experts", "sft", "eval/iter0", "iter1/rft_explore", "iter1/rft_data", "iter1/train_rft",
                     "eval/iter1", "iter2/rft_explore", "iter2/rft_data", "iter2/train_rft", "eval/iter2"]  # fmt: skip
    best = from_dict(_config("best-of-n", iterations=3, eval_select="mean"))
    assert best.iterations == 0 and best.eval_select == "best" and best.aux_agent == "none"
    assert [s.name for s in Pipeline(best, tmp_path / "b").stages()] == ["experts", "sft", "eval/iter0"]
    with pytest.raises(ConfigError, match="rft.init"):
        from_dict(_config("rft", rft={"init": "bse"}))
    with pytest.raises(ConfigError, match="best_of_n.temperature"):
        from_dict(_config("best-of-n", best_of_n={"temperature": 0}))


# ------------------------------------------------------------------ a small real comparison


@pytest.fixture(scope="module")
def comparison(tmp_path_factory, tiny_model_dir):
    data = _config("coevolve", str(tiny_model_dir), iterations=2)
    data["rollout"] = {**data["rollout"], "backend": "ladder_dice"}
    data["eval_sampling"] = {"max_new_tokens": 8, "temperature": 0.0}
    out = tmp_path_factory.mktemp("cmp")
    run_comparison(data, out, ["sft", "coevolve", "rft", "best-of-n"])
    # compute-matched eto: 2 samples per task, as many training rollouts as coevolve's two agents
    matched = {**data, "target_sampling": {"max_new_tokens": 8, "temperature": 0.7, "samples_per_task": 2},
               "pairs": {"eto_samples": "all"}}  # fmt: skip
    Pipeline(from_dict(shared_sft(matched, "eto", out)), out / "eto").run()  # from the same SFT model
    return out


def test_rft_training_set_grows_with_the_agents_successes(comparison):
    run = comparison / "rft"
    experts = len(read_jsonl(run / "experts/ladder.jsonl"))
    total = 0
    for k in (1, 2):
        rollouts = trajectory_file(run / f"iter{k}/rollouts/ladder/target.jsonl").read()
        assert len(rollouts) == 3 * 4  # rft.samples_per_task
        new = trajectory_file(run / f"iter{k}/rft/successes.jsonl").read()
        assert all(t.reward == 1.0 for t in new)
        assert {t.key for t in new} <= {t.key for t in rollouts if t.reward == 1.0}
        total += len(new)
        assert len(read_jsonl(run / f"iter{k}/rft/train.jsonl")) == experts + total
        stats = json.loads((run / f"iter{k}/rft/stats.json").read_text())["ladder"]
        assert stats["own_successes_total"] == total and stats["new_successes"] == len(new)
    assert total > 0  # the dice policy solves some tasks
    manifest = json.loads((run / "manifest.json").read_text())["stages"]
    done = run / "checkpoints/iter1/target/training_done.json"
    if manifest["iter1/train_rft"]["outputs"]["trained"]:
        info = json.loads(done.read_text())
        assert info["model"] == str(comparison / "sft/checkpoints/sft")  # rft.init: sft
        assert info["trajectories"] == len(read_jsonl(run / "iter1/rft/train.jsonl"))


def test_best_of_n_best_is_at_least_its_mean_on_every_task(comparison):
    folder = comparison / "best-of-n/eval/iter0/ladder_test"
    summary = json.loads((folder / "summary.json").read_text())
    by_task = defaultdict(list)
    for t in trajectory_file(folder / "episodes.jsonl").read():
        by_task[t.task.id].append(t.reward)
    assert len(by_task) == 3 and all(len(r) == 4 for r in by_task.values())
    for rewards in by_task.values():
        assert max(rewards) >= sum(rewards) / len(rewards)
    assert summary["selection"] == "best" and summary["avg_reward"] == summary["best_of_n"]
    assert summary["best_of_n"] >= summary["mean_of_n"]
    assert summary["best_of_n"] == pytest.approx(100 * sum(max(r) for r in by_task.values()) / 3)


def test_costs_show_the_compute_match(comparison, tmp_path):
    costs = {m: method_costs(load_run(comparison / m).costs) for m in ("coevolve", "eto", "rft", "best-of-n")}
    assert costs["eto"]["rollouts"] == costs["coevolve"]["rollouts"] == 2 * 3 * 2  # 2 per task, 3 tasks, K=2
    assert costs["rft"]["rollouts"] == 4 * 3 * 2 and costs["best-of-n"]["rollouts"] == 0
    assert costs["best-of-n"]["eval_episodes"] == 4 * 3
    assert all(c["generated"] == 5 * c["generated"] // 5 > 0 for m, c in costs.items() if m != "best-of-n")
    assert costs["coevolve"]["trained"] > 0 and costs["eto"]["trained"] > 0
    table = cost_comparison_table([load_run(comparison / m) for m in ("coevolve", "eto")])
    assert "| coevolve | 12 |" in table and "| eto | 12 |" in table
    report = write_report([comparison / m for m in ("sft", "eto", "coevolve", "rft", "best-of-n")], tmp_path)
    text = report.read_text()
    assert "## Cost per method" in text and "## Best of N" in text and "oracle" in text
