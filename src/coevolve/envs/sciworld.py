"""ScienceWorld through the PyPI `scienceworld` package, with ETO's wrapper conventions.

ETO (`eval_agent/envs/sciworld_env.py`): `load(task, variation, simplificationStr="easy")`, envStepLimit
200, episode reward = the highest raw score (`server.getScore()`, in [-1, 1]) seen so far, so a fatal
action (-1) after progress keeps the progress; done on the simulator's completion flag (which includes
a negative score); per-task step caps from `max_steps.json`; observations "Observation: " + text. ETO's
rollout shows `info['taskDesc']` as the first task turn, *with* its "Task Description:\\n" header, while
ETO's expert files and in-context example drop it; `keep_task_header` picks (default: as ETO rollouts).

One instance = one JVM (started lazily on the first reset, heap capped); the pool runs one per episode.

Determinism: the simulator's objects override `equals` but not `hashCode`, so its hash sets iterate in
JVM identity-hash order, and HotSpot's default identity hash is a per-thread pseudo-random sequence.
Which object a set yields first (e.g. whether a circuit powers a buzzer in the tick of the last
`connect` or one `wait` later, or which gold path the generator picks) thus depended on everything
hashed earlier in that JVM. (Gold paths had a second history dependence, see `gold_actions`.)
Every `load` re-seeds the simulator's RNG and UUID counter, so the JVM flag
`-XX:hashCode=2` (one constant identity hash: sets iterate in insertion order) makes an episode depend
only on (task, actions), with no measurable cost per step.
"""

from __future__ import annotations

import json
import logging
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from coevolve.data.records import RecordError, Task
from coevolve.data.resources import resolve
from coevolve.envs.base import Env, EnvError, ExpertStep, StepResult
from coevolve.envs.benchmark import Benchmark, Column, register_benchmark
from coevolve.envs.prompts import EMBEDDED, PromptTemplate, choose_prompt_set, load_prompts
from coevolve.envs.registry import register_env
from coevolve.envs.sciworld_resources import RESOURCES

log = logging.getLogger(__name__)
# py4j logs every failed call of a dead JVM with a traceback; we raise EnvError for it instead.
logging.getLogger("py4j").setLevel(logging.CRITICAL)
logging.getLogger("scienceworld").setLevel(logging.WARNING)  # it logs every load() at INFO

# ETO's split lists, step caps and task ids are lists of numbers and names that ship with the package
# (sciworld_resources.py, data/upstream/), so these splits are ETO's even offline.
SPLIT_FILES = {
    "train": "eto/sciworld/train_indices.json",
    "seen": "eto/sciworld/dev_indices.json",  # ETO's dev split
    "unseen": "eto/sciworld/test_indices.json",  # ETO's test split
}
ENV_STEP_LIMIT = 200  # ETO's ScienceWorldEnv(envStepLimit=200)
SIMPLIFICATION = "easy"
TASK_HEADER = "Task Description:\n"
INVALID_ACTION = "Observation: Invalid action!"  # ETO's text when the simulator raises AssertionError
JVM_HEAP = "-Xmx512m"  # default heap is 1/4 of RAM; 512 MB costs nothing in speed (protocol.md §2)
DETERMINISTIC_HASH = ("-XX:+UnlockExperimentalVMOptions", "-XX:hashCode=2")  # see the module docstring
# Gold-path steps that change nothing in "easy" mode (doors and containers start open).
NO_OP_OBSERVATIONS = re.compile(r"^The .* is already open\.$")


def _load_json(name: str, data_dir: str | Path | None) -> Any:
    path = resolve(name, data_dir)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc


