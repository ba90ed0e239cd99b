"""Preference pairs from rollouts: ETO, failure-agent (`D_fail`), target (`D_tgt`) and positive-agent sets.

Pure functions over `coevolve.data.records`; no I/O. Every pair shares one prompt, [instruction, "OK",
first task turn], taken from its chosen side as ETO does (`construct_preference.py`): the expert's own
instruction and task turn for expert-chosen pairs, the rollout's for reversed ones. Its sides are the
rest of each episode up to its last assistant turn (a final observation is dropped: it is never trained
on and a DPO side must end with the model's turn).

The two sides' task turns are compared with the benchmark's own rule (`Benchmark.task_turn_difference`,
which ignores presentation details the env names, such as a prefix or a task header), so gold-path
experts that keep a header give prompts with it, and ETO's files, which lack it, without. A difference
that remains (e.g. a goal text worded otherwise in an expert file) is recorded in the pair's meta and
counted in the statistics; `PairSettings.prompt_mismatch` decides whether such a pair is kept (ETO: it
never checks).

Trajectories are grouped by (env, task id); `experts` are keyed by task id and must come from the same
environment as the rollouts (a mismatch raises), so trajectories of different environments never mix.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from coevolve.data.formats import ACK
from coevolve.data.records import SUCCESS_REWARD, Message, PreferencePair, RecordError, Trajectory
from coevolve.envs.benchmark import get_benchmark
from coevolve.pairs.settings import PairSettings

TaskKey = tuple[str, str]

# ------------------------------------------------------------------ trajectory predicates


def has_reward(traj: Trajectory) -> bool:
    """False for episodes the environment could not score (crash, NaN): they give no pair (ETO)."""
    return traj.end_reason != "error" and math.isfinite(traj.reward)


def is_success(traj: Trajectory) -> bool:
    return has_reward(traj) and traj.reward >= SUCCESS_REWARD


def is_failure(traj: Trajectory) -> bool:
    """r < 1: a 0.9 is a failure (method.md §1)."""
    return has_reward(traj) and traj.reward < SUCCESS_REWARD


# ------------------------------------------------------------------ pair pieces


def first_turn(traj: Trajectory) -> str:
    if not traj.messages or traj.messages[0].role != "user":
        raise RecordError(f"{traj.key}: an episode must start with the task turn (user)")
    return traj.messages[0].content


def pair_prompt(traj: Trajectory) -> list[Message]:
    """[instruction, "OK", first task turn] exactly as this trajectory has them."""
    return [Message("user", traj.instruction), Message("assistant", ACK), Message("user", first_turn(traj))]


def task_turn_difference(a: Trajectory, b: Trajectory) -> str | None:
    """None when two trajectories of one task show the same task turn by their env's rule, else why not."""
    return get_benchmark(a.task.env).task_turn_difference(first_turn(a), first_turn(b))


def prompt_check(experts: dict[str, Trajectory], rollouts: Iterable[Trajectory]) -> dict[str, Any]:
    """How the rollouts' task turns compare with their experts': rollouts checked, and the ones that
    differ per reason with a few task ids, for the pair statistics (a mismatch never goes unreported)."""
    checked, reasons, examples = 0, Counter(), {}
    for traj in rollouts:
        expert = experts.get(traj.task.id)
        if expert is None or expert.task.env != traj.task.env:
            continue
        checked += 1
        reason = task_turn_difference(traj, expert)
        if reason is not None:
            reasons[reason] += 1
            examples.setdefault(reason, [])
            if len(examples[reason]) < 5 and traj.task.id not in examples[reason]:
                examples[reason].append(traj.task.id)
    return {
        "checked": checked,
        "mismatched": sum(reasons.values()),
        "by_reason": dict(reasons),
        "tasks": examples,
    }


def episode_side(traj: Trajectory) -> list[Message]:
    """The episode after the task turn, ending on its last assistant turn (empty if it has none)."""
    side = list(traj.messages[1:])
    while side and side[-1].role != "assistant":
        side.pop()
    return side


