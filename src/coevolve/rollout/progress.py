"""A rich progress column for episode throughput."""

from __future__ import annotations

from rich.progress import ProgressColumn, Task
from rich.text import Text


class RateColumn(ProgressColumn):
    """Episodes per minute finished in this run (resumed episodes, field `resumed`, do not count).

    rich's own speed estimate uses a short window and explodes when a batch of episodes finishes at the
    same moment, which batched rollout does all the time.
    """

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        done = task.completed - task.fields.get("resumed", 0)
        if not elapsed or done <= 0:
            return Text("-- ep/min", style="progress.data.speed")
        return Text(f"{done / elapsed * 60:.1f} ep/min", style="progress.data.speed")
