"""Typed configuration machinery shared by every `*Config` dataclass of the project.

Project code, after the pattern of TRL's `*Config` classes and `HfArgumentParser`: a config class is a
plain dataclass whose fields carry their defaults and their help. This module turns a mapping (YAML) into
such a dataclass with every key and value checked (unknown keys name the closest valid one), parses
`key.sub=value` overrides (the one parser of the project: run configs and training settings use it),
generates argparse flags from fields, and renders a commented YAML of every key with its default.

Field help comes from, in order: `field(metadata={"help": ...})`; the comment on the field's line or
the comment lines right above it; a TRL-style entry in the class docstring (`name (`type`, ...):`
followed by an indented description). So the existing comment-documented classes need no rewrite.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import inspect
import io
import re
import textwrap
import tokenize
import types
import typing
from collections.abc import Mapping
from typing import Any, get_type_hints

import yaml


class ConfigError(ValueError):
    """A config key or value a user can fix; the message names the key (and file)."""


# --- names


def did_you_mean(key: str, valid: list[str]) -> str:
    """`; did you mean 'x'?` for the closest valid name, else the list of valid names."""
    close = difflib.get_close_matches(str(key), [str(v) for v in valid], n=1)
    return f"; did you mean '{close[0]}'?" if close else f"; valid: {sorted(valid)}"


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


# --- values


def check_type(value: Any, hint: Any, where: str) -> Any:
    """`value` if it fits the field's type hint (ints widen to float), else a ConfigError naming the key."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in [a for a in args if a is not type(None)]:
            try:
                return check_type(value, option, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: expected {type_name(hint)}, got {value!r}")
    if origin is typing.Literal:
        if value not in args:
            close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{where}: must be one of {list(args)}, got {value!r}{hint}")
        return value
    base = origin or hint
    if base is Any:
        return value
    if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if base is float and isinstance(value, str):  # YAML 1.1 reads 1e-5 as a string
        try:
            return float(value)
        except ValueError:
            pass
    if base is int and isinstance(value, bool):
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if base is tuple and isinstance(value, list):
        value = tuple(value)
    if isinstance(base, type) and not isinstance(value, base):
        raise ConfigError(f"{where}: expected {type_name(hint)}, got {value!r} ({type(value).__name__})")
    return value


def type_name(hint: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true/false", list: "a list",
             dict: "a mapping", tuple: "a list"}  # fmt: skip
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        nullable = len(args) < len(typing.get_args(hint))
        return " or ".join(type_name(a) for a in args) + (" or null" if nullable else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    return names.get(origin or hint, str(hint))


def _dataclass_of(hint: Any) -> type | None:
    """The dataclass in `hint` (`X`, `X | None`), if any."""
    if dataclasses.is_dataclass(hint):
        return hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        found = [a for a in typing.get_args(hint) if dataclasses.is_dataclass(a)]
        return found[0] if found else None
    return None


def _list_item_dataclass(hint: Any) -> type | None:
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint) or (None,)
        return item if dataclasses.is_dataclass(item) else None
    return None


def build(cls: type, data: Any, where: str) -> Any:
    """An instance of dataclass `cls` from a mapping: unknown keys (did-you-mean), types, nested configs."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = get_type_hints(cls)
    names = field_names(cls)
    unknown = sorted(str(k) for k in set(data) - set(names))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}{did_you_mean(unknown[0], names)}")
    kwargs = {key: _value(hints[key], value, f"{where}.{key}") for key, value in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _admits_plain_value(hint: Any) -> bool:
    """`bool | X | None`: a field that takes a plain value as well as a nested config X."""
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else ()
    return any(a is not type(None) and not dataclasses.is_dataclass(a) for a in args)


def _dict_item_dataclass(hint: Any) -> tuple[Any, type | None]:
    """(key type, item dataclass) of a `dict[K, X]` hint whose values are configs."""
    if typing.get_origin(hint) is dict:
        key, item = typing.get_args(hint) or (Any, None)
        return key, item if dataclasses.is_dataclass(item) else None
    return Any, None


def _value(hint: Any, value: Any, where: str) -> Any:
    nested = _dataclass_of(hint)
    if nested is not None and value is not None:
        if isinstance(value, (dict, nested)) or not _admits_plain_value(hint):
            return build(nested, value, where)
        return check_type(value, hint, where)
    key, item = _dict_item_dataclass(hint)
    if item is not None:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return {check_type(k, key, f"{where}.{k}"): build(item, v, f"{where}.{k}") for k, v in value.items()}
    item = _list_item_dataclass(hint)
    if item is not None:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list")
        base = where.rsplit(".", 1)
        return [build(item, v, f"{base[0]}.{base[-1]}[{i}]") for i, v in enumerate(value)]
    return check_type(value, hint, where)


def check_keys(values: dict[str, Any], cls: type, where: str, extra: tuple[str, ...] = ()) -> None:
    """Keys and values of an override mapping (`sft:`, `dpo:` sections) against the fields of `cls`."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(values).__name__}")
    hints = get_type_hints(cls)
    valid = [*field_names(cls), *extra]
    for key, value in values.items():
        key = str(key)
        head, _, sub = key.partition(".")
        if head not in valid:
            raise ConfigError(f"{where}: unknown setting '{key}'{did_you_mean(key, valid)}")
        if head in extra:
            continue
        nested = _dataclass_of(hints[head])
        if sub and nested is not None:
            check_keys({sub: value}, nested, f"{where}.{head}")
        elif nested is not None and isinstance(value, dict):
            check_keys(value, nested, f"{where}.{head}")
        elif nested is None or not isinstance(value, bool):  # `lora: true` switches the default adapter on
            _value(hints[head], value, f"{where}.{key}")