def limit_reject(rejected: list[Message], chosen_len: int, settings: PairSettings) -> list[Message] | None:
    """Apply `settings.truncation` to a reject longer than `chosen_len + max_extra_messages`."""
    limit = chosen_len + settings.max_extra_messages
    if settings.truncation == "keep" or len(rejected) <= limit:
        return rejected
    if settings.truncation == "drop":
        return None
    cut = rejected[:limit]
    while cut and cut[-1].role != "assistant":
        cut.pop()
    return cut or None


def make_pair(
    kind: str,
    chosen: Trajectory,
    rejected: Trajectory,
    settings: PairSettings,
    *,
    chosen_reward: float | None = None,
    rejected_reward: float | None = None,
    sft_weight: float,
    cut_reject: bool,
    reversed_: bool = False,
) -> PreferencePair | None:
    """One pair, or None when a side has no assistant turn, the cut empties it, `drop` applies, or the
    task turns differ and `prompt_mismatch` is "skip". The prompt is the chosen side's (as ETO); the
    instructions may differ in layout (ETO's expert files use another copy than its evaluation prompt)."""
    prompt = pair_prompt(chosen)
    mismatch = task_turn_difference(rejected, chosen)
    if mismatch is not None and settings.prompt_mismatch != "keep":
        if settings.prompt_mismatch == "skip":
            return None
        raise ValueError(
            f"task {chosen.task.env}/{chosen.task.id}: chosen ({chosen.agent}) and rejected ({rejected.agent}) "
            f"have different first task turns ({mismatch}); set pairs.prompt_mismatch to keep or skip"
        )
    good, bad = episode_side(chosen), episode_side(rejected)
    full_len = len(bad)
    if cut_reject and good and bad:
        bad = limit_reject(bad, len(good), settings) or []
    if not good or not bad:
        return None
    task = chosen.task
    return PreferencePair(
        id=f"{task.env}/{task.id}/{kind}/{chosen.agent}{chosen.sample_index}>{rejected.agent}{rejected.sample_index}",
        env=task.env,
        prompt=prompt,
        chosen=good,
        rejected=bad,
        kind=kind,
        chosen_reward=chosen.reward if chosen_reward is None else chosen_reward,
        rejected_reward=rejected.reward if rejected_reward is None else rejected_reward,
        sft_weight=sft_weight,
        meta={
            "task_id": task.id,
            "split": task.split,
            "chosen_agent": chosen.agent,
            "rejected_agent": rejected.agent,
            "chosen_sample": chosen.sample_index,
            "rejected_sample": rejected.sample_index,
            "reversed": reversed_,
            "truncated": len(bad) < full_len,
            **({"prompt_mismatch": mismatch} if mismatch else {}),
        },
    )


# ------------------------------------------------------------------ grouping and experts


def by_task(trajs: Iterable[Trajectory]) -> dict[TaskKey, list[Trajectory]]:
    """Trajectories per (env, task id) in first-seen task order, samples sorted by index."""
    groups: dict[TaskKey, list[Trajectory]] = {}
    for traj in trajs:
        groups.setdefault((traj.task.env, traj.task.id), []).append(traj)
    return {key: sorted(group, key=lambda t: t.sample_index) for key, group in groups.items()}


def experts_by_id(experts: Iterable[Trajectory]) -> dict[str, Trajectory]:
    """Experts of ONE environment keyed by task id, as the pair functions take them."""
    out: dict[str, Trajectory] = {}
    for traj in experts:
        if out and traj.task.env != next(iter(out.values())).task.env:
            raise ValueError(
                f"experts mix environments ({traj.task.env!r} and others); key one env at a time"
            )
        if traj.task.id in out:
            raise ValueError(f"two experts for task {traj.task.env}/{traj.task.id}")
        out[traj.task.id] = traj
    return out


def expert_for(experts: dict[str, Trajectory], traj: Trajectory) -> Trajectory | None:
    expert = experts.get(traj.task.id)
    if expert is None:
        return None
    if expert.task.env != traj.task.env:
        raise ValueError(
            f"task {traj.task.id}: expert is from env {expert.task.env!r} but the rollout from "
            f"{traj.task.env!r}; build pairs per environment"
        )
    return expert if has_reward(expert) else None


