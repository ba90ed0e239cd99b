"""Environments by name. Modules register their class with `@register_env`; importing is lazy so a
command that needs one environment does not start the others' dependencies (Java, MySQL drivers)."""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
from typing import Any

from coevolve.envs.base import Env, UnknownName
from coevolve.registry import Registry

# name -> module that defines and registers it (the env class and its `Benchmark` description); the
# order is the results table's column order. Adding a benchmark: its module under envs/ and one line here.
ENV_MODULES: dict[str, str] = {
    "webshop": "coevolve.envs.webshop",
    "sciworld": "coevolve.envs.sciworld",
    "intercode_sql": "coevolve.envs.intercode_sql",
}


log = logging.getLogger(__name__)


def import_env_modules() -> None:
    """Import every benchmark module: each registers its env, its description and its data resources
    (`data.resources.CATALOGUE_PROVIDERS` calls this). A module whose optional dependency is missing
    is skipped (its resources are then unknown, as its env is)."""
    for module in ENV_MODULES.values():
        try:
            importlib.import_module(module)
        except ImportError as exc:
            log.debug("%s not imported: %s", module, exc)


def _set_name(name: str, cls: type[Env]) -> None:
    cls.name = name


ENVS: Registry[type[Env]] = Registry("environment", lazy=ENV_MODULES, on_register=_set_name)


def register_env(name: str):
    return ENVS.register(name)


def env_names() -> list[str]:
    return ENVS.names()


def get_env_class(name: str) -> type[Env]:
    return ENVS.get(name)


def make_env(name: str, **kwargs: Any) -> Env:
    cls = get_env_class(name)
    check_kwargs(cls, kwargs)
    return cls(**kwargs)


def check_kwargs(cls: type[Env], kwargs: dict[str, Any]) -> None:
    """Refuse an unknown keyword (a typo in `env_kwargs`) naming it, the closest valid one and all."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    valid = [n for n, p in params.items() if n != "self" and p.kind is not inspect.Parameter.VAR_POSITIONAL]
    for key in kwargs:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UnknownName(f"{cls.name}: unknown env_kwargs key {key!r}{hint}; valid: {', '.join(valid)}")
