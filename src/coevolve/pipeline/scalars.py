"""Per-iteration scalars of a run, written as TensorBoard events to RUN/logs/pipeline (step = iteration).

After each stage the pipeline logs what that stage produced, read back from its files:

- `iter{k}/explore` (and `reexplore_aux`): per env and agent, the mean reward, success rate, failure and
  hard-negative shares (0.6 <= r < 1, of scored episodes) and the distinct-failure share; the failure
  agent's success rate is `rollout/{env}/failure/success_rate` (its collapse check);
- `iter{k}/{aux,target}_pairs`: pair count, hard-negative share of rejects, mean reward gap, count per kind;
- `eval/iter{k}`: the average reward x100 and success rate per (env, split).

Training stages write their own event files (TrainSettings.logging_dir: logs/sft, logs/iter{k}/{agent}).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from coevolve.data.jsonl import trajectory_file
from coevolve.evaluation.analysis import agent_stats
from coevolve.pipeline.layout import RunLayout, summaries_in

log = logging.getLogger(__name__)

_STAGE = re.compile(r"^(?:iter(\d+)/(explore|reexplore_aux|aux_pairs|target_pairs)|eval/iter(\d+))$")


def rollout_scalars(folder: Path, k: int, prefix: str = "rollout") -> dict[str, float]:
    """Scalars of every `{env}/{agent}.jsonl` under `folder` (an iteration's rollouts)."""
    out: dict[str, float] = {}
    for file in sorted(folder.glob("*/*.jsonl")):
        env, agent = file.parent.name, file.stem
        trajs = trajectory_file(file).read()
        if not trajs:
            continue
        stats = agent_stats(k, env, agent, trajs)
        values = {
            "mean_reward": sum(t.reward for t in trajs) / len(trajs),
            "success_rate": stats.success_rate,
            "failure_share": stats.failure_share,
            "hard_negative_share": stats.hard_negative_share,
            "distinct_failure_share": stats.diversity.distinct_share,
            "episodes": float(len(trajs)),
        }
        out.update({f"{prefix}/{env}/{agent}/{n}": float(v) for n, v in values.items() if v is not None})
    return out


def pair_scalars(stats_path: Path, which: str) -> dict[str, float]:
    """Scalars of one pair set from RUN/iter{k}/pairs/stats.json (written by the pairs stage)."""
    if not stats_path.exists():
        return {}
    stats = json.loads(stats_path.read_text()).get(which)
    if not stats:
        return {}
    out = {f"pairs/{which}/count": float(stats["pairs"]), f"pairs/{which}/tasks": float(stats["tasks"])}
    if stats.get("hard_negative_share") is not None:
        out[f"pairs/{which}/hard_negative_share"] = float(stats["hard_negative_share"])
    if (stats.get("reward_gap") or {}).get("mean") is not None:
        out[f"pairs/{which}/reward_gap_mean"] = float(stats["reward_gap"]["mean"])
    for kind, n in (stats.get("by_kind") or {}).items():
        out[f"pairs/{which}/kind/{kind}"] = float(n)
    return out


def eval_scalars(folder: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for file in summaries_in(folder):
        summary = json.loads(file.read_text())
        out[f"eval/{file.parent.name}/avg_reward"] = float(summary["avg_reward"])
        if "success_rate" in summary:
            out[f"eval/{file.parent.name}/success_rate"] = float(summary["success_rate"])
    return out


def stage_scalars(run_dir: Path, stage: str) -> tuple[int, dict[str, float]] | None:
    """(iteration, scalars) a finished stage contributes, or None for stages without any."""
    match = _STAGE.match(stage)
    if not match:
        return None
    layout = RunLayout(run_dir)
    if match.group(3) is not None:
        k = int(match.group(3))
        return k, eval_scalars(layout.eval_iteration(k))
    k, what = int(match.group(1)), match.group(2)
    if what == "explore":
        return k, rollout_scalars(layout.rollouts_dir(k), k)
    if what == "reexplore_aux":
        return k, rollout_scalars(layout.rollouts_dir(k, fresh=True), k, prefix="rollout_new")
    which = "aux" if what == "aux_pairs" else "target"
    return k, pair_scalars(layout.pair_stats(k), which)


def write_scalars(log_dir: Path, step: int, scalars: dict[str, float]) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(log_dir))
    try:
        for tag, value in sorted(scalars.items()):
            writer.add_scalar(tag, value, step)
    finally:
        writer.close()


def log_stage_scalars(run_dir: Path, stage: str) -> dict[str, float]:
    """Write a finished stage's scalars to RUN/logs/pipeline; a failure here only warns (never stops a run)."""
    try:
        found = stage_scalars(run_dir, stage)
        if found and found[1]:
            write_scalars(RunLayout(run_dir).logs("pipeline"), *found)
            return found[1]
    except Exception as exc:  # noqa: BLE001 - logging must not end a long run
        log.warning("stage %s: could not log scalars (%s)", stage, exc)
    return {}
