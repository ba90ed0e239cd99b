"""One generic name -> object registry: environments, policy backends, methods and pair builders.

The pattern of lm-evaluation-harness's `register_task` and verl's `@register`: a module registers its
object under a name with a decorator; a name may also point at the module that registers it, imported on
first use, so a command that needs one environment does not start the others' dependencies (Java, MySQL
drivers, vLLM). Unknown names raise `UnknownName` listing the valid ones and the closest match.

    ENVS = Registry("environment", lazy={"maze": "my_package.maze"})

    @ENVS.register("maze")
    class MazeEnv(Env): ...

    ENVS.get("maze")  # imports my_package.maze on first use
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from coevolve.envs.base import UnknownName

T = TypeVar("T")


class Registry(Generic[T]):
    """Named objects of one kind (`kind` names it in errors: "environment", "method", ...).

    `lazy` maps a name to the module whose import registers it. `on_register(name, obj)` runs at
    registration (the env registry sets `cls.name`). Registering a taken name replaces it (a test or a
    plugin may override a built-in on purpose).
    """

    def __init__(
        self,
        kind: str,
        lazy: dict[str, str] | None = None,
        on_register: Callable[[str, T], None] | None = None,
    ) -> None:
        self.kind = kind
        self.lazy: dict[str, str] = lazy if lazy is not None else {}  # shared: later entries count
        self._items: dict[str, T] = {}
        self._on_register = on_register

    def register(self, name: str, obj: T | None = None) -> Any:
        """`@registry.register("name")` on a class or function, or `registry.register("name", obj)`."""
        if obj is not None:
            return self._add(name, obj)

        def decorate(item: T) -> T:
            return self._add(name, item)

        return decorate

    def _add(self, name: str, obj: T) -> T:
        if self._on_register is not None:
            self._on_register(name, obj)
        self._items[name] = obj
        return obj

    def get(self, name: str) -> T:
        if name not in self._items and name in self.lazy:
            importlib.import_module(self.lazy[name])
        if name not in self._items:
            raise self.unknown(name)
        return self._items[name]

    def unknown(self, name: str, limit: int = 20) -> UnknownName:
        """The error for an unknown name: the closest valid one and the list."""
        from coevolve.envs.base import UnknownName  # imported here: coevolve.envs imports this module

        valid = self.names()
        close = difflib.get_close_matches(str(name), valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        shown = ", ".join(valid[:limit]) + (f", ... ({len(valid)} in all)" if len(valid) > limit else "")
        return UnknownName(f"unknown {self.kind} {name!r}{hint}; valid: {shown}")

    def names(self) -> list[str]:
        """Every name, registered or importable, sorted."""
        return sorted(set(self.lazy) | set(self._items))

    def loaded(self) -> dict[str, T]:
        """The registered objects (lazy names not imported yet are left out)."""
        return dict(self._items)

    def load_all(self) -> dict[str, T]:
        """Import every lazy module and return all objects (may raise ImportError for a missing extra)."""
        for name in self.names():
            self.get(name)
        return self.loaded()

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self.lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
