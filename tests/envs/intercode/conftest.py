"""Fixtures for InterCodeSQL tests: the real MariaDB server, started through the project's API."""

from __future__ import annotations

import os

import pytest

from coevolve.envs.intercode_sql import IntercodeSqlEnv, MariaDBServer
from coevolve.envs.intercode_sql.server import DB_URL_ENV, DbUrl, ServerError


@pytest.fixture(scope="session")
def db_server() -> str:
    """Start the project's server unless COEVOLVE_DB_URL points at one; returns a status line."""
    if os.environ.get(DB_URL_ENV):
        return "external"
    try:
        return MariaDBServer().start()
    except ServerError:
        # Port taken, e.g. by the project's server started under another cache dir: use it if it serves us.
        DbUrl.default().connect(timeout=5).close()
        return "already serving on the default port"


@pytest.fixture
def env(db_server: str):
    with IntercodeSqlEnv() as environment:
        yield environment
