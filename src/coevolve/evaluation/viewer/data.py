"""What the viewer shows, as plain JSON-able data: episode index rows and payloads, pair groups, run overview.

Pure functions over `coevolve.data.records` plus the readers of a run directory, whose paths come from
`coevolve.pipeline.layout.RunLayout`: the experts (ETO format), each iteration's rollouts (and re-sampled
rollouts) and pairs, each evaluation's episodes and summary, the manifest, costs, config and the
training stages' training_done.json.

Reward bands are the paper's (method.md §8): success r = 1, hard negative 0.6 <= r < 1, failure r < 0.6;
episodes the environment could not score are `unscored`.
"""

from __future__ import annotations

import json
import logging
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coevolve.data.formats import load_eto_sft
from coevolve.data.jsonl import pair_file, trajectory_file
from coevolve.data.records import PreferencePair, Trajectory
from coevolve.evaluation.analysis import agent_stats
from coevolve.evaluation.report import _load_config, load_costs, report_columns
from coevolve.evaluation.summary import mean_ci
from coevolve.pairs import HARD_NEGATIVE_MIN, has_reward, is_hard_negative
from coevolve.pipeline.layout import EPISODES, RunLayout

log = logging.getLogger(__name__)

AGENT_ORDER = {"expert": 0, "failure": 1, "positive": 1, "target": 2}
# Index row fields (one array per episode keeps the index small for thousands of episodes).
INDEX_FIELDS = ("id", "env", "split", "iter", "agent", "source", "task", "sample", "reward", "band", "steps",
                "end", "chunk")  # fmt: skip


def band(reward: float, end_reason: str) -> str:
    if end_reason == "error" or not math.isfinite(reward):
        return "unscored"
    if reward >= 1.0:
        return "success"
    return "hard_negative" if reward >= HARD_NEGATIVE_MIN else "failure"


def bootstrap_ci(values: list[float], resamples: int = 2000, level: float = 0.95, seed: int = 0):
    """Percentile bootstrap CI of the mean (`summary.mean_ci`, as the summaries and the report), (low, high);
    None for fewer than two values."""
    if len(values) < 2:
        return None
    return mean_ci(values, level, resamples, seed)


# ------------------------------------------------------------------ episodes


@dataclass
class EpisodeSource:
    source: str  # expert | rollout | rollout_new | eval
    iteration: int | None
    trajectories: list[Trajectory]


def expert_split(config: dict[str, Any], env: str) -> str:
    for spec in config.get("envs") or []:
        if isinstance(spec, dict) and spec.get("name") == env:
            return str(spec.get("train_split", "train"))
    return "train"


def episode_sources(run: Path, config: dict[str, Any]) -> list[EpisodeSource]:
    """Every episode file of a run, in a stable order (experts, then per iteration rollouts, then eval)."""
    out, layout = [], RunLayout(run)
    for file in layout.expert_files():
        out.append(
            EpisodeSource("expert", None, load_eto_sft(file, file.stem, expert_split(config, file.stem)))
        )
    for k, _ in layout.iterations():
        for fresh, source in ((False, "rollout"), (True, "rollout_new")):
            for file in layout.rollout_files(k, fresh):
                out.append(EpisodeSource(source, k, trajectory_file(file).read()))
    for k, file in layout.episode_files():
        out.append(EpisodeSource("eval", k, trajectory_file(file).read()))
    return out


def index_row(eid: int, traj: Trajectory, source: str, iteration: int | None, chunk: int) -> list[Any]:
    it = traj.iteration if traj.iteration is not None else iteration
    reward = traj.reward if math.isfinite(traj.reward) else None
    return [eid, traj.task.env, traj.task.split, it, traj.agent, source, traj.task.id, traj.sample_index,
            reward, band(traj.reward, traj.end_reason), traj.num_steps or _assistant_turns(traj.messages),
            traj.end_reason, chunk]  # fmt: skip


def _assistant_turns(messages) -> int:
    return sum(m.role == "assistant" for m in messages)


def episode_payload(traj: Trajectory, source: str) -> dict[str, Any]:
    """What the episode page shows: the chat, and per step the action, reward, done flag and env info."""
    return {
        "task": {"env": traj.task.env, "split": traj.task.split, "id": traj.task.id},
        "agent": traj.agent,
        "source": source,
        "model": traj.model,
        "reward": traj.reward if math.isfinite(traj.reward) else None,
        "end": traj.end_reason,
        "sample": traj.sample_index,
        "iteration": traj.iteration,
        "sampling": traj.sampling,
        "tokens": [traj.prompt_tokens, traj.completion_tokens],
        "instruction": traj.instruction,
        "messages": [[m.role, m.content] for m in traj.messages],
        "steps": [
            {"action": s.action, "reward": s.reward, "done": s.done, "info": _plain(s.info)}
            for s in traj.steps
        ],
    }


