"""Rollout token ids against a fresh render of the stored conversation with the training template.

What is asserted, per assistant turn t of a rolled-out episode (conversation = instruction + OK +
in-context example + episode):
- prompt: the ids the policy generated from (the conversation before turn t plus the generation prompt)
  are a prefix of a fresh `apply_chat_template` render of the whole conversation (tiny model and SmolLM2);
- text: the recorded ids decode to the recorded text (tiny model);
- ids (SmolLM2): right after that prefix, the fresh render continues with exactly the recorded ids. The
  recorded ids end with the end-of-turn token `<|im_end|>` when the model emitted it; when generation
  hit max_new_tokens they do not, and the render's `<|im_end|>` simply follows them.
A random model writes arbitrary, non-canonical token sequences, so the id check needs a real model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from counting_env import CountingEnv  # noqa: F401 - registers "counting"

from coevolve.agents import SamplingParams, make_policy, to_chat
from coevolve.envs.registry import make_env
from coevolve.rollout import run_rollouts


def _rollout(policy, tmp_path: Path, max_new_tokens: int):
    env = make_env("counting")
    trajs = run_rollouts(
        "counting", env.tasks("test")[:4], policy, tmp_path / "r.jsonl", agent="target",
        params=SamplingParams(max_new_tokens=max_new_tokens), num_workers=0, show_progress=False,
    )  # fmt: skip
    return env.prompt(), trajs


def _turns(policy, template, traj):
    """(prompt ids, recorded message, full fresh render) for each assistant turn."""
    full = policy.tokenizer.apply_chat_template(
        to_chat(template.messages(traj.messages)), tokenize=True, return_dict=True
    )["input_ids"]
    for t, message in enumerate(traj.messages):
        if message.role == "assistant":
            yield policy.render(template.messages(traj.messages[:t])), message, list(full)


def test_prompt_ids_are_prefix_of_fresh_render(tiny_model_dir, tmp_path):
    policy = make_policy("hf", str(tiny_model_dir), device="cpu")
    template, trajs = _rollout(policy, tmp_path, max_new_tokens=8)
    checked = 0
    for traj in trajs:
        for prompt, message, full in _turns(policy, template, traj):
            assert full[: len(prompt)] == prompt
            ids = [i for i in message.token_ids if i not in policy.eos_ids]
            assert policy.tokenizer.decode(ids, skip_special_tokens=True) == message.content
            checked += 1
    assert checked == sum(t.num_steps for t in trajs) > 0


@pytest.mark.slow
def test_generated_ids_equal_fresh_render_smollm2(smollm2_dir, tmp_path):
    policy = make_policy("hf", str(smollm2_dir), device="cpu")
    template, trajs = _rollout(policy, tmp_path, max_new_tokens=24)
    end = policy.tokenizer.convert_tokens_to_ids("<|im_end|>")
    reasons = set()
    for traj in trajs:
        for prompt, message, full in _turns(policy, template, traj):
            ids = message.token_ids
            assert full[: len(prompt)] == prompt
            assert full[len(prompt) : len(prompt) + len(ids)] == ids
            if ids[-1] == end:
                reasons.add("stop")
            else:
                reasons.add("length")
                assert full[len(prompt) + len(ids)] == end
    assert reasons  # at least one turn checked
