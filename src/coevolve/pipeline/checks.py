"""Checks that a run's token caps cover its expert data, done once the experts exist (before training).

A generation cap shorter than the longest expert turn makes the model's turns stop before their
action (a query that never parses); an SFT or DPO `max_length` shorter than an expert
episode trains on a cut conversation. Both fail silently at run time, so the run stops here instead,
naming the benchmark, the task and the turn.

Counting: a turn needs its content tokens plus one end-of-turn token within `max_new_tokens`; an
episode needs its whole chat-template rendering (instruction, "OK", the turns) within `max_length`
(the DPO chosen side of an expert pair is that same conversation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from coevolve.data.records import Trajectory


@dataclass(frozen=True)
class Longest:
    """The longest item of one benchmark's experts: a turn or a whole episode."""

    env: str
    task_id: str
    tokens: int
    turn: int | None = None  # index of the assistant turn in the episode (None: whole episode)
    text: str = ""

    def describe(self) -> str:
        where = f"task {self.task_id}" + (f", assistant turn {self.turn}" if self.turn is not None else "")
        snippet = self.text.replace("\n", "\\n")
        snippet = snippet if len(snippet) <= 80 else snippet[:77] + "..."
        return f"{self.tokens} tokens ({where}{': ' + repr(snippet) if snippet else ''})"


def longest_turn(trajs: Sequence[Trajectory], count: Callable[[str], int]) -> Longest | None:
    """The assistant turn with the most tokens (content + 1 end-of-turn token)."""
    best: Longest | None = None
    for traj in trajs:
        turns = [m.content for m in traj.messages if m.role == "assistant"]
        for i, text in enumerate(turns):
            n = count(text) + 1
            if best is None or n > best.tokens:
                best = Longest(traj.task.env, traj.task.id, n, i, text)
    return best


def longest_episode(trajs: Sequence[Trajectory], count: Callable[[Trajectory], int]) -> Longest | None:
    best: Longest | None = None
    for traj in trajs:
        n = count(traj)
        if best is None or n > best.tokens:
            best = Longest(traj.task.env, traj.task.id, n)
    return best


def cap_errors(
    env: str,
    turn: Longest | None,
    episode: Longest | None,
    generation: dict[str, int],
    lengths: dict[str, int],
) -> list[str]:
    """Messages for every cap (config key -> value) below what the experts of `env` need."""
    errors = []
    for key, cap in generation.items():
        if turn is not None and cap < turn.tokens:
            errors.append(
                f"{env}: {key} = {cap} is shorter than the longest expert turn, {turn.describe()}; "
                f"set {key} >= {turn.tokens}"
            )
    for key, cap in lengths.items():
        if episode is not None and cap < episode.tokens:
            errors.append(
                f"{env}: {key} = {cap} is shorter than the longest expert episode, {episode.describe()}; "
                f"set {key} >= {episode.tokens}"
            )
    return errors


def token_counters(tokenizer) -> tuple[Callable[[str], int], Callable[[Trajectory], int]]:
    """(turn text -> tokens, trajectory -> tokens of its chat rendering as SFT trains it)."""
    from coevolve.training.data import trajectory_messages

    def turn(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    def episode(traj: Trajectory) -> int:
        ids = tokenizer.apply_chat_template(trajectory_messages(traj), tokenize=True)
        return len(ids["input_ids"] if hasattr(ids, "keys") else ids)  # a list or a BatchEncoding

    return turn, episode
