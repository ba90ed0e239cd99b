"""`coevolve service start|stop|status [NAME]`: the outside services benchmarks need, from their descriptions.

Each benchmark's `Benchmark.service` says what it needs and how to run it (`envs/benchmark.py`); this
command only dispatches. Without NAME it acts on every benchmark that declares a service. Options after
NAME are the service's own (`coevolve service start NAME --help` lists them). `coevolve db ACTION` is a
short form for the services of kind "database".
"""

from __future__ import annotations

import argparse

from coevolve.envs.base import UnknownName

ACTIONS = ("start", "stop", "status")
# short command -> the service kind it acts on
ALIASES = {"db": "database"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "service", help="start, stop or inspect a benchmark's outside service (e.g. a database server)"
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("name", nargs="?", help="benchmark name (default: every benchmark with a service)")
    parser.add_argument("options", nargs=argparse.REMAINDER, help="the service's own options")
    parser.set_defaults(func=run, kind=None)
    for alias, kind in ALIASES.items():
        short = subparsers.add_parser(alias, help=f"`coevolve service ACTION` for the {kind} service(s)")
        short.add_argument("action", choices=ACTIONS)
        short.add_argument("options", nargs=argparse.REMAINDER, help="the service's own options")
        short.set_defaults(func=run, kind=kind, name=None)


def services(name: str | None, kind: str | None) -> list[tuple[str, object]]:
    """(benchmark name, Service) pairs selected by name or kind; an error naming the valid choices."""
    from coevolve.envs.benchmark import benchmarks, get_benchmark

    if name is not None:
        service = get_benchmark(name).service
        if service is None:
            raise UnknownName(f"benchmark {name!r} needs no service; with one: {', '.join(_names(None))}")
        return [(name, service)]
    found = [(b.name, b.service) for b in benchmarks() if b.service is not None]
    found = [(n, s) for n, s in found if kind is None or s.kind == kind]
    if not found:
        raise UnknownName(f"no benchmark declares a service{f' of kind {kind!r}' if kind else ''}")
    return found


def _names(kind: str | None) -> list[str]:
    from coevolve.envs.benchmark import benchmarks

    return [b.name for b in benchmarks() if b.service is not None and kind in (None, b.service.kind)]


def run_one(name: str, service, action: str, options: list[str], prog: str) -> int:
    """Parse the service's own options and run the action; a service without a command only starts."""
    parser = argparse.ArgumentParser(prog=f"{prog} {action}", description=f"{service.name} ({name})")
    if service.add_arguments is not None:
        service.add_arguments(parser)
    args = parser.parse_args(options)
    args.action = action
    if service.command is not None:
        return int(service.command(args) or 0)
    if action != "start":
        print(f"error: {service.name} ({name}) can only be started here ({service.how_to_start or 'start'})")
        return 2
    print(service.ensure() or f"{service.name}: the user's own server is in use ({service.external_env_var})")
    return 0


def run(args: argparse.Namespace) -> int:
    selected = services(args.name, args.kind)
    if len(selected) > 1 and args.options:
        raise UnknownName(f"options {args.options} need one service: name one of {[n for n, _ in selected]}")
    prog = f"coevolve {args.command}" + (f" {args.name}" if args.name else "")
    codes = [run_one(name, service, args.action, list(args.options), prog) for name, service in selected]
    return max(codes, default=0)