def _plain(value: Any) -> Any:
    """JSON-safe copy (NaN/inf as None)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def build_episodes(sources: list[EpisodeSource], chunk_size: int):
    """(index rows, chunks of payloads); episode `id` is its position, chunk = id // chunk_size."""
    rows, chunks = [], []
    eid = 0
    for src in sources:
        for traj in src.trajectories:
            chunk = eid // chunk_size
            if chunk == len(chunks):
                chunks.append([])
            rows.append(index_row(eid, traj, src.source, src.iteration, chunk))
            chunks[chunk].append(episode_payload(traj, src.source))
            eid += 1
    return rows, chunks


# ------------------------------------------------------------------ pairs


@dataclass
class PairGroup:
    """All pairs of one (iteration, env, task): the distinct trajectories they use, and the pairs."""

    iteration: int
    env: str
    task: str
    columns: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)

    def column(
        self, agent: str, sample: int, reward: float, messages, side: tuple[PreferencePair, str]
    ) -> int:
        for i, col in enumerate(self.columns):
            if col["agent"] == agent and col["sample"] == sample:
                return i
        self.columns.append({"agent": agent, "sample": sample, "reward": reward, "side": side})
        return len(self.columns) - 1


def _side_agent(pair: PreferencePair, side: str) -> tuple[str, int]:
    meta = pair.meta
    return str(meta.get(f"{side}_agent", side)), int(meta.get(f"{side}_sample", 0))


def pair_groups(pairs_by_set: dict[tuple[int, str], list[PreferencePair]]) -> list[PairGroup]:
    """Group pairs by (iteration, env, task); columns ordered expert, failure agent, target, others."""
    groups: dict[tuple[int, str, str], PairGroup] = {}
    for (k, which), pairs in sorted(pairs_by_set.items(), key=lambda kv: (kv[0][0], kv[0][1] != "target")):
        for pair in pairs:
            task = str(pair.meta.get("task_id", pair.id))
            group = groups.setdefault((k, pair.env, task), PairGroup(k, pair.env, task))
            idx = {}
            for side in ("chosen", "rejected"):
                agent, sample = _side_agent(pair, side)
                reward = pair.chosen_reward if side == "chosen" else pair.rejected_reward
                idx[side] = group.column(agent, sample, reward, getattr(pair, side), (pair, side))
            group.pairs.append(
                {"id": pair.id, "set": which, "kind": pair.kind, "chosen": idx["chosen"], "rejected": idx["rejected"],
                 "chosen_reward": pair.chosen_reward, "rejected_reward": pair.rejected_reward,
                 "sft_weight": pair.sft_weight, "reversed": bool(pair.meta.get("reversed")),
                 "truncated": bool(pair.meta.get("truncated"))}
            )  # fmt: skip
    for group in groups.values():
        order = sorted(range(len(group.columns)), key=lambda i: _column_key(group.columns[i]))
        remap = {old: new for new, old in enumerate(order)}
        group.columns = [group.columns[i] for i in order]
        for p in group.pairs:
            p["chosen"], p["rejected"] = remap[p["chosen"]], remap[p["rejected"]]
    return [groups[key] for key in sorted(groups, key=lambda key: (key[0], key[1], _task_key(key[2])))]


def _column_key(col: dict[str, Any]) -> tuple:
    return (AGENT_ORDER.get(col["agent"], 3), col["agent"], col["sample"])