@cache
def _split_tasks(split: str, data_dir: str | None) -> tuple[Task, ...]:
    ids = _load_json("eto/sciworld/taskname2id.json", data_dir)
    caps = _load_json("eto/sciworld/max_steps.json", data_dir)
    path = resolve(SPLIT_FILES[split], data_dir)
    items = _load_json(SPLIT_FILES[split], data_dir)
    if not isinstance(items, list):
        raise RecordError(f"{path}: expected a list of [task_name, variation] pairs")
    tasks = []
    for i, item in enumerate(items):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], int)):
            raise RecordError(f"{path}: item {i}: expected [task_name, variation], got {item!r}")
        name, variation = item
        if name not in ids or name not in caps:
            raise RecordError(f"{path}: item {i}: task {name!r} is not in taskname2id.json/max_steps.json")
        meta = {"task_name": name, "variation": variation, "max_steps": int(caps[name])}
        tasks.append(Task("sciworld", split, f"{ids[name]}_{variation}", meta=meta))
    return tuple(tasks)


@register_env("sciworld")
class SciWorldEnv(Env):
    splits = ("train", "seen", "unseen")

    def __init__(
        self,
        data_dir: str | None = None,
        keep_task_header: bool = True,
        jvm_heap: str | None = JVM_HEAP,
        prompt_set: str = EMBEDDED,
    ) -> None:
        super().__init__(data_dir)
        self.prompt_set = choose_prompt_set("sciworld", prompt_set, data_dir)
        self.keep_task_header = keep_task_header
        self.jvm_heap = jvm_heap
        self._sim: Any = None  # scienceworld.ScienceWorldEnv, started on first use
        self.max_raw_score: float | None = None

    # ------------------------------------------------------------ simulator process

    @property
    def sim(self) -> Any:
        if self._sim is None:
            self._sim = self._start()
        return self._sim

    def _start(self) -> Any:
        from scienceworld import ScienceWorldEnv

        saved = os.environ.get("JAVA_TOOL_OPTIONS")
        options = [saved or ""]
        if self.jvm_heap and "-Xmx" not in (saved or ""):
            options.append(self.jvm_heap)
        if "-XX:hashCode" not in (saved or ""):
            options += DETERMINISTIC_HASH
        os.environ["JAVA_TOOL_OPTIONS"] = " ".join(options).strip()
        try:
            return ScienceWorldEnv("", envStepLimit=ENV_STEP_LIMIT)
        finally:  # only the JVM we launch gets the option, not other children of this process
            if saved is None:
                os.environ.pop("JAVA_TOOL_OPTIONS", None)
            else:
                os.environ["JAVA_TOOL_OPTIONS"] = saved

    @property
    def _jvm(self) -> Any:
        return self.sim._gateway.jvm

    @property
    def java_pid(self) -> int | None:
        return self._sim._gateway.java_process.pid if self._sim is not None else None

    def close(self) -> None:
        if self._sim is None:
            return
        sim, self._sim = self._sim, None
        proc = sim._gateway.java_process
        try:
            if proc.poll() is None:
                sim.close()
            else:  # a dead JVM: only stop the callback server (shutdown() would retry connecting)
                sim._gateway.shutdown_callback_server()
        except Exception:  # noqa: BLE001 - best effort; the process is killed below
            pass
        sim.close = lambda: None  # its __del__ would try again and log connection errors
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    def _call(self, fn: Any, *args: Any) -> Any:
        """A simulator call; a lost JVM becomes EnvError so the pool can restart and replay."""
        from py4j.protocol import Py4JError

        try:
            return fn(*args)
        except Py4JError as exc:
            self.close()
            raise EnvError(f"sciworld: simulator failed ({type(exc).__name__}: {exc})") from exc

    # ------------------------------------------------------------ Env API

    def tasks(self, split: str) -> list[Task]:
        data_dir = None if self.data_dir is None else str(self.data_dir)
        return list(_split_tasks(self.check_split(split), data_dir))

    def max_steps(self, task: Task) -> int:
        return int(task.meta["max_steps"])

    def prompt(self) -> PromptTemplate:
        return load_prompts("sciworld", self.prompt_set, 1, self.data_dir)

    def _load(self, task: Task, gold: bool) -> str:
        """Load `task` and make ETO's first move; returns the task description.

        `sim.reset()` is not used: it loads the task a second time, and after any gold-path load in
        this JVM it would also regenerate the gold path (the simulator keeps that flag).
        """
        sim = self.sim
        meta = task.meta
        self._call(sim.load, meta["task_name"], meta["variation"], SIMPLIFICATION, gold)
        self._call(sim.server.step, "look around")
        return str(self._call(sim.taskdescription))

    def _reset(self, task: Task) -> str:
        self.max_raw_score = None
        description = self._load(task, gold=False)
        if not self.keep_task_header and description.startswith(TASK_HEADER):
            description = description[len(TASK_HEADER) :]
        return description

    @classmethod
    def task_turn_key(cls, text: str) -> str:
        """Without the "Task Description:\\n" header: gold-path experts and rollouts keep it, ETO's
        expert files drop it (ETO strips it from rollouts when it builds pairs)."""
        text = text.strip()
        return text[len(TASK_HEADER) :].strip() if text.startswith(TASK_HEADER) else text

    def _step(self, action: str) -> StepResult:
        # The server directly, not `sim.step`: that also computes look/inventory/valid actions for
        # its info dict, which we never use and which make a step ~6x slower.
        server = self.sim.server
        try:
            observation = self._call(server.step, action)
        except AssertionError:
            return StepResult(INVALID_ACTION, self.last_reward, False)
        raw = float(self._call(server.getScore))
        score = int(round(100 * raw))  # as sim.step: the score in 0-100, done on a negative one
        done = bool(self._call(server.getCompleted)) or score < 0
        done = done or int(self._call(server.getNumMoves)) > ENV_STEP_LIMIT
        if self.max_raw_score is None or raw > self.max_raw_score:
            self.max_raw_score = raw
        reward = min(max(self.max_raw_score, 0.0), 1.0)
        return StepResult(f"Observation: {observation}", reward, done, info={"score": score})

    # ------------------------------------------------------------ expert

    def is_noop(self, result: StepResult) -> bool:
        """Gold-path steps such as `open door to X` on a door that "easy" mode already opened."""
        return bool(NO_OP_OBSERVATIONS.match(result.observation.removeprefix("Observation: ").strip()))

    def gold_actions(self, task: Task) -> list[str]:
        """The simulator's gold path, no-ops included (generated experts drop them, see `is_noop`).

        Uses this instance's simulator: a running episode ends here (step() then needs a reset()).
        The gold agent caches its room-search route per start room in a JVM-wide map, built from the
        first house it saw; it is cleared so the path does not depend on earlier tasks in this JVM.
        """
        self.task, self.max_raw_score = None, None
        self._call(lambda: self._jvm.scienceworld.goldagent.PathFinder.precomputedExhaustivePaths().clear())
        self._load(task, gold=True)
        gold = list(self._call(self.sim.get_gold_action_sequence))
        if gold and gold[0].startswith("ERROR"):
            raise EnvError(f"sciworld: no gold path for task {task.id}: {gold[0]}")
        return gold

    def expert(self, task: Task) -> list[ExpertStep]:
        return [ExpertStep(thought_for(action), action) for action in self.gold_actions(task)]


