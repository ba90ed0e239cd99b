"""A bounded store of per-conversation KV caches, looked up by longest token-id prefix.

A multi-turn episode re-sends its whole conversation each step; the KV cache of the previous turn's
prompt + generated ids covers all of it but the new observation. Entries hold one sequence each (batch
dimension dropped), so rows of different episodes can be padded together into one batched cache.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from trl.data_utils import common_prefix_length

# Per layer: (keys, values), each [kv_heads, seq, head_dim].
LayerKV = tuple[torch.Tensor, torch.Tensor]


@dataclass
class CacheEntry:
    ids: tuple[int, ...]
    layers: list[LayerKV]

    def prefix(self, length: int) -> list[LayerKV]:
        """The first `length` positions (views: KV at a position only depends on ids before it)."""
        return [(k[:, :length], v[:, :length]) for k, v in self.layers]


def common_prefix(a: tuple[int, ...] | list[int], b: tuple[int, ...] | list[int]) -> int:
    """Length of the longest common prefix of two id sequences (TRL's helper)."""
    return common_prefix_length(list(a), list(b))


class PrefixCache:
    """LRU over entries; `max_entries` and `max_tokens` (summed sequence lengths) bound memory.

    SmolLM2-135M in float32 stores 46 KB per token (30 layers x 2 x 3 heads x 64 dims x 4 bytes), so the
    default 131072 tokens (32 episodes of 4k tokens) is about 6 GB at most.
    """

    def __init__(self, max_entries: int = 64, max_tokens: int = 131072) -> None:
        if max_entries < 1 or max_tokens < 1:
            raise ValueError(f"prefix cache bounds must be >= 1, got {max_entries=} {max_tokens=}")
        self.max_entries = max_entries
        self.max_tokens = max_tokens
        self._entries: OrderedDict[int, CacheEntry] = OrderedDict()
        self._next = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def num_tokens(self) -> int:
        return sum(len(e.ids) for e in self._entries.values())

    def lookup(self, ids: list[int]) -> tuple[int, CacheEntry | None]:
        """Longest stored prefix of `ids`: (its length, the entry holding it); (0, None) if none."""
        best, hit, hit_key = 0, None, None
        for key, entry in self._entries.items():
            n = common_prefix(entry.ids, ids)
            if n > best:
                best, hit, hit_key = n, entry, key
        if hit_key is not None:
            self._entries.move_to_end(hit_key)
        return best, hit

    def store(self, ids: list[int], layers: list[LayerKV]) -> None:
        """Add an entry; entries it extends are dropped (a live episode keeps one), then LRU eviction."""
        entry = CacheEntry(tuple(ids), layers)
        for key in [k for k, e in self._entries.items() if entry.ids[: len(e.ids)] == e.ids]:
            del self._entries[key]
        if any(e.ids[: len(entry.ids)] == entry.ids for e in self._entries.values()):
            return  # already covered by a longer entry
        self._entries[self._next] = entry
        self._next += 1
        total = self.num_tokens
        while len(self._entries) > self.max_entries or (total > self.max_tokens and len(self._entries) > 1):
            _, dropped = self._entries.popitem(last=False)
            total -= len(dropped.ids)

    def clear(self) -> None:
        self._entries.clear()
