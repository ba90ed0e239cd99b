"""One guarded connection to the SQL server, in InterCode's result shapes: a list of row tuples, None for a
statement without a result set, or the text `Error executing query: <server message>`.

Bounds (the project's, not InterCode's; none changes the result of an ordinary query):
- every statement runs in a READ ONLY transaction that is rolled back; the server cuts it off after
  `statement_timeout` seconds, and the client stops waiting `client_timeout` seconds after sending it
  (the statement is then killed on the server and the connection re-opened);
- the session's settings are pinned: `guard.refusal` refuses statements that would change them, and
  they are applied again after any statement that could have (see guard.py);
- rows are read from a server-side cursor in chunks and reading stops at `max_rows` rows or about
  `max_bytes` bytes (the largest gold result of the Spider dev tasks is 1,860 rows, 25 kB); the rows read
  so far are the result and `capped` is set; the rest is dropped with the connection;
- a result the client cannot decode (e.g. a text column in a character set other than the connection's)
  is an error text, never an exception.
A lost connection is re-opened and the statement retried once.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import Any

import pymysql
import pymysql.cursors

from coevolve.envs.base import EnvError
from coevolve.envs.intercode_sql import guard
from coevolve.envs.intercode_sql.server import DbUrl, ServerError, check_read_only_account

log = logging.getLogger(__name__)

# Client-side codes of a dead connection (2006 gone away, 2013 lost during query, 2014/2055 out of
# sync / lost) and MariaDB's 1927 "Connection was killed" seen by the next statement after KILL.
LOST_CONNECTION_CODES = {0, 1927, 2006, 2013, 2014, 2055}
CLIENT_GRACE = 5.0  # seconds the client waits beyond the server's statement timeout
FETCH_CHUNK = 256
DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_BYTES = 4_000_000

SqlOutput = list[tuple[Any, ...]] | str | None
# Statements that leave the session as it was (besides the current database, which USE sets again).
READ_ONLY_KEYWORDS = {"select", "show", "desc", "describe", "explain", "with", "use", "("}
_FIRST_WORD_RE = re.compile(r"\s*(\(|\w+)")


class StatementTimeout(Exception):  # noqa: N818 - a condition, reported as an error observation
    """The client stopped waiting for a statement."""


def error_text(exc: BaseException) -> str:
    """The server's message, as InterCode's `err.msg` shows it."""
    args = getattr(exc, "args", ())
    return str(args[1]) if len(args) >= 2 else str(exc)


def _is_lost(exc: BaseException) -> bool:
    if isinstance(exc, pymysql.err.InterfaceError):
        return True
    args = getattr(exc, "args", ())
    return isinstance(exc, pymysql.err.OperationalError) and bool(args) and args[0] in LOST_CONNECTION_CODES


def _is_client_timeout(exc: BaseException) -> bool:
    """pymysql's socket timeout: OperationalError(2013, 'Lost connection ... (timed out)')."""
    args = getattr(exc, "args", ())
    return isinstance(exc, pymysql.err.OperationalError) and "timed out" in str(args[-1] if args else "")


def _may_change_session(sql: str) -> bool:
    first = _FIRST_WORD_RE.match(sql)
    return first is None or first.group(1).lower() not in READ_ONLY_KEYWORDS


def row_bytes(row: tuple[Any, ...]) -> int:
    """A cheap size estimate of one row (text and bytes by length, other values 8 bytes)."""
    return sum(len(value) if isinstance(value, (str, bytes)) else 8 for value in row) + 8 * len(row)


