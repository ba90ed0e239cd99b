"""Which data an environment will use, said in one line before anything runs (`coevolve demo`).

Mirrors the choices the environments make themselves (prompts.choose_prompt_set,
intercode_sql.tasks.choose_task_set, webshop.env.load_data's "auto"), without starting a simulator, a
database connection or a catalogue build. The labels are the ones written into every summary.json
(`data`, `prompts`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coevolve.data.resources import find_local
from coevolve.envs.prompts import EMBEDDED, choose_prompt_set

WEBSHOP_FULL_FILES = (
    "webshop/items_shuffle.json",
    "webshop/items_ins_v2.json",
    "webshop/items_human_ins.json",
)
WEBSHOP_ATTRS = "webshop/items_ins_v2_1000.json"


def _tasks(env: str, kwargs: dict[str, Any], data_dir: str | Path | None) -> tuple[str, str]:
    """(summary `data` label, human description) of an env's tasks."""
    if env == "sciworld":
        return "official", "ETO's ScienceWorld splits on the scienceworld simulator"
    if env == "intercode_sql":
        from coevolve.envs.intercode_sql.tasks import DATA_LABELS, DEV_TASKS, choose_task_set

        chosen = choose_task_set(kwargs.get("task_set", "auto"), data_dir)
        if chosen == "spider_dev":
            return DATA_LABELS[chosen], f"InterCode's Spider dev tasks ({DEV_TASKS})"
        return DATA_LABELS[chosen], "the intercode-bench wheel's 23 questions, not the benchmark split"
    if env == "webshop":
        kind = kwargs.get("catalogue", "auto")
        if kind == "auto":
            kind = "full" if all(find_local(n, data_dir) for n in WEBSHOP_FULL_FILES) else "generated"
        if kind != "generated":
            return "official", f"the official WebShop catalogue ({kind})"
        records = "real attribute records" if find_local(WEBSHOP_ATTRS, data_dir) else "embedded attributes"
        return "generated", f"a generated WebShop catalogue on {records}, not WebShop scores"
    return "official", "its own tasks"


def describe(env: str, env_kwargs: dict[str, Any] | None = None, data_dir: str | Path | None = None) -> str:
    """E.g. "webshop: data=generated (a generated WebShop catalogue ...), prompts=embedded (...)"."""
    kwargs = dict(env_kwargs or {})
    label, tasks = _tasks(env, kwargs, data_dir)
    prompts = choose_prompt_set(env, kwargs.get("prompt_set", EMBEDDED), data_dir)
    how = "coevolve's own, no download" if prompts == EMBEDDED else f"{prompts.upper()}'s files"
    return f"{env}: data={label} ({tasks}), prompts={prompts} ({how})"
