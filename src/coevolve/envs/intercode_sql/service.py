"""InterCodeSQL's service: start, stop or inspect the MariaDB server holding InterCode's Spider databases.

`coevolve service start|stop|status intercode_sql` (alias `coevolve db start|stop|status`, the service's
kind being "database") parses the options below with `add_arguments` and calls `run`. With `--db-url` /
COEVOLVE_DB_URL the user's own server is only checked (reachable, read-only account), never started.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pymysql

from coevolve.envs.intercode_sql.server import (
    DB_URL_ENV,
    DEFAULT_PORT,
    DbUrl,
    MariaDBServer,
    ServerConfig,
    ServerError,
    UnsafeAccount,
    check_read_only_account,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The service command's options (after `coevolve service ACTION intercode_sql` / `coevolve db ACTION`)."""
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"loopback port (default {DEFAULT_PORT})"
    )
    parser.add_argument("--dir", type=Path, help="server folder (default: <cache>/mariadb)")
    parser.add_argument(
        "--db-url",
        help=f"use an existing server instead, mysql://user:pass@host:port (or {DB_URL_ENV}); "
        "start/stop then only check it",
    )


# pymysql errors a user fixes (server down, wrong password, unknown database), by MySQL error code
DB_USER_CODES = {1044, 1045, 1049, 2002, 2003, 2005, 2013}


def is_user_error(exc: BaseException) -> bool:
    """A driver error the message explains (server down, wrong password, unknown database)."""
    return isinstance(exc, pymysql.err.OperationalError) and bool(exc.args) and exc.args[0] in DB_USER_CODES


def _check_external(url: DbUrl) -> int:
    """Reach the server and refuse an account that may do more than read."""
    try:
        conn = url.connect(timeout=5)
    except ServerError as exc:
        print(f"error: {exc}")
        return 1
    try:
        check_read_only_account(conn, url)
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            version = cur.fetchone()[0]
            cur.execute("SHOW DATABASES")
            databases = [row[0] for row in cur.fetchall()]
    except UnsafeAccount as exc:
        print(f"error: {exc}")
        return 2
    except pymysql.MySQLError as exc:
        print(f"error: {url}: {exc.args[-1]}")
        return 1
    finally:
        conn.close()
    print(
        f"external server {url} is up ({version}); {len(databases)} databases visible; the account "
        "may only read; nothing to start"
    )
    return 0


def run(args: argparse.Namespace) -> int:
    external = args.db_url or os.environ.get(DB_URL_ENV)
    if external:
        return _check_external(DbUrl.parse(external))
    server = MariaDBServer(ServerConfig(port=args.port, root=args.dir))
    try:
        if args.action == "start":
            print(server.start())
        elif args.action == "stop":
            print(server.stop())
        else:
            status = server.status()
            print(status.message)
            return 0 if status.state == "running" else 1
    except ServerError as exc:
        print(f"error: {exc}")
        return 2
    return 0
