"""Summary statistics of a pair set (written to RUN/iter{k}/pairs/stats.json)."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from coevolve.data.records import SUCCESS_REWARD, PreferencePair

# Analysis threshold of the paper (v3/v4 §5.2.1): a failure with 0.6 <= r < 1 is a hard negative.
HARD_NEGATIVE_MIN = 0.6


def is_hard_negative(reward: float) -> bool:
    return HARD_NEGATIVE_MIN <= reward < SUCCESS_REWARD


def _gaps(pairs: list[PreferencePair]) -> dict[str, float | None]:
    gaps = [p.chosen_reward - p.rejected_reward for p in pairs]
    if not gaps:
        return {"mean": None, "median": None}
    return {"mean": statistics.fmean(gaps), "median": statistics.median(gaps)}


def _hard_share(pairs: list[PreferencePair]) -> float | None:
    if not pairs:
        return None
    return sum(is_hard_negative(p.rejected_reward) for p in pairs) / len(pairs)


def pair_stats(pairs: list[PreferencePair]) -> dict[str, Any]:
    """Counts per kind, reward gaps (chosen - rejected), hard-negative share of rejects, tasks covered.

    `hard_negative_share` is the share of pairs whose rejected side is a hard negative; `tasks` counts
    distinct (env, task id); `prompt_mismatch` counts pairs per task-turn difference reason (see
    `pairs.build.prompt_check` for the count over all rollouts). `per_kind` repeats the numbers for each kind.
    """
    kinds = sorted({p.kind for p in pairs})
    per_kind = {}
    for kind in kinds:
        subset = [p for p in pairs if p.kind == kind]
        per_kind[kind] = {
            "pairs": len(subset),
            "reward_gap": _gaps(subset),
            "hard_negative_share": _hard_share(subset),
        }
    return {
        "pairs": len(pairs),
        "by_kind": dict(Counter(p.kind for p in pairs)),
        "tasks": len({(p.env, p.meta.get("task_id", p.id)) for p in pairs}),
        "reward_gap": _gaps(pairs),
        "hard_negative_share": _hard_share(pairs),
        "sft_pairs": sum(p.sft_weight > 0 for p in pairs),
        "reversed": sum(bool(p.meta.get("reversed")) for p in pairs),
        "truncated": sum(bool(p.meta.get("truncated")) for p in pairs),
        # pairs whose sides' task turns differ beyond the env's rule (kept under prompt_mismatch=keep)
        "prompt_mismatch": dict(
            Counter(p.meta["prompt_mismatch"] for p in pairs if p.meta.get("prompt_mismatch"))
        ),
        "per_kind": per_kind,
    }