# --- override configs: typed sections whose unset fields leave the value to a preset


class OverrideConfig(Mapping):
    """Base of an override section (a run config's `sft`, `dpo`, `pairs`): a dataclass whose fields mirror
    a settings class, each typed as there, none set by default. What counts is what was set: `overrides()`
    (also the section read as a mapping, so `{**section}` and `section.get(key, default)` work) goes on top
    of a preset or schedule; the rest is left to them. An unset field reads None; a field set to None
    (`save_total_limit: null`) is set. Subclasses: `@dataclass(init=False, eq=False, repr=False)`."""

    def __init__(self, **values: Any) -> None:
        names = field_names(type(self))
        unknown = sorted(set(values) - set(names))
        if unknown:
            hint = did_you_mean(unknown[0], names)
            raise TypeError(f"{type(self).__name__}: unknown field(s) {unknown}{hint}")
        self.__dict__["_set"] = []
        for name in names:
            self.__dict__[name] = None
        for name, value in values.items():
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in self.__dataclass_fields__ and name not in self._set:
            self._set.append(name)

    def overrides(self) -> dict[str, Any]:
        """The fields that were set, in the order given, as plain data (nested sections as mappings)."""
        return {name: plain(getattr(self, name)) for name in self._set}

    def is_set(self, name: str) -> bool:
        return name in self._set

    def __getitem__(self, key: str) -> Any:
        if key not in self._set:
            raise KeyError(key)
        return plain(getattr(self, key))

    def __iter__(self) -> typing.Iterator[str]:
        return iter(list(self._set))

    def __len__(self) -> int:
        return len(self._set)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in self._set)})"


# --- overrides: the one `key.sub=value` parser


def parse_value(text: str) -> Any:
    """A command-line value as YAML reads it; `2e-5` (a string in YAML 1.1) becomes a number."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    return value


def split_overrides(
    items: list[str] | tuple[str, ...], example: str = "key.sub=value"
) -> list[tuple[str, str]]:
    """`["a.b=1", "c=x"]` -> `[("a.b", "1"), ("c", "x")]`; a malformed item names the expected form."""
    out = []
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like {example}")
        key, raw = item.split("=", 1)
        out.append((key.strip(), raw))
    return out


def parse_overrides(
    items: list[str] | tuple[str, ...], example: str = "key.sub=value"
) -> list[tuple[str, Any]]:
    """`["a.b=1", "c=x"]` -> `[("a.b", 1), ("c", "x")]`: values parsed as YAML (`parse_value`)."""
    return [(key, parse_value(raw)) for key, raw in split_overrides(items, example)]


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """`a.b=1` style override; list items by index (`envs.0.train_limit=8`)."""
    keys = dotted.split(".")
    node: Any = data
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


# --- help


@functools.cache
def field_help(cls: type) -> dict[str, str]:
    """Field name -> help text (metadata, source comments, TRL-style docstring), base classes first."""
    helps: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            helps.update(_docstring_help(klass))
            helps.update(_comment_help(klass))
    for f in dataclasses.fields(cls):
        if f.metadata.get("help"):
            helps[f.name] = f.metadata["help"]
    return {name: helps.get(name, "") for name in field_names(cls)}


_FIELD_LINE = re.compile(r"^(\w+)\s*:")
_DOC_ENTRY = re.compile(r"^(\s*)([\w /]+?) \(`[^`]*`[^)]*\):\s*$")


def _comment_help(klass: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(klass))
    except (OSError, TypeError):
        return {}
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").replace("fmt: skip", "").strip()
    lines = source.splitlines()
    body = [
        (i + 1, line)
        for i, line in enumerate(lines)
        if line.startswith("    ") and not line.startswith("     ")
    ]
    out: dict[str, str] = {}
    for number, line in body:
        match = _FIELD_LINE.match(line.strip())
        if not match or match.group(1) not in klass.__dataclass_fields__:
            continue
        above, n = [], number - 1
        while n in comments and lines[n - 1].strip().startswith("#"):
            above.insert(0, comments[n])
            n -= 1
        parts = [c for c in above if c and not c.startswith("---")] + [comments.get(number, "")]
        text = " ".join(p for p in parts if p)
        if text:
            out[match.group(1)] = text
    return out


def _docstring_help(klass: type) -> dict[str, str]:
    doc = klass.__doc__ or ""
    lines = textwrap.dedent(doc).splitlines()
    out: dict[str, str] = {}
    i = 0
    while i < len(lines):
        match = _DOC_ENTRY.match(lines[i])
        i += 1
        if not match:
            continue
        indent, text = len(match.group(1)), []
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
            if lines[i].strip():
                text.append(lines[i].strip())
            i += 1
        for name in match.group(2).split("/"):
            out[name.strip()] = " ".join(text)
    return out


# --- command-line flags from fields

_FLAG_TYPES = (int, float, str)


def _scalar(hint: Any) -> Any:
    """The flag type of a field: int/float/str/bool, `X | None` -> X; None for lists, mappings, configs."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _scalar(args[0]) if len(args) == 1 else None
    if typing.get_origin(hint) is typing.Literal:
        return str
    return hint if hint in (*_FLAG_TYPES, bool) else None


