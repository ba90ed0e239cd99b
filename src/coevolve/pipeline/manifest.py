"""The run manifest: which stages finished, when, how long they took, under which config.

Written atomically after every change, so a kill at any point leaves either the old or the new
manifest. A stage left `running` by a crash is simply run again; the stage itself resumes from its
own files (episodes already in the JSONL, the last training checkpoint).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coevolve.data.jsonl import write_json_atomic


class ConfigChanged(ValueError):
    """The config differs from the one the finished stages ran with."""


@dataclass
class StageRecord:
    status: str = "pending"  # pending | running | done
    started: float | None = None
    finished: float | None = None
    seconds: float = 0.0  # summed over attempts, so resumed stages report their full cost
    attempts: int = 0
    outputs: dict[str, Any] | None = None


class Manifest:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fingerprint: dict[str, Any] = {}
        self.stages: dict[str, StageRecord] = {}
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            self.fingerprint = data.get("fingerprint", {})
            self.stages = {name: StageRecord(**rec) for name, rec in data.get("stages", {}).items()}

    def save(self) -> None:
        data = {
            "fingerprint": self.fingerprint,
            "stages": {name: rec.__dict__ for name, rec in self.stages.items()},
        }
        write_json_atomic(self.path, data)

    def done(self, stage: str) -> bool:
        return stage in self.stages and self.stages[stage].status == "done"

    def finished_stages(self) -> list[str]:
        return [name for name, rec in self.stages.items() if rec.status == "done"]

    def check_config(self, fingerprint: dict[str, Any], accept_changes: bool = False) -> list[str]:
        """Refuse a changed config when stages already finished under the old one."""
        changed = sorted(
            key
            for key in set(self.fingerprint) | set(fingerprint)
            if self.fingerprint.get(key) != fingerprint.get(key)
        )
        if changed and self.fingerprint and self.finished_stages() and not accept_changes:
            details = "\n".join(
                f"  {key}: {self.fingerprint.get(key)!r} -> {fingerprint.get(key)!r}" for key in changed[:20]
            )
            raise ConfigChanged(
                f"{self.path.parent}: the config changed since stages {self.finished_stages()} finished:\n"
                f"{details}\nRerun with the original config, use --redo-from STAGE to recompute from a stage under "
                "the new config, or --accept-config-change to keep the finished stages as they are."
            )
        self.fingerprint = fingerprint
        self.save()
        return changed

    def start(self, stage: str) -> float:
        rec = self.stages.setdefault(stage, StageRecord())
        rec.status, rec.started, rec.attempts = "running", time.time(), rec.attempts + 1
        self.save()
        return time.monotonic()

    def finish(self, stage: str, t0: float, outputs: dict[str, Any] | None = None) -> None:
        rec = self.stages[stage]
        rec.status, rec.finished = "done", time.time()
        rec.seconds += time.monotonic() - t0
        rec.outputs = outputs
        self.save()

    def interrupt(self, stage: str, t0: float) -> None:
        """Keep the time spent by an attempt that did not finish."""
        rec = self.stages[stage]
        rec.seconds += time.monotonic() - t0
        self.save()

    def reset_from(self, order: list[str], stage: str) -> list[str]:
        """Mark `stage` and every later stage pending; return them."""
        if stage not in order:
            raise ValueError(f"unknown stage {stage!r}; stages of this run: {', '.join(order)}")
        redo = order[order.index(stage) :]
        for name in redo:
            if name in self.stages:
                self.stages[name].status = "pending"
        self.save()
        return redo
