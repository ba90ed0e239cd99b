"""`coevolve db start|stop|status`: the MariaDB server holding InterCode's Spider databases."""

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


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="start, stop or inspect the InterCodeSQL database server")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"loopback port (default {DEFAULT_PORT})"
    )
    parser.add_argument("--dir", type=Path, help="server folder (default: <cache>/mariadb)")
    parser.add_argument(
        "--db-url",
        help=f"use an existing server instead, mysql://user:pass@host:port (or {DB_URL_ENV}); "
        "start/stop then only check it",
    )
    parser.set_defaults(func=run)


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
