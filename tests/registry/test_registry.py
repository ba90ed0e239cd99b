"""The generic Registry: decorator and direct registration, lazy modules, did-you-mean errors."""

from __future__ import annotations

import sys
import types

import pytest

from coevolve.agents.base import BACKENDS, backend_names
from coevolve.envs.base import UnknownName
from coevolve.envs.registry import ENVS, env_names
from coevolve.registry import Registry


def test_register_by_decorator_and_directly():
    reg: Registry[object] = Registry("widget")

    @reg.register("b")
    def make_b():
        return "b"

    reg.register("a", 42)
    assert reg.get("b") is make_b and reg.get("a") == 42
    assert reg.names() == ["a", "b"] and "a" in reg and "c" not in reg and len(reg) == 2


def test_unknown_name_lists_valid_and_closest():
    reg: Registry[int] = Registry("widget")
    reg.register("coevolve", 1)
    reg.register("eto", 2)
    with pytest.raises(
        UnknownName, match=r"unknown widget 'coevolv' \(did you mean 'coevolve'\?\); valid: coevolve, eto"
    ):
        reg.get("coevolv")
    with pytest.raises(UnknownName, match="valid: coevolve, eto$"):
        reg.get("zzz")


def test_lazy_module_imported_on_first_get(monkeypatch):
    reg: Registry[int] = Registry("widget", lazy={"late": "fake_widget_module"})
    module = types.ModuleType("fake_widget_module")
    imported = []

    def exec_module():
        imported.append(True)
        reg.register("late", 7)

    class Finder:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name != "fake_widget_module":
                return None
            import importlib.machinery

            loader = types.SimpleNamespace(
                create_module=lambda spec: module, exec_module=lambda m: exec_module()
            )
            return importlib.machinery.ModuleSpec(name, loader)

    monkeypatch.setattr(sys, "meta_path", [Finder, *sys.meta_path])
    monkeypatch.delitem(sys.modules, "fake_widget_module", raising=False)
    assert "late" in reg and reg.loaded() == {}
    assert reg.get("late") == 7 and imported == [True]


def test_on_register_hook_and_shared_lazy_table():
    lazy: dict[str, str] = {}
    seen = []
    reg: Registry[str] = Registry("widget", lazy=lazy, on_register=lambda n, o: seen.append((n, o)))
    reg.register("x", "obj")
    lazy["later"] = "some.module"  # entries added to the table afterwards are names too
    assert seen == [("x", "obj")] and reg.names() == ["later", "x"]


def test_env_and_backend_registries_are_registries():
    assert env_names() == ENVS.names() and {"sciworld", "webshop", "intercode_sql"} <= set(env_names())
    assert backend_names() == BACKENDS.names() and {"hf", "vllm", "openai"} <= set(backend_names())
    with pytest.raises(UnknownName, match="did you mean 'webshop'"):
        ENVS.get("webshp")
