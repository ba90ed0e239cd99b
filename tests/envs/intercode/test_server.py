"""Server management: URLs, stale pid files, busy ports, idempotent start."""

import os
import socket

import pytest

from coevolve.envs.intercode_sql.server import (
    DbUrl,
    MariaDBServer,
    ServerConfig,
    ServerError,
    spider_dump_path,
)


def test_db_url_parsing():
    url = DbUrl.parse("mysql://admin:p%40ss@db.local:3306")
    assert (url.user, url.password, url.host, url.port) == ("admin", "p@ss", "db.local", 3306)
    assert "p@ss" not in str(url)


@pytest.mark.parametrize("bad", ["http://a:b@h:1", "mysql://h:1", "mysql://a:b@h:notaport"])
def test_bad_db_url_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="database URL"):
        DbUrl.parse(bad)


def test_db_url_from_environment(monkeypatch):
    monkeypatch.setenv("COEVOLVE_DB_URL", "mysql://u:p@127.0.0.1:4000")
    assert DbUrl.default().port == 4000
    assert DbUrl.default("mysql://x:y@h:5").user == "x"


def test_dump_ships_in_the_intercode_wheel():
    assert "CREATE DATABASE" in spider_dump_path().read_text(encoding="utf-8")[:2000]


def test_stale_pid_file_is_reported(tmp_path):
    server = MariaDBServer(ServerConfig(root=tmp_path))
    server.pid_file.write_text("999999999\n")  # no such process
    assert server.status().state == "stale"
    assert "not running" in server.stop()
    assert not server.pid_file.exists()


def test_busy_port_is_a_clear_error(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        server = MariaDBServer(ServerConfig(root=tmp_path, port=port))
        with pytest.raises(ServerError, match=f"port {port} .* in use"):
            server.start()
    assert not (tmp_path / "data").exists()  # failed before touching the data directory


@pytest.mark.mysql
def test_start_twice_says_already_running(db_server):
    if os.environ.get("COEVOLVE_DB_URL") or db_server.startswith("already serving"):
        pytest.skip("a server not managed from this cache dir is in use")
    server = MariaDBServer()
    assert server.start().startswith("already running")
    assert server.status().state == "running"
