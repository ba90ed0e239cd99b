"""Probes against the locked-down server and the agent's session: each is refused or contained."""

from __future__ import annotations

import argparse
import os
import socket
import time
import tracemalloc

import pymysql
import pytest

from coevolve.data.records import Task
from coevolve.envs.intercode_sql import IntercodeSqlEnv, MariaDBServer
from coevolve.envs.intercode_sql import service as db_cli
from coevolve.envs.intercode_sql.actions import format_sql_action
from coevolve.envs.intercode_sql.server import (
    AGENT_USER,
    LAYOUT_VERSION,
    DbUrl,
    ServerConfig,
    UnsafeAccount,
)
from coevolve.envs.intercode_sql.session import SqlSession

pytestmark = pytest.mark.mysql

SLOW_STATEMENT_TIMEOUT = 0.5  # seconds: the probes below would otherwise sleep for a minute


def run(env: IntercodeSqlEnv, sql: str):
    return env.act(format_sql_action("t", sql))


def world_task(env: IntercodeSqlEnv) -> Task:
    """A probe task on Spider's world_1 database (built here: the probes need no task file)."""
    return Task("intercode_sql", "test", "probe", "How many countries are there?", meta=WORLD_META)


WORLD_META = {"db": "world_1", "gold": "SELECT count(*) FROM country"}


@pytest.fixture
def own_server(db_server):
    """The project's server in the default folder (not an external COEVOLVE_DB_URL server)."""
    server = MariaDBServer()
    if os.environ.get("COEVOLVE_DB_URL") or server.status().state != "running":
        pytest.skip("the project's own server is not the one in use")
    return server


@pytest.fixture
def short_env(db_server):
    with IntercodeSqlEnv(statement_timeout=SLOW_STATEMENT_TIMEOUT) as env:
        env.reset(world_task(env))
        yield env


# ------------------------------------------------------------------ the server


def test_root_cannot_log_in_over_tcp(own_server):
    for password in ("", "root", AGENT_USER):
        with pytest.raises(pymysql.err.OperationalError) as err:
            pymysql.connect(host="127.0.0.1", port=own_server.config.port, user="root", password=password)
        assert err.value.args[0] in (1045, 1130)  # access denied / host not allowed


def test_server_files_and_local_infile_are_off(own_server):
    conn = DbUrl().connect()
    with conn.cursor() as cur:
        cur.execute("SELECT @@secure_file_priv, @@local_infile")
        secure_file_priv, local_infile = cur.fetchone()
        cur.execute("SELECT LOAD_FILE('/etc/hostname')")
        assert cur.fetchone() == (None,)
    conn.close()
    assert local_infile == 0
    assert os.path.realpath(secure_file_priv) == os.path.realpath(own_server.files_dir)
    assert os.listdir(own_server.files_dir) == []
    assert own_server.root.stat().st_mode & 0o077 == 0  # the socket's folder is the owner's only
    assert own_server.layout() == LAYOUT_VERSION


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_old_data_directory_is_reinitialised_locked_down(db_server, tmp_path):
    dump = tmp_path / "tiny.sql"
    dump.write_text(
        "CREATE DATABASE tiny; USE tiny; CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2);\n"
        "CREATE USER 'admin'@'%' IDENTIFIED BY 'admin'; GRANT ALL ON *.* TO 'admin'@'%';\n"
    )
    server = MariaDBServer(ServerConfig(root=tmp_path / "srv", port=_free_port(), dump=dump))
    (server.datadir / "mysql").mkdir(parents=True)  # a data directory of the older layout (no layout.json)
    (server.datadir / "mysql" / "old-file").write_text("x")
    server.marker.write_text("{}")
    try:
        assert server.start().startswith("started")
        assert server.layout() == LAYOUT_VERSION
        assert not (server.datadir / "mysql" / "old-file").exists()
        agent = SqlSession(server.url)
        agent.use("tiny")
        assert agent.execute("SELECT a FROM t ORDER BY a") == [(1,), (2,)]
        agent.close()
        for user, password in (("root", ""), ("admin", "admin")):  # the dump's admin is gone too
            with pytest.raises(pymysql.err.OperationalError):
                pymysql.connect(host="127.0.0.1", port=server.config.port, user=user, password=password)
        assert server.start().startswith("already running")
    finally:
        server.stop()


def test_account_that_may_write_is_refused(own_server, capsys):
    admin = own_server._root_connection()
    user, password = "coevolve_probe_rw", "probe"
    try:
        with admin.cursor() as cur:
            cur.execute("CREATE OR REPLACE USER %s@'127.0.0.1' IDENTIFIED BY %s", (user, password))
            cur.execute(f"GRANT SELECT, INSERT ON `world_1`.* TO '{user}'@'127.0.0.1'")
        url = f"mysql://{user}:{password}@127.0.0.1:{own_server.config.port}"
        with IntercodeSqlEnv(db_url=url) as env, pytest.raises(UnsafeAccount, match="INSERT in `GRANT"):
            env.reset(world_task(env))
        assert db_cli.run(argparse.Namespace(action="status", db_url=url, port=None, dir=None)) == 2
        assert "may do more than read: INSERT" in capsys.readouterr().out
    finally:
        with admin.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'127.0.0.1'", (user,))
        admin.close()