def expert_reward(expert: Trajectory, settings: PairSettings) -> float:
    """The reward an expert counts with: the settings' env list when given, else its benchmark's rule."""
    if settings.expert_reward_one_envs is not None:
        return SUCCESS_REWARD if expert.task.env in settings.expert_reward_one_envs else expert.reward
    return get_benchmark(expert.task.env).expert_reward(expert.reward)


def _expert_chosen(kind: str, expert: Trajectory, rollout: Trajectory, er: float, s: PairSettings):
    return make_pair(kind, expert, rollout, s, chosen_reward=er, sft_weight=1.0, cut_reject=True)


def _reversed(kind: str, expert: Trajectory, rollout: Trajectory, er: float, s: PairSettings):
    # The rollout beat the expert: it is chosen, but the SFT term must not imitate a non-expert.
    return make_pair(
        kind, rollout, expert, s, rejected_reward=er, sft_weight=0.0, cut_reject=False, reversed_=True
    )


# ------------------------------------------------------------------ ETO


def eto_pairs(
    experts: dict[str, Trajectory], explored: list[Trajectory], settings: PairSettings | None = None
) -> list[PreferencePair]:
    """ETO's expert-vs-exploration pairs. Per task, `eto_samples` picks the scored samples paired:
    "first" (ETO, one rollout per task: its lowest-index scored sample), "all" (one pair per sample)
    or "best_worst" (the sample farthest from the expert's reward that gives a pair).

    explored < expert: expert chosen, reject length-limited; explored > expert: reversed when
    `reverse_when_better` (sft_weight 0); ties and unscored rollouts give no pair.
    """
    s = settings or PairSettings()
    pairs: list[PreferencePair] = []
    for group in by_task(explored).values():
        scored = [t for t in group if has_reward(t)]
        expert = expert_for(experts, group[0])
        if not scored or expert is None:
            continue
        er = expert_reward(expert, s)
        for rollout in _eto_samples(scored, er, s):
            if rollout.reward < er:
                pair = _expert_chosen("eto", expert, rollout, er, s)
            elif rollout.reward > er and s.reverse_when_better:
                pair = _reversed("eto", expert, rollout, er, s)
            else:
                continue
            if pair is not None:
                pairs.append(pair)
    return pairs


def _eto_samples(scored: list[Trajectory], er: float, s: PairSettings) -> list[Trajectory]:
    if s.eto_samples == "first":
        return scored[:1]
    if s.eto_samples == "all":
        return scored
    pairing = [t for t in scored if t.reward < er or (t.reward > er and s.reverse_when_better)]
    return [max(pairing, key=lambda t: abs(t.reward - er))] if pairing else []


# ------------------------------------------------------------------ failure agent (D_fail)


def _gap(pair: tuple[Trajectory, Trajectory]) -> float:
    return abs(pair[0].reward - pair[1].reward)


def _select(combos: list[tuple[Trajectory, Trajectory]], settings: PairSettings):
    if settings.multi_sample == "best_worst" and combos:
        return [max(combos, key=_gap)]
    return combos


def failure_pairs(
    target_rollouts: list[Trajectory],
    failure_rollouts: list[Trajectory],
    settings: PairSettings | None = None,
) -> list[PreferencePair]:
    """`D_fail`: per task failed by BOTH agents, one failure of each; the higher reward is chosen.

    Ties are dropped; successes (r = 1) never enter. With several samples, `multi_sample` picks all
    cross-agent combinations or only the one with the largest reward gap. sft_weight is 0.
    """
    s = settings or PairSettings()
    tgt = by_task(t for t in target_rollouts if is_failure(t))
    fail = by_task(t for t in failure_rollouts if is_failure(t))
    pairs: list[PreferencePair] = []
    for key, mine in tgt.items():
        combos = [(a, b) for a in mine for b in fail.get(key, []) if a.reward != b.reward]
        for a, b in _select(combos, s):
            hi, lo = (a, b) if a.reward > b.reward else (b, a)
            pair = make_pair("failure_failure", hi, lo, s, sft_weight=0.0, cut_reject=False)
            if pair is not None:
                pairs.append(pair)
    return pairs


