"""The transformers backend with the tiny random model (SmolLM2 in the slow test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coevolve.agents import Generation, SamplingParams, make_policy
from coevolve.data.records import Message
from coevolve.envs.base import UnknownName


@pytest.fixture(scope="module")
def policy(tiny_model_dir: Path):
    return make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32")


def _convs() -> list[list[Message]]:
    # Different lengths, so batching really pads.
    return [
        [
            Message("user", "Find the red shirt."),
            Message("assistant", "OK"),
            Message("user", "Observation: " * k),
        ]
        for k in (1, 4, 9)
    ]


def test_batched_greedy_equals_one_by_one(policy):
    params = SamplingParams(max_new_tokens=12)
    batched = policy.generate(_convs(), params)
    single = [policy.generate([c], params)[0] for c in _convs()]
    assert [g[0].token_ids for g in batched] == [g[0].token_ids for g in single]
    assert [g[0].text for g in batched] == [g[0].text for g in single]
    assert len({tuple(g[0].token_ids) for g in batched}) > 1  # the prompts lead to different outputs
    for (gen,), conv in zip(batched, _convs(), strict=True):
        assert gen.prompt_tokens == len(policy.render(conv))
        assert gen.completion_tokens == len(gen.token_ids) <= 12


def test_micro_batches_match_full_batch(tiny_model_dir):
    small = make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32", batch_size=2)
    full = make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32")
    params = SamplingParams(max_new_tokens=8)
    assert [g[0].token_ids for g in small.generate(_convs(), params)] == [
        g[0].token_ids for g in full.generate(_convs(), params)
    ]


def test_stop_string_cuts_text_and_ids(policy):
    free = policy.generate(_convs(), SamplingParams(max_new_tokens=16))
    text = free[1][0].text
    stop = text[len(text) // 2 : len(text) // 2 + 2]  # a string the model is going to write
    assert stop and stop in text
    stopped = policy.generate(_convs(), SamplingParams(max_new_tokens=16, stop=(stop,)))
    gen = stopped[1][0]
    assert gen.finish_reason == "stop"
    assert gen.text == text[: text.index(stop)]
    assert stop not in gen.text
    ids = free[1][0].token_ids
    assert gen.token_ids == ids[: len(gen.token_ids)] and len(gen.token_ids) < len(ids)
    assert stop in policy.tokenizer.decode(gen.token_ids)  # ids run through the stop string, no further
    assert stop not in policy.tokenizer.decode(gen.token_ids[:-1])
    for i in (0, 2):  # rows without the stop string are untouched by it
        if stop not in free[i][0].text:
            assert stopped[i][0].token_ids == free[i][0].token_ids


def test_prompt_over_context_returns_context_length(tiny_model_dir):
    probe = make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32")
    long_len = len(probe.render(_convs()[2]))
    small = make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32", max_context=long_len + 4)
    out = small.generate(_convs(), SamplingParams(max_new_tokens=5, n=2))
    assert [g.finish_reason for g in out[2]] == ["context_length"] * 2
    assert out[2][0].text == "" and out[2][0].token_ids == [] and out[2][0].prompt_tokens == long_len
    assert out[0][0].finish_reason == "length" and len(out[0]) == 2


def test_sampling_n_and_seed(policy):
    params = SamplingParams(temperature=1.0, max_new_tokens=10, n=3, seed=7)
    first = policy.generate(_convs()[:2], params)
    again = policy.generate(_convs()[:2], params)
    assert [len(g) for g in first] == [3, 3]
    assert [[s.token_ids for s in g] for g in first] == [[s.token_ids for s in g] for g in again]
    assert len({tuple(s.token_ids) for s in first[0]}) > 1  # random model at T=1: samples differ


def test_greedy_n_copies(policy):
    out = policy.generate(_convs()[:1], SamplingParams(max_new_tokens=6, n=2))
    assert out[0][0] == out[0][1] and isinstance(out[0][0], Generation)


def test_bad_params_and_backend():
    with pytest.raises(ValueError, match="temperature"):
        SamplingParams(temperature=-1)
    with pytest.raises(ValueError, match="max_new_tokens"):
        SamplingParams(max_new_tokens=0)
    with pytest.raises(UnknownName, match="hf"):
        make_policy("nope", "x")
