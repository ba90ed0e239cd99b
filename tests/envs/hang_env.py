"""A test environment whose steps can hang, raise, or leave a child process behind (a stand-in JVM).

Actions: `hang` sleeps far past any deadline, `boom` raises a non-EnvError exception (as a decode error
inside a database driver would), anything else answers at once. Every instance starts a `sleep` child
at reset, like ScienceWorld starts a JVM, and writes its pid to `pid_dir` when one is given.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from coevolve.data.records import Task
from coevolve.envs.base import Env, StepResult
from coevolve.envs.prompts import PromptTemplate
from coevolve.envs.registry import register_env


@register_env("hang")
class HangEnv(Env):
    splits = ("test",)
    step_timeout = 1.5
    reset_timeout = 10.0

    def __init__(self, data_dir: str | None = None, pid_dir: str | None = None) -> None:
        super().__init__(data_dir)
        self.pid_dir = pid_dir
        self.child: subprocess.Popen | None = None

    def tasks(self, split: str) -> list[Task]:
        return [Task("hang", split, str(k)) for k in range(4)]

    def prompt(self) -> PromptTemplate:
        return PromptTemplate("Say something.", [])

    def parse_action(self, output: str) -> str | None:
        return output

    def _reset(self, task: Task) -> str:
        if self.child is None:
            self.child = subprocess.Popen(["sleep", "600"])
            if self.pid_dir:
                Path(self.pid_dir, f"{os.getpid()}-{self.child.pid}").write_text("")
        if task.id == "stuck":
            time.sleep(3600)
        return f"Task {task.id}."

    def _step(self, action: str) -> StepResult:
        if action == "hang":
            time.sleep(3600)
        if action == "boom":
            b"\xe9".decode("utf-8")
        return StepResult(f"Observation: {action} ok", 0.5, self.num_steps + 1 >= 3)

    def close(self) -> None:
        if self.child is not None:
            self.child.kill()
            self.child.wait()
            self.child = None
