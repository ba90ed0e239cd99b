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


# pymysql errors a user fixes (server down, wrong password, unknown database), by MySQL error code
DB_USER_CODES = {1044, 1045, 1049, 2002, 2003, 2005, 2013}


def is_user_error(exc: BaseException) -> bool:
    """Bad input or a setup problem the message explains (never a bug: those keep their traceback).

    Database errors are recognised without importing the driver for commands that do not use it.
    """
    if isinstance(exc, USER_ERRORS):
        return True
    pymysql = sys.modules.get("pymysql")
    if pymysql is not None and isinstance(exc, pymysql.err.OperationalError):
        return bool(exc.args) and exc.args[0] in DB_USER_CODES
    return False


if __name__ == "__main__":
    sys.exit(main())
