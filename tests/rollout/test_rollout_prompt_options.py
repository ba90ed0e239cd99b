"""Rollout prompt options: the in-context example toggle, and prefix KV caching across turns."""

from __future__ import annotations

from pathlib import Path

from counting_env import CountingEnv  # noqa: F401 - registers "counting"

from coevolve.agents import SamplingParams, make_policy, to_chat
from coevolve.envs.registry import make_env
from coevolve.rollout import run_rollouts

PARAMS = SamplingParams(max_new_tokens=6)


def _run(policy, out: Path, **kw):
    return run_rollouts(
        "counting", make_env("counting").tasks("test"), policy, out, agent="target", params=PARAMS,
        num_workers=0, show_progress=False, max_concurrent=4, **kw,
    )  # fmt: skip


def test_without_examples_prompts_are_shorter_and_recorded(tiny_model_dir, tmp_path):
    policy = make_policy("hf", str(tiny_model_dir), device="cpu")
    template = make_env("counting").prompt()
    with_ex = _run(policy, tmp_path / "a.jsonl")
    without = _run(policy, tmp_path / "b.jsonl", with_examples=False)
    assert all(t.meta == {"with_examples": True} for t in with_ex)
    assert all(t.meta == {"with_examples": False} for t in without)
    example_tokens = len(policy.tokenizer.apply_chat_template(to_chat(template.examples[0]), tokenize=True))
    # task "1" ends after one turn either way: its only prompt lost the example
    assert with_ex[0].num_steps == without[0].num_steps == 1
    assert with_ex[0].prompt_tokens - without[0].prompt_tokens >= example_tokens // 2
    # what the model generated from without examples is what the prompt without examples leads to
    fresh = policy.generate([template.messages(without[0].messages[:1], with_examples=False)], PARAMS)
    assert fresh[0][0].text == without[0].messages[1].content


def test_prefix_cache_does_not_change_episodes(tiny_model_dir, tmp_path):
    cached = make_policy("hf", str(tiny_model_dir), device="cpu")
    plain = make_policy("hf", str(tiny_model_dir), device="cpu", prefix_cache=False)
    for with_examples in (True, False):
        a = _run(cached, tmp_path / f"c{with_examples}.jsonl", with_examples=with_examples)
        b = _run(plain, tmp_path / f"p{with_examples}.jsonl", with_examples=with_examples)
        assert [[(m.content, m.token_ids) for m in t.messages] for t in a] == [
            [(m.content, m.token_ids) for m in t.messages] for t in b
        ]
        assert [t.prompt_tokens for t in a] == [t.prompt_tokens for t in b]
    assert cached.stats["cached_tokens"] > 0 and plain.stats["cached_tokens"] == 0
