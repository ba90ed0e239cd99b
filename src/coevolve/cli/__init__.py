"""`coevolve` command line. Each module in this package adds one subcommand with `add_parser`.

Subcommand modules are discovered, not listed, so an area of the project owns its own command file.
Errors that a user can fix (bad names, missing files, malformed records) print one clear message
and exit 2 instead of a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from rich.logging import RichHandler

from coevolve.data.records import RecordError
from coevolve.data.resources import ResourceMissing
from coevolve.envs.base import ServiceError, UnknownName
from coevolve.pipeline.lock import RunLocked

USER_ERRORS: tuple[type[BaseException], ...] = (
    RecordError,
    ResourceMissing,
    UnknownName,
    ServiceError,
    RunLocked,
    FileNotFoundError,
    ValueError,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coevolve", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(show_path=False, rich_tracebacks=True)],
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted; finished work is saved, rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose or not is_user_error(exc):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


def is_user_error(exc: BaseException) -> bool:
    """Bad input or a setup problem the message explains (never a bug: those keep their traceback).

    A benchmark's service client errors (a database server down) are recognised by the services of the
    benchmarks already imported: a command that never loaded one cannot raise its errors.
    """
    if isinstance(exc, USER_ERRORS):
        return True
    from coevolve.envs.benchmark import benchmarks

    services = [b.service for b in benchmarks(loaded_only=True) if b.service is not None]
    return any(s.user_error is not None and s.user_error(exc) for s in services)


if __name__ == "__main__":
    sys.exit(main())
