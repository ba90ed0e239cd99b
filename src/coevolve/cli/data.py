"""`coevolve data list|fetch|verify`: the named data files and where they resolve."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from coevolve.data import resources
from coevolve.envs.base import name_error


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="list, fetch and verify data files")
    parser.add_argument("action", choices=["list", "fetch", "verify"])
    parser.add_argument("names", nargs="*", help="resource names or prefixes (default: all)")
    parser.add_argument("--data-dir", help="folder laid out like the resource names (or COEVOLVE_DATA_DIR)")
    parser.set_defaults(func=run)


def _selected(prefixes: list[str]) -> list[str]:
    names = sorted(resources.RESOURCES)
    if not prefixes:
        return names
    def matches(name: str, prefix: str) -> bool:
        return name == prefix or name.startswith(prefix.rstrip("/") + "/")

    for prefix in prefixes:
        if not any(matches(n, prefix) for n in names):
            folders = sorted({n.rsplit("/", 1)[0] + "/" for n in names})
            raise name_error("data resource or folder", prefix, folders + names, limit=60)
    return [n for n in names if any(matches(n, p) for p in prefixes)]


def run(args: argparse.Namespace) -> int:
    console = Console()
    table = Table("resource", "status", "path / source")
    failed = 0
    for name in _selected(args.names):
        resource = resources.get_resource(name)
        if args.action == "list":
            local = resources.find_local(name, args.data_dir)
            table.add_row(name, "local" if local else "absent", str(local or resource.source))
        elif args.action == "fetch":
            try:
                path = resources.resolve(name, args.data_dir)
                table.add_row(name, "ok", str(path))
            except resources.ResourceMissing as exc:
                failed += 1
                table.add_row(name, "[red]missing", str(exc).splitlines()[0])
        else:
            status, path = resources.verify(name, args.data_dir)
            failed += status == "mismatch"
            colour = {"ok": "green", "mismatch": "red", "missing": "yellow", "unpinned": "cyan"}[status]
            table.add_row(name, f"[{colour}]{status}", str(path or ""))
    console.print(table)
    return 1 if failed else 0