def add_overrides(parser: argparse.ArgumentParser, help: str) -> None:
    """`--set KEY=VALUE` (repeatable) into `args.overrides`, for the one override parser here."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help)


def add_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    names: list[str] | None = None,
    prefix: str = "",
    dest_prefix: str = "",
    defaults: Any = None,
) -> list[str]:
    """One `--flag` per scalar field of `cls` (help from the field, default shown); returns the dests.

    Flags default to None (so only what the user gives overrides anything); the help shows the value
    the field takes otherwise (`defaults`: an instance whose values to show, default `cls()`).
    """
    hints, helps = get_type_hints(cls), field_help(cls)
    shown = defaults if defaults is not None else _try_default(cls)
    dests = []
    for name in names if names is not None else field_names(cls):
        kind = _scalar(hints[name])
        if kind is None:
            continue
        flag, dest = f"--{prefix}{name}".replace("_", "-"), f"{dest_prefix}{name}"
        default_text = f" (default: {getattr(shown, name)!r})" if shown is not None else ""
        text = (helps.get(name) or name.replace("_", " ")) + default_text
        text = text.replace("%", "%%")
        if kind is bool:
            parser.add_argument(
                flag, dest=dest, action=argparse.BooleanOptionalAction, default=None, help=text
            )
        else:
            parser.add_argument(
                flag, dest=dest, type=kind, default=None, help=text, metavar=kind.__name__.upper()
            )
        dests.append(dest)
    return dests


def _try_default(cls: type) -> Any:
    try:
        return cls()
    except TypeError:  # required fields
        return None


def flag_values(args: argparse.Namespace, dests: list[str], dest_prefix: str = "") -> dict[str, Any]:
    """The flags the user gave (not None), keyed by field name."""
    values = {d.removeprefix(dest_prefix): getattr(args, d, None) for d in dests}
    return {k: v for k, v in values.items() if v is not None}


# --- documentation


def plain(value: Any) -> Any:
    """A YAML/JSON-safe copy (tuples as lists, dataclasses as mappings, override configs as what they set)."""
    if isinstance(value, OverrideConfig):
        return value.overrides()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def yaml_scalar(value: Any) -> str:
    text = yaml.safe_dump(plain(value), default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def describe(instance: Any, indent: int = 0, commented: bool = False) -> list[str]:
    """YAML lines of every field of a config instance with its help as a comment (nested configs too)."""
    cls, helps, pad = type(instance), field_help(type(instance)), " " * indent
    lead = "# " if commented else ""
    lines = []
    for name in field_names(cls):
        value, text = getattr(instance, name), helps.get(name, "")
        comment = f"  # {text}" if text else ""
        if dataclasses.is_dataclass(value):
            lines.append(f"{pad}{lead}{name}:{comment}")
            lines += describe(value, indent + 2, commented)
        else:
            lines.append(f"{pad}{lead}{name}: {yaml_scalar(value)}{comment}")
    return lines
