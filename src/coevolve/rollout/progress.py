"""Progress that tells the truth: the run's current stage and total elapsed time, episode rate and ETA.

`set_stage` is called by the pipeline when a stage starts; the rollout progress bar then shows
`[stage i/n name · run h:mm:ss]`, the bar, episodes per minute and the time left at that rate.
Training stages show the trainer's own bar (steps, it/s and time left) under the pipeline's stage line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.progress import ProgressColumn, Task
from rich.text import Text


@dataclass
class StageClock:
    name: str = ""
    index: int = 0
    total: int = 0
    run_started: float | None = None  # time.monotonic() when the run (this invocation) started

    def elapsed(self) -> float:
        return 0.0 if self.run_started is None else time.monotonic() - self.run_started

    def label(self) -> str:
        if not self.name:
            return ""
        return f"[{self.index}/{self.total} {self.name} · run {clock_text(self.elapsed())}]"


CURRENT = StageClock()


def set_stage(name: str, index: int, total: int, run_started: float) -> None:
    CURRENT.name, CURRENT.index, CURRENT.total, CURRENT.run_started = name, index, total, run_started


def clear_stage() -> None:
    CURRENT.name, CURRENT.run_started = "", None


def clock_text(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def episode_rate(task: Task) -> float | None:
    """Episodes per second finished in this run (resumed episodes, field `resumed`, do not count)."""
    elapsed = task.finished_time if task.finished else task.elapsed
    done = task.completed - task.fields.get("resumed", 0)
    if not elapsed or done <= 0:
        return None
    return done / elapsed


def eta_seconds(task: Task) -> float | None:
    rate = episode_rate(task)
    if rate is None or task.total is None:
        return None
    return max(0.0, task.total - task.completed) / rate


class RateColumn(ProgressColumn):
    """Episodes per minute since this run started (rich's own estimate uses a short window and explodes
    when a batch of episodes finishes at the same moment, which batched rollout does all the time)."""

    def render(self, task: Task) -> Text:
        rate = episode_rate(task)
        if rate is None:
            return Text("-- ep/min", style="progress.data.speed")
        return Text(f"{rate * 60:.1f} ep/min", style="progress.data.speed")


class EtaColumn(ProgressColumn):
    """Time left at the rate of `RateColumn`."""

    def render(self, task: Task) -> Text:
        if task.finished:
            return Text("done", style="progress.remaining")
        eta = eta_seconds(task)
        return Text("eta --:--" if eta is None else f"eta {clock_text(eta)}", style="progress.remaining")


class StageColumn(ProgressColumn):
    """The pipeline stage this progress bar belongs to, and the run's total elapsed time."""

    def render(self, task: Task) -> Text:
        return Text(CURRENT.label(), style="dim")
