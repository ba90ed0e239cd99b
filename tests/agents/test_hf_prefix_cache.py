"""Prefix KV caching in the transformers backend: same greedy outputs as without it, real cache reuse."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from coevolve.agents import SamplingParams, make_policy
from coevolve.agents.prefix_cache import PrefixCache
from coevolve.data.records import Message


def _episodes(k: int) -> list[list[Message]]:
    """Different-length starts, so rows have different cached lengths and need padding."""
    head = [Message("user", "Solve the task. Reply with one action."), Message("assistant", "OK")]
    return [head + [Message("user", f"Task {i}: " + "go north. " * (i + 1))] for i in range(k)]


def _play(policy, turns: int, max_new_tokens: int = 10) -> list[list[list[int]]]:
    """Greedy multi-turn play: each turn appends the generation and an observation that depends on it."""
    convs = _episodes(3)
    ids: list[list[list[int]]] = [[] for _ in convs]
    params = SamplingParams(max_new_tokens=max_new_tokens)
    for turn in range(turns):
        live = [i for i in range(len(convs)) if turn < 2 + i]  # episodes end at different turns
        for i, (gen,) in zip(live, policy.generate([convs[i] for i in live], params), strict=True):
            ids[i].append(gen.token_ids)
            convs[i] += [Message("assistant", gen.text), Message("user", f"Observation {len(gen.text)}.")]
    return ids


def test_greedy_with_cache_equals_without(tiny_model_dir: Path):
    cached = make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32")
    plain = make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32", prefix_cache=False)
    assert cached.cache is not None and plain.cache is None
    with_cache = _play(cached, turns=4)
    assert with_cache == _play(plain, turns=4)
    assert len({tuple(t[0]) for t in with_cache}) > 1  # episodes really differ
    # turns after the first reuse most of their prompt
    assert cached.stats["cached_tokens"] > cached.stats["prompt_tokens"] / 2
    assert plain.stats["cached_tokens"] == 0


def test_micro_batches_with_cache_equal_full_batch(tiny_model_dir: Path):
    small = make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32", batch_size=1)
    full = make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32", prefix_cache=False)
    assert _play(small, turns=3) == _play(full, turns=3)


def test_stored_kv_equals_fresh_forward(tiny_model_dir: Path):
    """The rows cut out of the padded batch cache hold exactly the KV of their own ids."""
    policy = make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32")
    _play(policy, turns=2)
    assert len(policy.cache) >= 2
    for entry in list(policy.cache._entries.values()):
        with torch.inference_mode():
            out = policy.model(input_ids=torch.tensor([entry.ids]), use_cache=True)
        for (k, v), (fk, fv, *_) in zip(entry.layers, out.past_key_values, strict=True):
            assert k.shape == fk[0].shape
            torch.testing.assert_close(k, fk[0], atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(v, fv[0], atol=1e-4, rtol=1e-4)


def test_sampling_n_rows_use_the_cache_and_match_uncached(tiny_model_dir: Path):
    # n samples are n rows with their own seeds, so they go through the cache like greedy rows
    policy = make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32")
    plain = make_policy("hf", str(tiny_model_dir), device="cpu", dtype="float32", prefix_cache=False)
    params = SamplingParams(temperature=1.0, max_new_tokens=6, n=3, seed=1)
    out = policy.generate(_episodes(2), params)
    assert [len(g) for g in out] == [3, 3] and len(policy.cache) > 0
    assert len({tuple(g.token_ids) for g in out[0]}) > 1
    ref = plain.generate(_episodes(2), params)
    assert [[g.token_ids for g in gens] for gens in out] == [[g.token_ids for g in gens] for gens in ref]


def _kv(n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(torch.full((1, n, 2), float(n)), torch.zeros(1, n, 2))]


def test_prefix_cache_lookup_and_eviction():
    cache = PrefixCache(max_entries=3, max_tokens=100)
    cache.store([1, 2, 3], _kv(3))
    cache.store([1, 2, 3, 4, 5], _kv(5))  # extends the first: replaces it
    assert len(cache) == 1
    n, entry = cache.lookup([1, 2, 3, 9])
    assert n == 3 and entry.ids == (1, 2, 3, 4, 5) and entry.prefix(n)[0][0].shape == (1, 3, 2)
    assert cache.lookup([7, 8]) == (0, None)
    cache.store([1, 2], _kv(2))  # covered by the longer entry: not stored
    assert len(cache) == 1
    for first in (10, 20, 30):
        cache.store([first, 1], _kv(2))
    assert len(cache) == 3 and cache.lookup([1, 2])[0] == 0  # oldest evicted by max_entries
    small = PrefixCache(max_entries=10, max_tokens=5)
    small.store([1, 2, 3], _kv(3))
    small.store([4, 5, 6], _kv(3))
    assert small.lookup([1, 2, 3])[0] == 0 and small.lookup([4, 5, 6])[0] == 3  # token bound
    with pytest.raises(ValueError, match="bounds"):
        PrefixCache(max_entries=0)


@pytest.mark.slow
def test_smollm2_multi_turn_cache_equals_no_cache(smollm2_dir: Path):
    cached = make_policy("hf", str(smollm2_dir), device="cpu", dtype="float32")
    plain = make_policy("hf", str(smollm2_dir), device="cpu", dtype="float32", prefix_cache=False)
    assert _play(cached, turns=4, max_new_tokens=24) == _play(plain, turns=4, max_new_tokens=24)
    assert cached.stats["cached_tokens"] > 0
