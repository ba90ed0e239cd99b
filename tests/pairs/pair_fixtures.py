"""Hand-built trajectories for pair and analysis tests."""

from __future__ import annotations

from coevolve.data.records import SUCCESS_REWARD, Message, Step, Task, Trajectory


def make_traj(
    task_id: str,
    reward: float,
    turns: int = 2,
    agent: str = "target",
    env: str = "webshop",
    sample: int = 0,
    final_obs: bool = True,
    end_reason: str = "done",
    actions: list[str] | None = None,
    first: str | None = None,
) -> Trajectory:
    """An episode [task, (assistant, observation) x turns], the last observation optional."""
    actions = actions or [f"{agent}-{sample}-act{i}" for i in range(turns)]
    messages = [Message("user", first if first is not None else f"Task {task_id}")]
    steps = []
    for i, action in enumerate(actions):
        messages.append(Message("assistant", f"Thought: step {i}\nAction: {action}"))
        messages.append(Message("user", f"Observation {i} of {agent}"))
        steps.append(
            Step(
                raw=messages[-2].content,
                action=action,
                observation=messages[-1].content,
                reward=0.0,
                done=False,
            )
        )
    if not final_obs:
        messages.pop()
    return Trajectory(
        task=Task(env=env, split="train", id=task_id),
        agent=agent,
        instruction=f"Instruction for {env}",
        messages=messages,
        reward=reward,
        success=reward >= SUCCESS_REWARD,
        end_reason=end_reason,
        steps=steps,
        sample_index=sample,
    )


def make_expert(task_id: str, reward: float = 1.0, turns: int = 2, env: str = "webshop") -> Trajectory:
    return make_traj(
        task_id, reward, turns=turns, agent="expert", env=env, final_obs=False, end_reason="expert"
    )