class SqlSession:
    """A connection bound to one database at a time."""

    def __init__(
        self,
        url: DbUrl,
        statement_timeout: float = 0.0,
        read_only: bool = True,
        *,
        client_timeout: float | None = None,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.url = url
        self.statement_timeout = statement_timeout
        self.read_only = read_only
        if client_timeout is None:
            client_timeout = statement_timeout + CLIENT_GRACE if statement_timeout > 0 else 0.0
        self.client_timeout = client_timeout  # 0: wait forever
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.database: str | None = None
        self.reconnects = 0
        self.capped = False  # the last result stopped at max_rows / max_bytes
        # True once a statement that may change session state (SET, ...) ran on this connection.
        self.tainted = False
        self._stale_settings = False  # such a statement ran since the pinned settings were applied
        self._account_checked = False
        self._mariadb: bool | None = None  # the server's kind, read once
        self._conn: pymysql.Connection | None = None

    @property
    def connection(self) -> pymysql.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def thread_id(self) -> int:
        return self.connection.thread_id()

    # ------------------------------------------------------------ connection

    def _open(self) -> pymysql.Connection:
        conn = self.url.connect(
            read_timeout=self.client_timeout or None, cursorclass=pymysql.cursors.SSCursor
        )
        try:
            if not self._account_checked:
                check_read_only_account(conn, self.url)  # raises UnsafeAccount
                self._account_checked = True
            self._pin(conn)
            if self.database:
                with conn.cursor() as cur:
                    cur.execute(f"USE `{self.database}`")
            conn.rollback()
        except BaseException:
            with contextlib.suppress(Exception):
                conn.close()
            raise
        return conn

    def _pin(self, conn: pymysql.Connection) -> None:
        """Apply the session settings the agent may not change."""
        with conn.cursor() as cur:
            if self._mariadb is None:
                cur.execute("SELECT VERSION()")
                self._mariadb = "MariaDB" in str(cur.fetchall()[0][0])
            mariadb = self._mariadb
            if self.statement_timeout > 0 and mariadb:
                limit = f"max_statement_time = {self.statement_timeout:g}"
            elif self.statement_timeout > 0:  # MySQL: milliseconds, SELECT statements only
                limit = f"max_execution_time = {int(self.statement_timeout * 1000)}"
            else:
                limit = "max_statement_time = 0" if mariadb else "max_execution_time = 0"
            cur.execute(f"SET SESSION {limit}, autocommit = 0, NAMES utf8mb4, completion_type = 0")
            # Belt and braces beside the read-only grants: DML inside a read-only transaction fails.
            mode = "READ ONLY" if self.read_only else "READ WRITE"
            cur.execute(f"SET SESSION TRANSACTION {mode}")
        conn.rollback()
        self._stale_settings = False

    def _discard(self, conn: pymysql.Connection, cur: Any = None, kill: bool = False) -> None:
        """Drop a connection in the middle of a statement or result (and kill its server thread)."""
        thread_id = conn.thread_id() if kill else None
        # pymysql would read the rest of an unbuffered result on close: detach it first.
        result = getattr(cur, "_result", None)
        if result is not None:
            result.unbuffered_active = False
        if cur is not None:
            cur._result = None
        conn._result = None
        with contextlib.suppress(Exception):
            conn.close()
        if self._conn is conn:
            self._conn = None
        if thread_id is not None:
            self._kill(thread_id)

    def _kill(self, thread_id: int) -> None:
        """Stop a statement the client gave up on (an account may kill its own threads)."""
        try:
            killer = self.url.connect(timeout=5.0, read_timeout=5.0)
        except ServerError as exc:
            log.warning("cannot kill thread %d on %s: %s", thread_id, self.url, exc)
            return
        try:
            with killer.cursor() as cur:
                cur.execute(f"KILL {int(thread_id)}")
        except pymysql.MySQLError as exc:  # already gone
            log.debug("KILL %d: %s", thread_id, exc)
        finally:
            with contextlib.suppress(Exception):
                killer.close()

    # ------------------------------------------------------------ statements

    def use(self, database: str) -> None:
        """Switch database (InterCode's `use <db>` before an episode); a failure is an EnvError."""
        self.database = database
        output = self.execute(f"USE `{database}`")
        if isinstance(output, str):
            raise EnvError(f"cannot use database {database!r} on {self.url}: {output}")

    def execute(self, sql: str) -> SqlOutput:
        """Run one statement; re-open a lost connection and retry once."""
        self.capped = False
        reason = guard.refusal(sql)
        if reason is not None:
            return guard.refusal_message(reason)
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
        if self._stale_settings:
            self._pin(conn)
        if _may_change_session(sql):
            self.tainted = self._stale_settings = True
        cur = conn.cursor()
        try:
            output = self._run(conn, cur, sql)
        except StatementTimeout:
            self._discard(conn, cur, kill=True)
            return f"Error executing query: no answer within {self.client_timeout:g} s (client timeout)"
        except (UnicodeError, ValueError, ArithmeticError) as exc:  # a value pymysql cannot convert
            self._discard(conn, cur, kill=True)
            return f"Error executing query: the result cannot be decoded ({type(exc).__name__}: {exc})"
        if self.capped:  # rows are left unread on the server: drop them with the connection
            self._discard(conn, cur, kill=True)
            return output
        cur.close()
        conn.rollback()  # nothing the agent runs may persist (DDL commits implicitly: grants stop it)
        if sql.lstrip()[:4].lower() == "use ":  # remember the agent's database for a reconnect
            with conn.cursor() as cur:
                cur.execute("SELECT DATABASE()")
                self.database = cur.fetchall()[0][0]
        return output

    def _run(self, conn: pymysql.Connection, cur: Any, sql: str) -> SqlOutput:
        """Execute and read the result within the limits; server errors become error texts."""
        deadline = time.monotonic() + self.client_timeout if self.client_timeout else None
        try:
            cur.execute(sql)
            if cur.description is None:
                return None
            return self._fetch(cur, deadline)
        except pymysql.MySQLError as exc:
            if _is_client_timeout(exc):
                raise StatementTimeout from exc
            if _is_lost(exc):
                raise
            self._finish(conn, cur)
            return f"Error executing query: {error_text(exc)}"

    def _fetch(self, cur: Any, deadline: float | None) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        size = 0
        while True:
            chunk = cur.fetchmany(FETCH_CHUNK)
            for row in chunk:
                if len(rows) >= self.max_rows or size >= self.max_bytes:
                    self.capped = True
                    return rows
                rows.append(tuple(row))
                size += row_bytes(row)
            if len(chunk) < FETCH_CHUNK:
                return rows
            if deadline is not None and time.monotonic() > deadline:
                raise StatementTimeout

    @staticmethod
    def _finish(conn: pymysql.Connection, cur: Any) -> None:
        """After a server error mid-result, read what is left so the connection can go on."""
        with contextlib.suppress(pymysql.MySQLError):
            cur.close()

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(pymysql.MySQLError):
                self._conn.close()
            self._conn = None
        self.tainted = False
        self._stale_settings = False