def _task_key(task: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", task))


def load_pairs(run: Path) -> dict[tuple[int, str], list[PreferencePair]]:
    out, layout = {}, RunLayout(run)
    for k, _ in layout.iterations():
        for file in layout.pair_files(k):
            out[(k, file.stem)] = pair_file(file).read()
    return out


# ------------------------------------------------------------------ overview


def _summaries(run: Path) -> dict[int, dict[str, dict[str, Any]]]:
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for k, file in RunLayout(run).summary_files():
        summary = json.loads(file.read_text())
        ci = summary.get("avg_reward_ci") or _episodes_ci(file.with_name(EPISODES))
        out.setdefault(k, {})[file.parent.name] = {
            "avg_reward": summary.get("avg_reward"),
            "ci": list(ci) if ci else None,
            "episodes": summary.get("episodes"),
            "success_rate": summary.get("success_rate"),
            "data": summary.get("data", "official"),
        }
    return out


def _episodes_ci(episodes: Path) -> tuple[float, float] | None:
    """The CI from the episodes, for summaries written before they carried `avg_reward_ci`."""
    rewards = [t.reward for t in trajectory_file(episodes).read()] if episodes.exists() else []
    return bootstrap_ci([100.0 * r for r in rewards if math.isfinite(r)])


def results(evals: dict[int, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """The last evaluated iteration's value (x100) and 95 % bootstrap CI per column of the paper's table."""
    if not evals:
        return {"iteration": None, "columns": {}}
    last = max(evals)
    cols, columns = {}, report_columns()
    for name, env, split in columns:
        cell = evals[last].get(f"{env}_{split}")
        if cell:
            cols[name] = cell
    for key, cell in evals[last].items():  # environments outside the paper's table (e.g. test envs)
        if not any(key == f"{env}_{split}" for _, env, split in columns):
            cols[key] = cell
    return {"iteration": last, "columns": cols}


def rollout_curves(sources: list[EpisodeSource]) -> list[dict[str, Any]]:
    """Per iteration, env and agent of the exploration rollouts: success rate and reward-band shares."""
    grouped: dict[tuple[int, str, str], list[Trajectory]] = {}
    for src in sources:
        if src.source != "rollout" or src.iteration is None:
            continue
        for t in src.trajectories:
            grouped.setdefault((src.iteration, t.task.env, t.agent), []).append(t)
    out = []
    for (k, env, agent), trajs in sorted(grouped.items()):
        st = agent_stats(k, env, agent, trajs)
        scored = [t.reward for t in trajs if has_reward(t)]
        out.append({"iter": k, "env": env, "agent": agent, "episodes": st.episodes, "success": st.success_rate,
                    "hard_negative": st.hard_negative_share, "failure": st.failure_share,
                    "mean_reward": statistics.fmean(scored) if scored else None,
                    "distinct": st.diversity.distinct_share})  # fmt: skip
    return out


def pair_counts(pairs: dict[tuple[int, str], list[PreferencePair]]) -> list[dict[str, Any]]:
    out = []
    for (k, which), items in sorted(pairs.items()):
        kinds: dict[str, int] = {}
        for p in items:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        hard = sum(is_hard_negative(p.rejected_reward) for p in items)
        out.append({"iter": k, "set": which, "pairs": len(items), "kinds": kinds,
                    "hard_negative": hard / len(items) if items else None})  # fmt: skip
    return out


def training_logs(run: Path) -> list[dict[str, Any]]:
    """Loss per logged step of every finished training stage (from its training_done.json)."""
    out, layout = [], RunLayout(run)
    for done in layout.training_done_files():
        try:
            info = json.loads(done.read_text())
        except json.JSONDecodeError:
            continue
        history = [
            {k: v for k, v in e.items() if isinstance(v, (int, float))} for e in info.get("log_history", [])
        ]
        out.append({"stage": done.parent.relative_to(layout.checkpoints_dir).as_posix(),
                    "algorithm": info.get("algorithm"), "steps": info.get("global_step"), "history": history})  # fmt: skip
    return out


def manifest_status(run: Path) -> list[dict[str, Any]]:
    path = RunLayout(run).manifest
    if not path.exists():
        return []
    stages = json.loads(path.read_text()).get("stages", {})
    return [{"stage": name, "status": rec.get("status"), "attempts": rec.get("attempts"),
             "seconds": rec.get("seconds"), "outputs": _plain(rec.get("outputs"))} for name, rec in stages.items()]  # fmt: skip


def overview(run: Path, config: dict[str, Any], sources: list[EpisodeSource], pairs) -> dict[str, Any]:
    evals = _summaries(run)
    return {
        "method": str(config.get("method", run.name)),
        "path": str(run),
        "config": {
            k: _plain(config.get(k)) for k in ("method", "base_model", "iterations", "seed") if k in config
        },
        "results": results(evals),
        "evals": {str(k): v for k, v in sorted(evals.items())},
        "rollouts": rollout_curves(sources),
        "pairs": pair_counts(pairs),
        "costs": _plain(load_costs(RunLayout(run).costs)),
        "manifest": manifest_status(run),
        "training": training_logs(run),
    }


def is_run_dir(path: Path) -> bool:
    layout = RunLayout(path)
    markers = (layout.config, layout.manifest, layout.eval_root, layout.experts_dir, layout.costs)
    return path.is_dir() and any(p.exists() for p in markers) or bool(layout.iterations())


def load_config(run: Path) -> dict[str, Any]:
    return _load_config(run)
