"""The cheap baselines of the paper's v5 table in the same pipeline: RFT and Best-of-N, and cost figures.

RFT (rejection-sampling fine-tuning; Yuan et al. 2023, as a baseline in ETO's Table 2 and the paper's
v5 tables). Each iteration k the target of iteration k-1 samples `rft.samples_per_task` episodes per
training task at `rft.temperature`; episodes scoring >= `rft.success_threshold` (1.0: success; partial-credit
benchmarks' expert files use e.g. 0.7 as their cut) are kept, and the target is fine-tuned (SFT, the config's `sft`
settings) on the experts + every success kept so far (iterations 1..k). Our reading of the papers,
which give no more detail: each iteration fine-tunes the SFT model (`rft.init: sft`) on the growing set,
so iteration k's model differs from iteration k-1's only by the successes it gained; `rft.init: base`
(the base model, as Yuan et al.) and `previous` (iteration k-1's model) are the other readings.
`rft.distinct` keeps a success only if its assistant turns differ from the task's expert and from the
successes already kept (Yuan et al. keep distinct reasoning paths); `rft.max_per_task` caps them. An
iteration without a new success trains nothing and keeps the previous model.

Best-of-N (`eval_select: best`, method `best-of-n`): the SFT model samples `best_of_n.samples`
episodes per test task at `best_of_n.temperature`; the reported reward is each task's best episode by
the environment's reward, i.e. the reward is used as an oracle (as ETO's and the paper's Best-of-N do);
the mean of the N samples is reported alongside (evaluation/summary.py).

Both are registered recipes (pipeline/recipes.py): `rft` runs the stage kinds rft_explore, rft_data and
train_rft in each iteration; `best-of-n` is a preset (no iterations, `eval_select: best`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from coevolve.data.records import Message, Trajectory
from coevolve.pipeline.recipes import register_method, register_stage

if TYPE_CHECKING:
    from pathlib import Path

    from coevolve.pipeline.config import RFTConfig
    from coevolve.pipeline.runner import Pipeline

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ RFT


def rft_sampling(target: Any, rft: RFTConfig) -> Any:
    """RFT's exploration: the target's top_p and token cap, RFT's sample count and temperature."""
    return dataclasses.replace(target, temperature=rft.temperature, samples_per_task=rft.samples_per_task)


def is_kept_success(traj: Trajectory, threshold: float) -> bool:
    """A scored episode (no error, finite reward) with reward >= threshold."""
    return traj.end_reason != "error" and math.isfinite(traj.reward) and traj.reward >= threshold


def assistant_turns(traj: Trajectory) -> tuple[str, ...]:
    """What the agent wrote, turn by turn (whitespace-trimmed): two episodes with the same turns are one."""
    return tuple(m.content.strip() for m in traj.messages if m.role == "assistant")


def trim_to_last_turn(traj: Trajectory) -> Trajectory:
    """The episode up to its last assistant turn: a final observation is never trained on."""
    messages = list(traj.messages)
    while messages and messages[-1].role != "assistant":
        messages.pop()
    return dataclasses.replace(traj, messages=[Message(m.role, m.content) for m in messages])


def select_successes(
    rollouts: Iterable[Trajectory],
    spec: RFTConfig,
    seen: dict[str, set[tuple[str, ...]]],
    counts: dict[str, int],
) -> list[Trajectory]:
    """This iteration's new successes, in rollout order. `seen` (task id -> assistant-turn tuples of the
    expert and of successes kept before) and `counts` (task id -> successes kept before) are updated."""
    kept = []
    for traj in rollouts:
        task = traj.task.id
        if not is_kept_success(traj, spec.success_threshold) or not assistant_turns(traj):
            continue
        if spec.max_per_task is not None and counts.get(task, 0) >= spec.max_per_task:
            continue
        turns = assistant_turns(traj)
        if spec.distinct and turns in seen.setdefault(task, set()):
            continue
        seen.setdefault(task, set()).add(turns)
        counts[task] = counts.get(task, 0) + 1
        kept.append(trim_to_last_turn(traj))
    return kept


def seen_before(experts: Iterable[Trajectory], earlier: Iterable[Trajectory]):
    """(`seen`, `counts`) for `select_successes` from the experts and the successes kept earlier."""
    seen: dict[str, set[tuple[str, ...]]] = {}
    counts: dict[str, int] = {}
    for traj in experts:
        seen.setdefault(traj.task.id, set()).add(assistant_turns(traj))
    for traj in earlier:
        seen.setdefault(traj.task.id, set()).add(assistant_turns(traj))
        counts[traj.task.id] = counts.get(traj.task.id, 0) + 1
    return seen, counts


def rft_stats(
    rollouts: list[Trajectory], new: list[Trajectory], total: int, experts: int, spec: RFTConfig
) -> dict[str, Any]:
    """What one iteration's RFT data stage did, per env (written to iter{k}/rft/stats.json): rollouts,
    those at or above the threshold, the new successes kept (after `distinct`/`max_per_task`), the own
    successes kept in iterations 1..k and the training set size (experts + those)."""
    return {
        "rollouts": len(rollouts),
        "successes": sum(is_kept_success(t, spec.success_threshold) for t in rollouts),
        "new_successes": len(new),
        "new_tasks": len({t.task.id for t in new}),
        "own_successes_total": total,
        "experts": experts,
        "train_set": experts + total,
    }


# ------------------------------------------------------------------ cost figures


def trained_tokens(done: dict[str, Any]) -> int:
    """Non-padding input tokens a training stage processed (all epochs), from its training_done.json
    log history (`num_input_tokens_seen`; DPO counts both sides); 0 when the trainer did not log it."""
    seen = [e.get("num_input_tokens_seen", 0) for e in done.get("log_history", []) if isinstance(e, dict)]
    return int(max(seen, default=0) or 0)