# ------------------------------------------------------------------ the agent's session


def test_set_statement_cannot_lift_the_time_limit(short_env):
    started = time.monotonic()
    for sql in (
        "SET STATEMENT max_statement_time=0 FOR SELECT SLEEP(60)",
        "/*!SET STATEMENT max_statement_time=0 FOR*/ SELECT SLEEP(60)",
        "EXECUTE IMMEDIATE 'SET STATEMENT max_statement_time=0 FOR SELECT SLEEP(60)'",
    ):
        result = run(short_env, sql)
        assert result.observation.startswith("Observation: Error executing query:"), sql
        assert not result.done and result.info["error"]
    for sql in ("SET SESSION max_statement_time = 0", "SET @@max_statement_time = 0", "SET autocommit = 1"):
        assert "is not allowed" in run(short_env, sql).observation
    assert "max_statement_time exceeded" in run(short_env, "SELECT SLEEP(60)").observation
    assert time.monotonic() - started < 30  # each probe ended at the 0.5 s limit, none slept 60 s
    assert run(short_env, "SELECT @@max_statement_time, @@tx_read_only, @@autocommit").observation == (
        f"Observation: [({SLOW_STATEMENT_TIMEOUT}, 1, 0)]"
    )


def test_settings_changed_past_the_guard_are_applied_again(db_server):
    session = SqlSession(DbUrl.default(), statement_timeout=SLOW_STATEMENT_TIMEOUT)
    session.use("world_1")
    session.execute("SELECT 1")
    with session.connection.cursor() as cur:  # as if a statement had slipped past the guard
        cur.execute("SET SESSION max_statement_time = 0, autocommit = 1")
        cur.execute("SET SESSION TRANSACTION READ WRITE")
    session._stale_settings = True  # what the session records after any statement that is not a query
    assert session.execute("SELECT @@max_statement_time, @@autocommit, @@tx_read_only") == [
        (SLOW_STATEMENT_TIMEOUT, 0, 1)
    ]
    session.close()


def test_client_timeout_ends_and_kills_a_statement_the_server_does_not_limit(db_server):
    session = SqlSession(DbUrl.default(), statement_timeout=0, client_timeout=0.5)
    session.use("world_1")
    started = time.monotonic()
    # a join of 6.8e10 rows: without a server limit it runs on after the client left, unless killed
    output = session.execute("SELECT COUNT(*), 'probe-client-timeout' FROM city a, city b, city c")
    assert time.monotonic() - started < 30
    assert isinstance(output, str) and "client timeout" in output
    watcher = DbUrl.default().connect()  # the same account sees (and may kill) its own threads
    try:
        with watcher.cursor() as cur:
            for _ in range(50):  # KILL is asynchronous: wait until the thread is gone
                cur.execute(
                    "SELECT ID FROM information_schema.PROCESSLIST "
                    "WHERE INFO LIKE '%probe-client-timeout%' AND ID <> CONNECTION_ID()"
                )
                left = [row[0] for row in cur.fetchall()]
                if not left:
                    break
                time.sleep(0.1)
            for thread in left:  # leave the shared server clean if the session did not
                cur.execute(f"KILL {thread}")
        assert not left, "the timed-out statement still runs on the server"
    finally:
        watcher.close()
    assert session.execute("SELECT DATABASE()") == [("world_1",)]
    session.close()


def test_latin1_results_leave_the_env_working(short_env):
    assert "is not allowed" in run(short_env, "SET NAMES latin1").observation
    assert run(short_env, "SELECT CHAR(233 USING latin1)").observation == "Observation: [('é',)]"


def test_undecodable_result_is_an_error_text(db_server):
    session = SqlSession(DbUrl.default(), statement_timeout=SLOW_STATEMENT_TIMEOUT)
    session.use("world_1")
    with session.connection.cursor() as cur:  # the client still decodes utf-8
        cur.execute("SET NAMES latin1")
    output = session.execute("SELECT CHAR(233 USING latin1)")
    assert isinstance(output, str) and output.startswith("Error executing query:")
    assert "decode" in output
    assert session.execute("SELECT CHAR(233 USING latin1)") == [("é",)]  # a fresh, pinned connection
    session.close()


def test_million_row_result_is_capped_with_bounded_memory(short_env):
    sql = "SELECT a.ID, b.ID FROM city a, city b LIMIT 1000000"
    tracemalloc.start()
    try:
        result = run(short_env, sql)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rows = short_env.last_output
    assert result.info["result_capped"] and isinstance(rows, list)
    assert len(rows) == short_env.config.max_result_rows < 1_000_000
    assert peak < 20_000_000  # capped: about 1 MB here; reading all 10^6 rows takes over 60 MB
    assert len(result.observation) == len("Observation: ") + 350 + 3
    submitted = run(short_env, "submit")
    assert submitted.done and len(submitted.observation) == len("Observation: ") + 350 + 3
    short_env.reset(world_task(short_env))  # the env goes on
    assert run(short_env, "SELECT count(*) FROM country").observation == "Observation: [(239,)]"


def test_password_change_is_refused(short_env):
    assert "SET PASSWORD" in run(short_env, "SET PASSWORD = PASSWORD('changed')").observation
    DbUrl.default().connect().close()  # the shared account still logs in with its password
