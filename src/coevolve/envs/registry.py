"""Environments by name. Modules register their class with `@register_env`; importing is lazy so a
command that needs one environment does not start the others' dependencies (Java, MySQL drivers)."""

from __future__ import annotations

import importlib
from typing import Any

from coevolve.envs.base import Env, name_error

# name -> module that defines and registers it
ENV_MODULES: dict[str, str] = {
    "sciworld": "coevolve.envs.sciworld",
    "intercode_sql": "coevolve.envs.intercode_sql",
    "webshop": "coevolve.envs.webshop",
}
_REGISTRY: dict[str, type[Env]] = {}


def register_env(name: str):
    def decorate(cls: type[Env]) -> type[Env]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def env_names() -> list[str]:
    return sorted(set(ENV_MODULES) | set(_REGISTRY))


def get_env_class(name: str) -> type[Env]:
    if name not in _REGISTRY:
        if name not in ENV_MODULES:
            raise name_error("environment", name, env_names())
        importlib.import_module(ENV_MODULES[name])
    return _REGISTRY[name]


def make_env(name: str, **kwargs: Any) -> Env:
    return get_env_class(name)(**kwargs)
