"""Adding a fourth benchmark touches its env module and a registry entry only: `fourth_env.py` registers
an env and its `Benchmark` from outside the package, and pairs, the evaluation runner, the report and
the service start ask the description (no code outside it names the benchmark)."""

from __future__ import annotations

import dataclasses
import json

import fourth_env  # noqa: F401  registers the "relay" environment and its description
import pytest

from coevolve.agents.base import SamplingParams
from coevolve.data.formats import load_eto_sft
from coevolve.data.jsonl import trajectory_file
from coevolve.data.records import Message
from coevolve.envs.base import UnknownName
from coevolve.envs.benchmark import benchmarks, get_benchmark
from coevolve.evaluation.report import load_run, results_table
from coevolve.evaluation.runner import evaluate
from coevolve.experts import ExpertConfig, ExpertGenerator
from coevolve.pairs.build import prompt_check, target_pairs
from coevolve.pairs.settings import PairSettings


def test_description_lists_tasks_and_prompt_without_an_env_instance():
    bench = get_benchmark("relay")
    before = fourth_env.RelayEnv.instances
    assert [t.id for t in bench.tasks("test")] == ["11", "12", "13"]
    assert bench.prompt().prompt_set == "relay-own"
    assert bench.describe_data() == ("sample", "three relay tasks per split")
    assert fourth_env.RelayEnv.instances == before
    with pytest.raises(UnknownName, match="relay split 'tset'"):
        bench.tasks("tset")
    with pytest.raises(UnknownName, match="did you mean 'length'"):
        bench.tasks("test", env_kwargs={"lenght": 2})
    assert [b.name for b in benchmarks()][-1] == "relay"  # after the package's, in registration order


def test_service_starts_unless_the_user_runs_their_own(monkeypatch):
    service = get_benchmark("relay").service
    fourth_env.STARTED.clear()
    fourth_env.RUNNING.clear()
    monkeypatch.delenv("RELAY_URL", raising=False)
    assert service.ensure() == "started (relay)" and fourth_env.STARTED == ["start"]
    monkeypatch.setenv("RELAY_URL", "relay://elsewhere")
    assert service.ensure() is None and fourth_env.STARTED == ["start"]
    fourth_env.RUNNING.clear()


def test_a_job_stops_the_server_it_started_and_only_that_one(monkeypatch):
    service, said = get_benchmark("relay").service, []
    monkeypatch.delenv("RELAY_URL", raising=False)
    fourth_env.STARTED.clear()
    fourth_env.RUNNING.clear()
    with pytest.raises(KeyboardInterrupt), service.running(said.append) as status:
        assert status == "started (relay)" and fourth_env.RUNNING == [True]
        raise KeyboardInterrupt  # stopped on the way out, whatever ended the job
    assert fourth_env.STARTED == ["start", "stop"] and fourth_env.RUNNING == []
    assert said == ["relay server: started (relay)", "relay server: stopped (relay)"]
    service.start()  # someone else's server, already up: the job leaves it running
    with service.running(said.append) as status:
        assert status == "already running"
    assert fourth_env.STARTED == ["start", "stop", "start", "start"] and fourth_env.RUNNING == [True]
    monkeypatch.setenv("RELAY_URL", "relay://elsewhere")  # the user's own server: neither started nor stopped
    with service.running(said.append) as status:
        assert status is None
    assert fourth_env.STARTED == ["start", "stop", "start", "start"]
    fourth_env.RUNNING.clear()


def test_service_command_and_data_files_come_from_the_description(capsys, monkeypatch):
    from coevolve.cli import main
    from coevolve.data import resources

    monkeypatch.delenv("RELAY_URL", raising=False)
    fourth_env.STARTED.clear()
    fourth_env.RUNNING.clear()
    assert main(["service", "start", "relay"]) == 0 and fourth_env.STARTED == ["start"]
    assert "started (relay)" in capsys.readouterr().out
    fourth_env.RUNNING.clear()
    assert main(["service", "status", "relay"]) == 2  # declares no command: it can only be started
    assert "can only be started" in capsys.readouterr().out
    assert main(["service", "start", "relai"]) == 2
    assert "did you mean 'relay'" in capsys.readouterr().err
    assert resources.get_resource("relay/tasks.json").source == "the relay's own tasks"


def _experts(tmp_path):
    out = tmp_path / "experts.jsonl"
    generator = ExpertGenerator(ExpertConfig("relay", "test", out), fourth_env.RelayEnv())
    try:
        generator.run(show_progress=False)
    finally:
        generator.close()
    return {t.task.id: t for t in load_eto_sft(out, "relay", "test")}


def _without_header(traj):
    first = Message("user", fourth_env.expert_file_turn(traj.messages[0].content))
    return dataclasses.replace(traj, messages=[first, *traj.messages[1:]], reward=0.8)


def test_eval_pairs_and_report_ask_the_description(tmp_path, tiny_model_dir):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("method: sft\nseed: 1\n")
    summary = evaluate(
        str(tiny_model_dir), "relay", "test", run / "eval" / "iter0" / "relay_test",
        params=SamplingParams(max_new_tokens=8), num_workers=0, max_concurrent=3, show_progress=False,
        policy_kwargs={"device": "cpu"},
    )  # fmt: skip
    assert summary["episodes"] == 3 and summary["data"] == "sample" and summary["prompts"] == "relay-own"

    # pairs: the expert files' turns lack the header, which the benchmark's rule ignores; an expert
    # recorded at 0.8 counts as 1.0 (expert_reward_one), so every failed rollout gets a pair
    rollouts = trajectory_file(run / "eval" / "iter0" / "relay_test" / "episodes.jsonl").read()
    experts = {k: _without_header(t) for k, t in _experts(tmp_path).items()}
    check = prompt_check(experts, rollouts)
    assert check["checked"] == 3 and check["mismatched"] == 0
    failed = [t for t in rollouts if t.reward < 1.0]
    pairs = target_pairs(experts, failed, [])
    assert len(pairs) == len(failed) > 0 and {p.chosen_reward for p in pairs} == {1.0}
    recorded = target_pairs(experts, failed, [], PairSettings(expert_reward_one_envs=()))
    assert {p.chosen_reward for p in recorded} == {0.8}

    # report: the paper's columns, then the relay column this run evaluated (marked as a task sample)
    table = results_table([load_run(run)])
    assert table.headers == [
        "Method", "WebShop", "SciW seen", "SciW unseen", "InterCodeSQL", "Relay test§", "Avg",
    ]  # fmt: skip
    assert table.rows[0].values["Relay test"] == pytest.approx(summary["avg_reward"])
    assert json.loads((run / "eval" / "iter0" / "relay_test" / "summary.json").read_text())["env"] == "relay"
