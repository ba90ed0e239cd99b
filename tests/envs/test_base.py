"""The base environment driver: parsing, invalid format, step cap, end reasons, prompt assembly."""

import json

import pytest

from coevolve.data.records import Message, Task
from coevolve.envs.base import Env, EnvError, StepResult, UnknownName
from coevolve.envs.prompts import PromptTemplate
from coevolve.envs.registry import get_env_class, make_env


class Counter(Env):
    """Reach `target` by `add N` actions; reward = progress, capped at 3 steps."""

    name = "counter"
    splits = ("train",)

    def tasks(self, split):
        return [Task("counter", split, str(n)) for n in (2, 5)]

    def _reset(self, task):
        self.total, self.target = 0, int(task.id)
        return f"Reach {self.target}."

    def _step(self, action):
        verb, _, arg = action.partition(" ")
        if verb != "add" or not arg.isdigit():
            return StepResult("Observation: Nothing happens.", self.last_reward, False)
        self.total += int(arg)
        reward = min(self.total / self.target, 1.0)
        return StepResult(f"Observation: total {self.total}", reward, self.total >= self.target)

    def prompt(self):
        return PromptTemplate(
            "Add numbers.", [[Message("user", "Reach 1."), Message("assistant", "Action: add 1")]]
        )

    def max_steps(self, task):
        return 3


def test_invalid_format_counts_as_a_step_and_cap_ends_episode():
    env = Counter()
    env.reset(env.get_task("train", "5"))
    first = env.act("I will think about it")
    assert first.observation == Counter.invalid_format_observation and first.action is None and not first.done
    second = env.act("Thought: add\nAction: add 2")
    assert second.action == "add 2" and second.reward == pytest.approx(0.4)
    third = env.act("Thought: add\nAction: add 1")
    assert third.done and third.info["end_reason"] == "step_cap" and third.reward == pytest.approx(0.6)
    with pytest.raises(EnvError):
        env.act("Action: add 1")


def test_done_before_cap():
    env = Counter()
    env.reset(env.get_task("train", "2"))
    result = env.step("add 2")
    assert result.done and result.reward == 1.0 and result.info["end_reason"] == "done"


def test_unknown_names_list_valid_ones():
    env = Counter()
    with pytest.raises(UnknownName, match="valid: train"):
        env.get_task("test", "2")
    with pytest.raises(UnknownName, match="valid: 2, 5"):
        env.get_task("train", "9")
    with pytest.raises(UnknownName, match="sciworld"):
        get_env_class("alfworld")
    with pytest.raises(UnknownName):
        make_env("nope")


def test_prompt_messages_are_instruction_ok_examples_episode(tmp_path):
    (tmp_path / "eto/prompts").mkdir(parents=True)
    (tmp_path / "eto/prompts/webshop_inst.txt").write_text("INSTRUCTION")
    example = [{"role": "user", "content": "obs"}, {"role": "assistant", "content": "Action: click[x]"}]
    (tmp_path / "eto/prompts/webshop_icl.json").write_text(json.dumps([example, example]))
    template = PromptTemplate.load(
        "eto/prompts/webshop_inst.txt", "eto/prompts/webshop_icl.json", 1, tmp_path
    )
    episode = [Message("user", "task")]
    full = template.messages(episode)
    assert [(m.role, m.content) for m in full] == [
        ("user", "INSTRUCTION"),
        ("assistant", "OK"),
        ("user", "obs"),
        ("assistant", "Action: click[x]"),
        ("user", "task"),
    ]
    assert [m.content for m in template.messages(episode, with_examples=False)] == [
        "INSTRUCTION",
        "OK",
        "task",
    ]