# ---------------------------------------------------------------- expert thoughts

_THOUGHTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^look around$"), "I should look around to see what is here."),
    (re.compile(r"^(?:go|teleport) to (.+)$"), "I should go to the {0}."),
    (re.compile(r"^open door to (.+)$"), "I should open the door to the {0}."),
    (re.compile(r"^open (.+)$"), "I should open the {0}."),
    (re.compile(r"^close (.+)$"), "I should close the {0}."),
    (re.compile(r"^pick up (.+)$"), "I should pick up the {0}."),
    (re.compile(r"^focus on (.+)$"), "The {0} is the object of the task, so I should focus on it."),
    (re.compile(r"^move (.+) to (.+)$"), "I should move the {0} to the {1}."),
    (re.compile(r"^pour (.+) (?:in|into) (.+)$"), "I should pour the {0} into the {1}."),
    (re.compile(r"^mix (.+)$"), "I should mix the {0}."),
    (re.compile(r"^activate (.+)$"), "I should turn on the {0}."),
    (re.compile(r"^deactivate (.+)$"), "I should turn off the {0}."),
    (re.compile(r"^connect (.+) to (.+)$"), "I should connect the {0} to the {1}."),
    (re.compile(r"^disconnect (.+)$"), "I should disconnect the {0}."),
    (re.compile(r"^use (.+) on (.+)$"), "I should use the {0} on the {1}."),
    (re.compile(r"^use (.+)$"), "I should use the {0}."),
    (re.compile(r"^examine (.+)$"), "I should examine the {0} to check its state."),
    (re.compile(r"^look at (.+)$"), "I should look at what is in the {0}."),
    (re.compile(r"^read (.+)$"), "I should read the {0}."),
    (re.compile(r"^wait1?$"), "I should wait for things to change."),
    (re.compile(r"^\d+$"), "Several objects match; I should choose option {a}."),
]