# ------------------------------------------------------------------ target agent (D_tgt)


def expert_vs_failure(
    kind: str, expert: Trajectory, failure: Trajectory, s: PairSettings
) -> PreferencePair | None:
    """Expert > failure, with `sub_success_expert` deciding for experts below 1.0."""
    er = expert_reward(expert, s)
    if er < SUCCESS_REWARD and s.sub_success_expert != "keep":
        if s.sub_success_expert == "skip" or failure.reward == er:
            return None
        if failure.reward > er:
            return _reversed(kind, expert, failure, er, s)
    return _expert_chosen(kind, expert, failure, er, s)


def _success_pairs(
    successes: list[Trajectory], failures: list[Trajectory], s: PairSettings
) -> list[PreferencePair]:
    """success_vs_failure pairs per task; the reject is limited against the success's length."""
    wins, losses = by_task(successes), by_task(failures)
    pairs: list[PreferencePair] = []
    for key, good in wins.items():
        combos = [(a, b) for a in good for b in losses.get(key, [])]
        for a, b in _select(combos, s):
            pair = make_pair("success_vs_failure", a, b, s, sft_weight=s.success_sft_weight, cut_reject=True)
            if pair is not None:
                pairs.append(pair)
    return pairs


def target_pairs(
    experts: dict[str, Trajectory],
    target_rollouts: list[Trajectory],
    failure_rollouts: list[Trajectory],
    settings: PairSettings | None = None,
) -> list[PreferencePair]:
    """`D_tgt`: expert > every failure of either agent (v5), plus the optional kinds of `settings`."""
    s = settings or PairSettings()
    pairs: list[PreferencePair] = []
    sources = (
        ("expert_vs_target", target_rollouts, s.expert_vs_target),
        ("expert_vs_failure_agent", failure_rollouts, s.expert_vs_failure_agent),
    )
    for kind, rollouts, enabled in sources:
        if not enabled:
            continue
        for traj in rollouts:
            expert = expert_for(experts, traj) if is_failure(traj) else None
            pair = expert_vs_failure(kind, expert, traj, s) if expert is not None else None
            if pair is not None:
                pairs.append(pair)
    if s.failure_failure:
        pairs += failure_pairs(target_rollouts, failure_rollouts, s)
    if s.failure_agent_successes == "positive":
        wins = [t for t in failure_rollouts if is_success(t)]
        pairs += _success_pairs(wins, [t for t in target_rollouts if is_failure(t)], s)
    return pairs


# ------------------------------------------------------------------ positive-agent ablation


def positive_pairs(
    experts: dict[str, Trajectory],
    target_rollouts: list[Trajectory],
    aux_rollouts: list[Trajectory],
    settings: PairSettings | None = None,
) -> list[PreferencePair]:
    """Target pairs of the positive-agent ablation (an auxiliary agent trained toward success).

    Per task, every success (r = 1) of either agent > every failure of either agent (kind
    `success_vs_failure`, sft_weight `success_sft_weight`; `multi_sample` applies). Failures of tasks
    that no agent solved are paired with the expert instead (kinds and rules as in `target_pairs`),
    so the ablation covers the same tasks as `D_tgt`; pass `experts={}` for success pairs only.
    """
    s = settings or PairSettings()
    everything = [*target_rollouts, *aux_rollouts]
    wins = [t for t in everything if is_success(t)]
    pairs = _success_pairs(wins, [t for t in everything if is_failure(t)], s)
    solved = set(by_task(wins))
    sources = (("expert_vs_target", target_rollouts), ("expert_vs_failure_agent", aux_rollouts))
    for kind, rollouts in sources:
        for traj in rollouts:
            if not is_failure(traj) or (traj.task.env, traj.task.id) in solved:
                continue
            expert = expert_for(experts, traj)
            pair = expert_vs_failure(kind, expert, traj, s) if expert is not None else None
            if pair is not None:
                pairs.append(pair)
    return pairs
