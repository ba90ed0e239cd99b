"""Hand-built records for the training tests."""

from __future__ import annotations

from coevolve.data.records import Message, PreferencePair, Task, Trajectory

PROMPT = [
    Message("user", "Instruction: buy what the task asks."),
    Message("assistant", "OK"),
    Message("user", "Task: buy a red shirt"),
]


def three_turn(actions: list[str], observations: list[str]) -> list[Message]:
    msgs: list[Message] = []
    for i, action in enumerate(actions):
        msgs.append(Message("assistant", action))
        if i < len(actions) - 1:
            msgs.append(Message("user", observations[i]))
    return msgs


def make_pair(i: int, sft_weight: float = 1.0) -> PreferencePair:
    chosen = three_turn(
        [
            f"Thought: search {i}.\nAction: search[red shirt {i}]",
            "Action: click[B0{i}]",
            "Action: click[Buy Now]",
        ],
        [f"Observation: results B0{i} and B09.", "Observation: a red shirt page."],
    )
    rejected = three_turn(
        [f"Action: search[hat {i}]", "Action: click[Back]", "Action: click[B09]"],
        ["Observation: hats only.", "Observation: the search page."],
    )
    return PreferencePair(
        id=str(i), env="webshop", prompt=list(PROMPT), chosen=chosen, rejected=rejected,
        kind="expert_vs_target", chosen_reward=1.0, rejected_reward=0.2, sft_weight=sft_weight,
    )  # fmt: skip


def make_trajectory(i: int) -> Trajectory:
    messages = [PROMPT[2], *make_pair(i).chosen]
    return Trajectory(
        task=Task("webshop", "train", str(i)), agent="expert", instruction=PROMPT[0].content,
        messages=messages, reward=1.0 if i % 2 == 0 else 0.5, success=i % 2 == 0, end_reason="expert",
    )  # fmt: skip