# ------------------------------------------------------------------ RFT stages and the two recipes


def rft_file(pipe: Pipeline, k: int, name: str = "") -> Path:
    """RUN/iter{k}/rft/: successes.jsonl (new this iteration), train.jsonl (ETO SFT format), stats.json."""
    return pipe.layout.iteration(k) / "rft" / name


def rft_successes(pipe: Pipeline, k: int) -> list[Trajectory]:
    from coevolve.data.jsonl import trajectory_file

    path = rft_file(pipe, k, "successes.jsonl")
    if not path.exists():
        raise FileNotFoundError(f"{path}: RFT successes missing; rerun with --redo-from iter{k}/rft_data")
    return trajectory_file(path).read()


@register_stage("rft_explore", outputs=lambda pipe, k: [pipe.layout.rollouts_dir(k)])
def rft_explore(pipe: Pipeline, k: int) -> dict[str, Any]:
    """Iteration k-1's target samples `rft.samples_per_task` episodes per training task."""
    sampling = rft_sampling(pipe.config.target_sampling, pipe.config.rft)
    model = pipe.checkpoint("target", k - 1)
    return pipe._rollout("target", model, k, sampling, lambda env: pipe.layout.rollouts(k, env, "target"))


@register_stage("rft_data", outputs=lambda pipe, k: [rft_file(pipe, k)])
def rft_data(pipe: Pipeline, k: int) -> dict[str, Any]:
    """This iteration's new successes and the training set experts + all successes of iterations 1..k."""
    from coevolve.data.formats import trajectory_to_eto
    from coevolve.data.jsonl import JsonlWriter, write_json_atomic

    earlier = [t for j in range(1, k) for t in rft_successes(pipe, j)]
    experts = [t for spec in pipe.config.envs for t in pipe.experts(spec.name).values()]
    new, stats = [], {}
    for spec in pipe.config.envs:
        rollouts = pipe.rollouts(k, spec.name, "target")
        own = pipe.experts(spec.name)
        mine = [t for t in earlier if t.task.env == spec.name]
        seen, counts = seen_before(own.values(), mine)
        kept = select_successes(rollouts, pipe.config.rft, seen, counts)
        stats[spec.name] = rft_stats(rollouts, kept, len(mine) + len(kept), len(own), pipe.config.rft)
        new += kept
    for name in ("successes.jsonl", "train.jsonl"):  # a pure function of the rollouts: rebuilt whole
        rft_file(pipe, k, name).unlink(missing_ok=True)
    with JsonlWriter(rft_file(pipe, k, "successes.jsonl")) as writer:
        writer.write_all(new)
    with JsonlWriter(rft_file(pipe, k, "train.jsonl")) as writer:
        writer.write_all(trajectory_to_eto(t) for t in [*experts, *earlier, *new])
    write_json_atomic(rft_file(pipe, k, "stats.json"), stats)
    return {"new_successes": len(new), "train_set": len(experts) + len(earlier) + len(new)}


def rft_start(pipe: Pipeline, k: int) -> str:
    """The model iteration k fine-tunes (`rft.init`): the SFT model, the base model or iteration k-1's."""
    init = pipe.config.rft.init
    if init == "base":
        return pipe.config.base_model
    return pipe.checkpoint("target", 0 if init == "sft" else k - 1)


def _train_outputs(pipe: Pipeline, k: int) -> list[Path]:
    return [pipe.layout.checkpoint(k, "target"), pipe.layout.logs(f"iter{k}", "target")]


@register_stage("train_rft", outputs=_train_outputs)
def train_rft(pipe: Pipeline, k: int) -> dict[str, Any]:
    """SFT (the config's `sft` settings) of `rft_start` on iter{k}/rft/train.jsonl; an iteration without
    a new success trains nothing (its set is the previous one's) and the target keeps its model."""
    from coevolve.data.formats import load_eto_sft
    from coevolve.training import SFTSettings, apply_overrides, train_sft

    if not rft_successes(pipe, k):
        log.warning("iteration %d: no new success for RFT; the target keeps its previous model", k)
        return {"examples": 0, "trained": False}
    data, out, start = (
        rft_file(pipe, k, "train.jsonl"),
        pipe.layout.checkpoint(k, "target"),
        rft_start(pipe, k),
    )
    overrides = {"seed": pipe.config.seed, "logging_dir": str(pipe.layout.logs(f"iter{k}", "target")),
                 **pipe.config.sft.overrides()}  # fmt: skip
    trajs = load_eto_sft(data, "rft")
    log.info("iteration %d: RFT, SFT of %s on %d trajectories (%s)", k, start, len(trajs), data)
    if pipe.config.launcher.kind == "accelerate":
        pipe._launch(["sft", "--model", start, "--data", str(data)], out, overrides)
    else:
        train_sft(start, trajs, out, apply_overrides(SFTSettings(), overrides))
    return {"examples": len(trajs), "trained": True, "trained_tokens": pipe._trained_tokens(out)}


RFT_PRESET = {"aux_agent": "none", "target_pairs": "eto", "target_preset": "eto"}
register_method(
    "rft",
    preset=RFT_PRESET,
    forced={"aux_agent": "none"},
    iteration=lambda config: ["rft_explore", "rft_data", "train_rft"],
    help="rejection-sampling fine-tuning: SFT on experts + the target's own successes, K iterations",
)
register_method(
    "best-of-n",
    preset={**RFT_PRESET, "iterations": 0},
    forced={"iterations": 0, "aux_agent": "none", "eval_select": "best"},
    help="the SFT model, N samples per test task, best by environment reward (an oracle) and mean of N",
)
