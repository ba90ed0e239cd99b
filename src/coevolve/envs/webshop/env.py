"""The WebShop environment with ETO's wrapper behaviour, and the oracle expert.

Data (`catalogue`):
- "full": official items_shuffle.json (1.18M products) + items_ins_v2.json + items_human_ins.json; task ids
  are positions in the shuffled human-goal list, so ETO's train/test index files apply.
- "small": the official 1,000-product preview (items_shuffle_1000.json + items_ins_v2_1000.json +
  items_human_ins.json); few human goals survive, split as for generated data.
- "generated": a labelled synthetic catalogue (see generate.py), on the real attribute records of
  items_ins_v2_1000.json when that file is local, else on the project's own stand-in records (offline).
- "auto" (default): "full" when its files are found locally, else "generated" (nothing is downloaded).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress
from thefuzz import fuzz

from coevolve.data.records import Task
from coevolve.data.resources import cache_root, find_local, resolve
from coevolve.envs.base import Env, ExpertStep, StepResult
from coevolve.envs.benchmark import Benchmark, Column, register_benchmark
from coevolve.envs.prompts import EMBEDDED, PromptTemplate, choose_prompt_set, load_prompts
from coevolve.envs.registry import register_env
from coevolve.envs.webshop import generate
from coevolve.envs.webshop.catalogue import Catalogue, iter_json_array, source_key
from coevolve.envs.webshop.engine import BUY, PER_PAGE, Engine
from coevolve.envs.webshop.goals import human_goals
from coevolve.envs.webshop.resources import RESOURCES
from coevolve.envs.webshop.reward import load_tagger

OBS_PREFIX = "Observation:\n"
INVALID_ACTION = "Observation: Invalid action!"
FULL_FILES = ("webshop/items_shuffle.json", "webshop/items_ins_v2.json", "webshop/items_human_ins.json")
SMALL_FILES = (
    "webshop/items_shuffle_1000.json",
    "webshop/items_ins_v2_1000.json",
    "webshop/items_human_ins.json",
)
ATTRS_1000 = "webshop/items_ins_v2_1000.json"


@dataclass
class WebShopData:
    label: str  # "official" | "generated"
    kind: str  # "full" | "small" | "generated"
    catalogue: Catalogue
    goals: list[dict[str, Any]]


_LOADED: dict[tuple, WebShopData] = {}
_LOCK = threading.Lock()


def _build(directory: Path, raw, attributes: dict, label: str, total: int | None) -> Catalogue:
    if (directory / "meta.json").is_file():
        return Catalogue(directory)
    with Progress(transient=True) as progress:
        bar = progress.add_task(f"indexing WebShop products ({label})", total=total)
        return Catalogue.build(raw, attributes, directory, label, lambda n: progress.update(bar, completed=n))


def load_data(
    kind: str = "auto", data_dir: str | None = None, num_products: int | None = None
) -> WebShopData:
    """Catalogue + goals, built once per cache folder and shared by every env in the process."""
    if kind == "auto":
        kind = "full" if all(find_local(n, data_dir) for n in FULL_FILES) else "generated"
    if kind not in ("full", "small", "generated"):
        raise ValueError(f"unknown WebShop catalogue {kind!r}; valid: auto, full, small, generated")
    key = (kind, data_dir, num_products)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _load(kind, data_dir, num_products)
        return _LOADED[key]


def _load(kind: str, data_dir: str | None, num_products: int | None) -> WebShopData:
    root = cache_root() / "webshop"
    if kind == "generated":
        n = num_products or generate.DEFAULT_PRODUCTS
        records_path = find_local(ATTRS_1000, data_dir)  # never downloaded: offline stand-ins instead
        if records_path is not None:
            records = list(json.loads(records_path.read_text()).values())
            directory = root / f"generated-{n}-{source_key([records_path], f'gen{n}')}"
        else:
            records = generate.embedded_records()
            directory = root / f"generated-{n}-{source_key([], f'gen{n}-embedded-records')}"
        attributes: dict[str, Any] = {}

        def raw():
            for product, attrs in generate.iter_generated(records, n):
                attributes[product["asin"]] = {"attributes": attrs}
                yield product

        catalogue = _build(directory, raw(), attributes, "generated", n)
        return WebShopData("generated", kind, catalogue, generate.generated_goals(catalogue, records))
    names = FULL_FILES if kind == "full" else SMALL_FILES
    products_path, attrs_path, human_path = (resolve(n, data_dir) for n in names)
    directory = root / f"{kind}-{source_key([products_path, attrs_path])}"
    if not (directory / "meta.json").is_file():
        attributes = json.loads(attrs_path.read_text())
        _build(directory, iter_json_array(products_path), attributes, "official", None)
    catalogue = Catalogue(directory)
    human = json.loads(human_path.read_text())
    return WebShopData("official", kind, catalogue, human_goals(catalogue, human))


def split_ids(data: WebShopData, split: str, data_dir: str | None) -> list[int]:
    """Goal ids of a split: ETO's index lists on the full catalogue, else the first 200 goals for test."""
    n = len(data.goals)
    if data.kind == "full":
        ids = json.loads(resolve(f"eto/webshop/{split}_indices.json", data_dir).read_text())
        bad = [i for i in ids if not 0 <= int(i) < n]
        if bad:
            raise ValueError(f"eto/webshop/{split}_indices.json: ids {bad[:5]} outside the {n} goals")
        return [int(i) for i in ids]
    test = min(generate.TEST_GOALS, n // 2)
    return list(range(test)) if split == "test" else list(range(test, n))


def goal_task(data: WebShopData, split: str, goal_id: int) -> Task:
    goal = data.goals[goal_id]
    meta = {"catalogue": data.label, "asin": goal["asin"], "price_upper": goal["price_upper"]}
    return Task("webshop", split, str(goal_id), goal["instruction_text"], meta)


def split_tasks(data: WebShopData, split: str, data_dir: str | None) -> list[Task]:
    return [goal_task(data, split, i) for i in split_ids(data, split, data_dir)]


@register_env("webshop")
class WebShopEnv(Env):
    splits = ("train", "test")

    def __init__(
        self,
        data_dir: str | None = None,
        catalogue: str = "auto",
        num_products: int | None = None,
        tagger: str | None = None,
        pyserini_index: str | None = None,
        prompt_set: str = EMBEDDED,
    ) -> None:
        super().__init__(data_dir)
        self.prompt_set = choose_prompt_set("webshop", prompt_set, data_dir)
        self.data = load_data(catalogue, data_dir, num_products)
        if pyserini_index:  # e.g. ETO's prebuilt `search_engine/indexes` for the full catalogue
            self.data.catalogue.use_pyserini(Path(pyserini_index))
        self.data_label = self.data.label
        self.engine = Engine(self.data.catalogue, load_tagger(tagger))
        self._tasks: dict[str, list[Task]] = {}

    # ------------------------------------------------------------------ tasks

    def tasks(self, split: str) -> list[Task]:
        self.check_split(split)
        if split not in self._tasks:
            self._tasks[split] = split_tasks(self.data, split, self.data_dir)
        return self._tasks[split]

    def _task(self, split: str, goal_id: int) -> Task:
        return goal_task(self.data, split, goal_id)

    def get_task(self, split: str, task_id: str) -> Task:
        # ETO's train list repeats an id; any goal id is valid for any split's lookup by id.
        if str(task_id).isdigit() and int(task_id) < len(self.data.goals):
            return self._task(self.check_split(split), int(task_id))
        return super().get_task(split, task_id)

    def goal(self, task: Task) -> dict[str, Any]:
        return self.data.goals[int(task.id)]

    # ------------------------------------------------------------------ episode

    def prompt(self) -> PromptTemplate:
        return load_prompts("webshop", self.prompt_set, 1, self.data_dir)

    def _reset(self, task: Task) -> str:
        # ETO's wrapper shows the raw start page as the task turn (`cur_task = env.observation`), as its
        # expert file does; only its in-context example writes an "Observation:\n" prefix there.
        return self.engine.reset(self.goal(task))

    def _step(self, action: str) -> StepResult:
        info: dict[str, Any] = {"catalogue": self.data_label}
        try:
            text, reward, done = self.engine.step(action)
        except AssertionError:  # ETO's wrapper turns an engine assertion into this text
            return StepResult(INVALID_ACTION, 0.0, False, info=info)
        if done:
            session = self.engine.session
            assert session is not None
            info["reward_breakdown"] = session.breakdown
            info["purchased"] = {"asin": session.asin, "options": dict(session.options)}
        return StepResult(OBS_PREFIX + text, reward, done, info=info)

    def act(self, output: str) -> StepResult:
        result = super().act(output)
        result.info.setdefault("catalogue", self.data_label)
        return result

    @classmethod
    def task_turn_key(cls, text: str) -> str:
        """Without the "Observation:\\n" prefix that runs before the ETO-wrapper fix wrote on the page."""
        text = text.strip()
        return text[len(OBS_PREFIX) :].strip() if text.startswith(OBS_PREFIX) else text

    @classmethod
    def task_turn_difference(cls, first_turn: str, expert_turn: str) -> str | None:
        """Also "price_cap" when only the cap text differs: upstream WebShop samples caps before seeding, so
        the caps in ETO's expert file need not be the ones our seeded goals draw (protocol.md §1)."""
        reason = super().task_turn_difference(first_turn, expert_turn)
        mine, theirs = cls.task_turn_key(first_turn), cls.task_turn_key(expert_turn)
        if reason and _without_cap(mine) == _without_cap(theirs):
            return "price_cap"
        return reason

    def reward_at_step_cap(self, last: StepResult) -> float:
        # ETO zeroes the reward at the cap, but a purchase on the last step still counts.
        return last.reward if last.done else 0.0

    # ------------------------------------------------------------------ expert

    def expert(self, task: Task) -> list[ExpertStep]:
        """Oracle: search, page to the goal product, pick the goal options, buy."""
        goal = self.goal(task)
        asin = goal["asin"]
        catalogue = self.data.catalogue
        query, rank = None, None
        base = goal["instruction_text"].split(", and price lower than")[0]
        for candidate in (base, goal["name"], f"{goal['name']} {base}"):
            hits = [str(catalogue.asins[p]) for p in catalogue.search(candidate)]
            if asin in hits:
                query, rank = candidate.lower(), hits.index(asin)
                break
        if query is None or rank is None:
            raise ValueError(f"webshop expert: goal product {asin} not in the top 50 for task {task.id}")
        steps = [
            ExpertStep("I should search for the product described in the instruction.", f"search[{query}]")
        ]
        for page in range(1, rank // PER_PAGE + 1):
            steps.append(
                ExpertStep(
                    f"The product I need is not on page {page}; I should go to the next page.",
                    "click[Next >]",
                )
            )
        steps.append(ExpertStep(f"{asin} matches what I am looking for; I should open it.", f"click[{asin}]"))
        product = catalogue.get(asin)
        assert product is not None
        for wanted in goal["goal_options"]:
            value = _best_option(product["options"], wanted)
            if value is not None:
                steps.append(
                    ExpertStep(f"I should select the option '{value}' as required.", f"click[{value}]")
                )
        steps.append(
            ExpertStep("The product and options match the instruction; I should buy it.", "click[Buy Now]")
        )
        return steps


_CAP_TEXT = re.compile(r", and price lower than \d+(?:\.\d+)? dollars")


def _without_cap(text: str) -> str:
    return _CAP_TEXT.sub("", text)


def _best_option(options: dict[str, list[str]], wanted: str) -> str | None:
    values = [v for vs in options.values() for v in vs]
    if not values:
        return None
    if wanted.lower() in values:
        return wanted.lower()
    best = max(values, key=lambda v: fuzz.token_set_ratio(v, wanted.lower()))
    return best if fuzz.token_set_ratio(best, wanted.lower()) > 85 else None


# ------------------------------------------------------------------ benchmark description


def _benchmark_tasks(split: str, data_dir: str | Path | None, kwargs: dict[str, Any]) -> list[Task]:
    data_dir = None if data_dir is None else str(data_dir)
    data = load_data(kwargs.get("catalogue", "auto"), data_dir, kwargs.get("num_products"))
    return split_tasks(data, split, data_dir)


def _benchmark_prompt(data_dir: str | Path | None, kwargs: dict[str, Any]) -> PromptTemplate:
    return load_prompts("webshop", kwargs.get("prompt_set", EMBEDDED), 1, data_dir)


def _benchmark_data(kwargs: dict[str, Any], data_dir: str | Path | None) -> tuple[str, str]:
    """Which catalogue `load_data` will pick, said without building it."""
    kind = kwargs.get("catalogue", "auto")
    if kind == "auto":
        kind = "full" if all(find_local(n, data_dir) for n in FULL_FILES) else "generated"
    if kind != "generated":
        return "official", f"the official WebShop catalogue ({kind})"
    records = "real attribute records" if find_local(ATTRS_1000, data_dir) else "embedded attributes"
    return "generated", f"a generated WebShop catalogue on {records}, not WebShop scores"


BENCHMARK = register_benchmark(
    Benchmark(
        name="webshop",
        display_name="WebShop",
        columns=(Column("WebShop", "test"),),
        results_table=True,
        metric="average final reward (attribute/option/price match of the bought product, 0-1) x100",
        min_expert_reward=0.7,  # the paper keeps WebShop experts with reward > 0.7
        data=_benchmark_data,
        task_list=_benchmark_tasks,
        prompt_loader=_benchmark_prompt,
        resources=RESOURCES,
        demo={
            "env": {
                "name": "webshop",
                "train_limit": 100,
                "explore_limit": 30,
                "eval_splits": ["test"],
                "eval_limit": 30,
            },
            "quick": {"train_limit": 4, "eval_limit": 3},
            "max_new_tokens": 96,
            "max_length": 3072,
        },
    )
)

__all__ = ["BENCHMARK", "BUY", "WebShopEnv", "load_data"]
