"""Progress columns: episode rate and ETA exclude resumed episodes; the stage label names stage and run time."""

from __future__ import annotations

import time

from rich.progress import Progress

from coevolve.rollout import progress as pg


def _task(total: int, completed: int, resumed: int, elapsed: float):
    prog = Progress()
    tid = prog.add_task("x", total=total, completed=completed, resumed=resumed)
    task = prog.tasks[tid]
    task.start_time = task.get_time() - elapsed
    return task


def test_rate_and_eta_count_only_episodes_of_this_run():
    task = _task(total=100, completed=40, resumed=20, elapsed=60.0)  # 20 new episodes in a minute
    assert abs(pg.episode_rate(task) - 20 / 60) < 1e-3
    assert abs(pg.eta_seconds(task) - 60 / (20 / 60)) < 1.0  # 60 left at 20/min: 3 minutes
    assert str(pg.EtaColumn().render(task)).startswith("eta 0:03:0")
    assert pg.eta_seconds(_task(total=10, completed=5, resumed=5, elapsed=9.0)) is None  # nothing new yet


def test_stage_label_shows_stage_and_run_elapsed():
    pg.set_stage("iter1/explore", 4, 12, time.monotonic() - 3725)
    try:
        assert pg.CURRENT.label() == "[4/12 iter1/explore · run 1:02:05]"
    finally:
        pg.clear_stage()
    assert pg.CURRENT.label() == ""
