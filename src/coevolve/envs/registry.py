"""Environments by name. Modules register their class with `@register_env`; importing is lazy so a
command that needs one environment does not start the others' dependencies (Java, MySQL drivers)."""

from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any

from coevolve.envs.base import Env, UnknownName, name_error

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
