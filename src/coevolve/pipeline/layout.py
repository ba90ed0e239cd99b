"""Every path of a run directory, in one place: the runner writes through it; the report, the viewer,
compare and the demo read through it.

    RUN/
      config.yaml  manifest.json  costs.json  run.lock  [report/]
      experts/{env}.jsonl
      checkpoints/sft/   checkpoints/iter{k}/{agent}/   (each with training_done.json when finished)
      iter{k}/rollouts/{env}/{agent}.jsonl   iter{k}/rollouts_new/{env}/{agent}.jsonl
      iter{k}/pairs/{which}.jsonl   iter{k}/pairs/stats.json
      eval/iter{k}/{env}_{split}/{summary.json,episodes.jsonl}
      logs/sft/   logs/iter{k}/{agent}/   logs/pipeline/
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from coevolve.pipeline.lock import LOCK_FILE

_ITER = re.compile(r"iter(\d+)$")
SUMMARY = "summary.json"  # an evaluation folder's summary (evaluation/summary.py)
EPISODES = "episodes.jsonl"  # an evaluation folder's episodes
TRAINING_DONE = "training_done.json"  # a finished training stage's marker in its checkpoint folder


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run directory `root` (nothing is created or read by building one)."""

    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root))

    # ------------------------------------------------------------------ side files

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def costs(self) -> Path:
        return self.root / "costs.json"

    @property
    def lock(self) -> Path:
        return self.root / LOCK_FILE

    def looks_like_run(self) -> bool:
        """The folder holds a run's config or manifest (what a run writes first)."""
        return self.config.is_file() or self.manifest.is_file()

    def report_dir(self) -> Path:
        """Where `coevolve report RUN` writes when given one run and no --out."""
        return self.root / "report"

    # ------------------------------------------------------------------ experts and checkpoints

    @property
    def experts_dir(self) -> Path:
        return self.root / "experts"

    def experts(self, env: str) -> Path:
        return self.experts_dir / f"{env}.jsonl"

    def expert_files(self) -> list[Path]:
        """The existing experts/{env}.jsonl files, sorted."""
        return sorted(self.experts_dir.glob("*.jsonl"))

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def sft_checkpoint(self) -> Path:
        return self.checkpoints_dir / "sft"

    def iteration_checkpoints(self, k: int) -> Path:
        return self.checkpoints_dir / f"iter{k}"

    def checkpoint(self, k: int, agent: str) -> Path:
        """Where iteration k's training of `agent` writes its model (k >= 1; k = 0 is `sft_checkpoint`)."""
        return self.iteration_checkpoints(k) / agent

    def agent_checkpoints(self) -> list[Path]:
        """The existing checkpoints/iter{k}/{agent} folders, sorted by path."""
        return sorted(p for p in self.checkpoints_dir.glob("iter*/*") if p.is_dir())

    def training_done_files(self) -> list[Path]:
        """The `training_done.json` markers of every finished training stage (sft and per iteration)."""
        return sorted(self.checkpoints_dir.glob(f"**/{TRAINING_DONE}"))

    # ------------------------------------------------------------------ iterations

    def iteration(self, k: int) -> Path:
        return self.root / f"iter{k}"

    def rollouts_dir(self, k: int, fresh: bool = False) -> Path:
        """Iteration k's rollouts; `fresh`: the second agent's re-sampled ones (update_order failure_first)."""
        return self.iteration(k) / ("rollouts_new" if fresh else "rollouts")

    def rollouts(self, k: int, env: str, agent: str, fresh: bool = False) -> Path:
        return self.rollouts_dir(k, fresh) / env / f"{agent}.jsonl"

    def rollout_files(self, k: int, fresh: bool = False) -> list[Path]:
        """Iteration k's existing rollouts/{env}/{agent}.jsonl files (env: `parent.name`, agent: `stem`)."""
        return sorted(self.rollouts_dir(k, fresh).glob("*/*.jsonl"))

    def pairs_dir(self, k: int) -> Path:
        return self.iteration(k) / "pairs"

    def pairs(self, k: int, which: str) -> Path:
        return self.pairs_dir(k) / f"{which}.jsonl"

    def pair_stats(self, k: int) -> Path:
        return self.pairs_dir(k) / "stats.json"

    def pair_files(self, k: int) -> list[Path]:
        """Iteration k's existing pairs/{which}.jsonl files (`stem`: the pair set)."""
        return sorted(self.pairs_dir(k).glob("*.jsonl"))

    def iterations(self) -> list[tuple[int, Path]]:
        """The existing RUN/iter{k} folders, by k."""
        return iter_dirs(self.root)

    # ------------------------------------------------------------------ evaluation and logs

    @property
    def eval_root(self) -> Path:
        return self.root / "eval"

    def eval_iteration(self, k: int) -> Path:
        return self.eval_root / f"iter{k}"

    def eval_dir(self, k: int, env: str, split: str) -> Path:
        return self.eval_iteration(k) / f"{env}_{split}"

    def eval_summary(self, k: int, env: str, split: str) -> Path:
        return self.eval_dir(k, env, split) / SUMMARY

    def eval_episodes(self, k: int, env: str, split: str) -> Path:
        return self.eval_dir(k, env, split) / EPISODES

    def evaluations(self) -> list[tuple[int, Path]]:
        """The existing RUN/eval/iter{k} folders, by k."""
        return iter_dirs(self.eval_root)

    def summary_files(self) -> list[tuple[int, Path]]:
        """(k, RUN/eval/iter{k}/{env}_{split}/summary.json) of every existing evaluation, by k then path."""
        return [(k, f) for k, folder in self.evaluations() for f in summaries_in(folder)]

    def episode_files(self) -> list[tuple[int, Path]]:
        """(k, RUN/eval/iter{k}/{env}_{split}/episodes.jsonl) of every existing evaluation."""
        return [(k, f) for k, folder in self.evaluations() for f in sorted(folder.glob(f"*/{EPISODES}"))]

    def logs(self, *parts: str) -> Path:
        """TensorBoard event files: logs/sft, logs/iter{k}/{agent} (training), logs/pipeline (per iteration)."""
        return self.root.joinpath("logs", *parts)


def summaries_in(folder: Path) -> list[Path]:
    """The {env}_{split}/summary.json files of one RUN/eval/iter{k} folder, sorted."""
    return sorted(folder.glob(f"*/{SUMMARY}"))


def iter_dirs(folder: Path) -> list[tuple[int, Path]]:
    """Sub-folders named iter{k} of `folder`, sorted by k (none when `folder` does not exist)."""
    if not folder.is_dir():
        return []
    return sorted((int(m.group(1)), p) for p in folder.iterdir() if p.is_dir() and (m := _ITER.match(p.name)))
