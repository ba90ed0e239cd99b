"""EnvPool: parallel episodes in worker processes, recovery from a killed JVM or worker."""

from __future__ import annotations

import os
import signal

import pytest

from coevolve.envs.pool import EnvPool
from coevolve.envs.sciworld import SciWorldEnv

pytestmark = pytest.mark.java
TASK_ID = "18_27"  # mix-paint secondary: 6 gold steps, partial scores along the way


@pytest.fixture(scope="module")
def gold():
    env = SciWorldEnv()
    try:
        task = env.get_task("unseen", TASK_ID)
        return task, [s.text(env) for s in env.expert(task)]
    finally:
        env.close()


def _play(pool: EnvPool, key: str, outputs: list[str], kill_at: int | None = None, kill=None) -> list:
    results = []
    for i, output in enumerate(outputs):
        if i == kill_at:
            kill()
        results.append(pool.act([(key, output)])[0])
        if results[-1].done:
            break
    return results


def test_in_process_pool_matches_and_two_episodes_run_side_by_side(gold):
    task, outputs = gold
    with EnvPool("sciworld", num_workers=0) as pool:
        firsts = pool.reset([("a", task), ("b", task)])
        assert firsts[0] == firsts[1] and firsts[0].startswith("Task Description:")
        both = pool.act([("a", outputs[0]), ("b", "no action here")])
        assert both[0].action is not None and both[1].action is None
        rest = _play(pool, "a", outputs[1:])
        assert rest[-1].done and rest[-1].reward == 1.0
        pool.release("a")
        with pytest.raises(KeyError):
            pool.act([("a", outputs[0])])


def test_killed_jvm_is_replayed_and_reward_unchanged(gold, java_children):
    task, outputs = gold
    with EnvPool("sciworld", num_workers=1) as pool:
        pool.reset([("a", task)])

        def kill():
            pids = java_children(pool.worker_pids()[0])
            assert pids
            for pid in pids:
                os.kill(pid, signal.SIGKILL)

        results = _play(pool, "a", outputs, kill_at=3, kill=kill)
    assert results[3].info["retries"] == 1
    assert [r.done for r in results][-1] and results[-1].reward == 1.0
    assert results[3].reward >= results[2].reward > 0


def test_killed_worker_is_restarted_and_episode_replayed(gold):
    task, outputs = gold
    with EnvPool("sciworld", num_workers=2) as pool:
        pool.reset([("a", task)])
        worker = pool.episodes["a"].worker

        def kill():
            os.kill(pool.worker_pids()[worker], signal.SIGKILL)

        results = _play(pool, "a", outputs, kill_at=2, kill=kill)
    assert results[2].info["retries"] == 1 and results[-1].done and results[-1].reward == 1.0


def test_without_retries_a_kill_ends_with_error(gold):
    task, outputs = gold
    with EnvPool("sciworld", num_workers=0, max_retries=0) as pool:
        pool.reset([("a", task)])
        pool.act([("a", outputs[0])])
        os.kill(pool.workers[0].host.live["a"].java_pid, signal.SIGKILL)
        result = pool.act([("a", outputs[1])])[0]
    assert result.done and result.info["end_reason"] == "error" and result.info["retries"] == 0