def thought_for(action: str) -> str:
    """A short factual thought that restates what the action does (gold paths have no thoughts)."""
    for pattern, template in _THOUGHTS:
        match = pattern.match(action)
        if match:
            return template.format(*match.groups(), a=action)
    return f"I should {action}."


# ------------------------------------------------------------------ benchmark description

# Short task types (10-20 step caps, >= 100 gold experts each) that a 135M model can learn (the demo).
SHORT_TASK_TYPES = [
    "task-3-find-living-thing",
    "task-3-find-non-living-thing",
    "task-3-find-plant",
]


def _benchmark_tasks(split: str, data_dir: str | Path | None, kwargs: dict[str, Any]) -> list[Task]:
    return list(_split_tasks(split, None if data_dir is None else str(data_dir)))


def _benchmark_prompt(data_dir: str | Path | None, kwargs: dict[str, Any]) -> PromptTemplate:
    return load_prompts("sciworld", kwargs.get("prompt_set", EMBEDDED), 1, data_dir)


def _benchmark_data(kwargs: dict[str, Any], data_dir: str | Path | None) -> tuple[str, str]:
    return "official", "ETO's ScienceWorld splits on the scienceworld simulator"


BENCHMARK = register_benchmark(
    Benchmark(
        name="sciworld",
        display_name="ScienceWorld",
        columns=(Column("SciW seen", "seen"), Column("SciW unseen", "unseen")),
        results_table=True,
        metric="average final score (the episode's highest simulator score, 0-1) x100",
        expert_reward_one=True,  # ETO counts every ScienceWorld expert as successful
        data=_benchmark_data,
        task_list=_benchmark_tasks,
        prompt_loader=_benchmark_prompt,
        resources=RESOURCES,
        # the demo: the three `find` task types, 40 gold experts each, all 30 seen + 30 unseen variations
        demo={
            # `coevolve demo` without --env. Measured SFT: 73.1 unseen on 120 experts (issue 13), 48.9 on 60 (README)
            "default": True,
            "env": {
                "name": "sciworld",
                "train_per_type": 40,
                # explore 8 of each type's 40 per iteration (24 episodes per agent, as the CPU study): 10 took
                # the fresh-clone demo to 45.3 min with set-up, over its 45-minute budget (README)
                "explore_per_type": 8,
                "eval_splits": ["seen", "unseen"],
                "task_filter": {"task_name": SHORT_TASK_TYPES},
            },
            "quick": {"train_per_type": 2, "eval_limit": 3},
            "max_new_tokens": 64,
            "max_length": 2048,
        },
    )
)
