"""One guarded connection to the SQL server: every statement runs in a transaction that is rolled back,
long statements are cut off by the server, and a lost connection is re-opened and the statement retried
once. Results come back in InterCode's shapes: a list of row tuples, None for a statement without a
result set, or the text `Error executing query: <server message>`.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

import pymysql

from coevolve.envs.base import EnvError
from coevolve.envs.intercode_sql.server import DbUrl, ServerError

log = logging.getLogger(__name__)

# Client-side codes of a dead connection (2006 gone away, 2013 lost during query, 2014/2055 out of
# sync / lost) and MariaDB's 1927 "Connection was killed" seen by the next statement after KILL.
LOST_CONNECTION_CODES = {0, 1927, 2006, 2013, 2014, 2055}

SqlOutput = list[tuple[Any, ...]] | str | None
# Statements that leave the session as it was (besides the current database, which USE sets again).
READ_ONLY_KEYWORDS = {"select", "show", "desc", "describe", "explain", "with", "use", "("}
_FIRST_WORD_RE = re.compile(r"\s*(\(|\w+)")


def error_text(exc: BaseException) -> str:
    """The server's message, as InterCode's `err.msg` shows it."""
    args = getattr(exc, "args", ())
    return str(args[1]) if len(args) >= 2 else str(exc)


def _is_lost(exc: BaseException) -> bool:
    if isinstance(exc, pymysql.err.InterfaceError):
        return True
    args = getattr(exc, "args", ())
    return isinstance(exc, pymysql.err.OperationalError) and bool(args) and args[0] in LOST_CONNECTION_CODES


class SqlSession:
    """A connection bound to one database at a time."""

    def __init__(self, url: DbUrl, statement_timeout: float = 0.0, read_only: bool = True) -> None:
        self.url = url
        self.statement_timeout = statement_timeout
        self.read_only = read_only
        self.database: str | None = None
        self.reconnects = 0
        # True once a statement that may change session state (SET, ...) ran on this connection.
        self.tainted = False
        self._conn: pymysql.Connection | None = None

    @property
    def connection(self) -> pymysql.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def thread_id(self) -> int:
        return self.connection.thread_id()

    def _open(self) -> pymysql.Connection:
        conn = self.url.connect()
        with conn.cursor() as cur:
            if self.read_only:
                # Belt and braces beside the read-only grants: DML inside a read-only transaction fails.
                cur.execute("SET SESSION TRANSACTION READ ONLY")
            if self.statement_timeout > 0:
                cur.execute("SELECT VERSION()")
                version = str(cur.fetchone()[0])
                if "MariaDB" in version:
                    cur.execute(f"SET SESSION max_statement_time = {self.statement_timeout:g}")
                else:  # MySQL: milliseconds, SELECT statements only
                    cur.execute(f"SET SESSION max_execution_time = {int(self.statement_timeout * 1000)}")
            if self.database:
                cur.execute(f"USE `{self.database}`")
        conn.rollback()
        return conn

    def use(self, database: str) -> None:
        """Switch database (InterCode's `use <db>` before an episode); a failure is an EnvError."""
        self.database = database
        output = self.execute(f"USE `{database}`")
        if isinstance(output, str):
            raise EnvError(f"cannot use database {database!r} on {self.url}: {output}")

    def execute(self, sql: str) -> SqlOutput:
        """Run one statement; re-open a lost connection and retry once."""
        try:
            return self._execute_once(sql)
        except pymysql.MySQLError as exc:
            log.warning("connection to %s lost (%s); reconnecting", self.url, exc)
            self.close()
            self.reconnects += 1
            try:
                return self._execute_once(sql)
            except (pymysql.MySQLError, ServerError) as again:
                self.close()
                raise EnvError(f"SQL server {self.url} unreachable after a reconnect: {again}") from again

    def _execute_once(self, sql: str) -> SqlOutput:
        conn = self.connection
        first = _FIRST_WORD_RE.match(sql)
        if first is None or first.group(1).lower() not in READ_ONLY_KEYWORDS:
            self.tainted = True
        cur = conn.cursor()
        try:
            cur.execute(sql)
            output: SqlOutput = list(cur.fetchall()) if cur.description is not None else None
        except pymysql.MySQLError as exc:
            if _is_lost(exc):
                raise
            output = f"Error executing query: {error_text(exc)}"
        finally:
            cur.close()
        conn.rollback()  # nothing the agent runs may persist (DDL commits implicitly: grants stop it)
        if sql.lstrip()[:4].lower() == "use ":  # remember the agent's database for a reconnect
            with conn.cursor() as cur:
                cur.execute("SELECT DATABASE()")
                self.database = cur.fetchone()[0]
        return output

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(pymysql.MySQLError):
                self._conn.close()
            self._conn = None
        self.tainted = False
