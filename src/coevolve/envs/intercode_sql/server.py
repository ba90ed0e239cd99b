"""A MariaDB server started by the project on loopback, holding InterCode's 20 Spider dev databases.

No systemd and no Docker: `mariadbd` runs as a plain background process with its data directory under
the project's cache (or a given folder). The first start initialises the directory, loads the MySQL
dump shipped inside the `intercode-bench` wheel and creates a read-only account for the agent.
Users with their own MySQL-protocol server (e.g. InterCode's MySQL 8 Docker image) skip all of this
and pass `--db-url` / COEVOLVE_DB_URL instead; that account is checked for grants wider than reading.

Locked down (InterCode's Docker image instead gives the agent MySQL's root): the administrator account
(`root`, or the OS user when not run as root) logs in only through the unix socket with the OS user's
identity (MariaDB `unix_socket`), in a 0700 folder; no other account but the read-only agent exists;
`--secure-file-priv` points at an empty 0700 folder and `--local-infile=0`. A data directory made by an
older layout (root without a password) is re-initialised on the next start.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pymysql
import pymysql.cursors

from coevolve.data.resources import cache_root
from coevolve.envs.base import ServiceError

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3307  # InterCode's port
AGENT_USER = "coevolve_agent"
AGENT_PASSWORD = "coevolve_agent"  # loopback only, read-only grants: the secret protects nothing
DB_URL_ENV = "COEVOLVE_DB_URL"
# Version of the data directory's accounts and settings; an older (or unmarked) directory is re-initialised.
LAYOUT_VERSION = 2
# Privileges an agent account may hold: anything else could change data, files or other sessions.
READ_PRIVILEGES = frozenset({"USAGE", "SELECT", "SHOW VIEW", "SHOW DATABASES"})
APT_HINT = "install it with `apt-get install --no-install-recommends mariadb-server`"


class ServerError(ServiceError):
    """The database server cannot be started, reached or stopped; the message says why."""


class UnsafeAccount(ServerError):
    """The agent's database account holds a privilege beyond reading."""


# ---------------------------------------------------------------- connection URLs


@dataclass(frozen=True)
class DbUrl:
    """Where the agent connects: `mysql://user:password@host:port`."""

    user: str = AGENT_USER
    password: str = AGENT_PASSWORD
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    @classmethod
    def parse(cls, url: str) -> DbUrl:
        parts = urlsplit(url)
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError as exc:
            raise ValueError(f"database URL {url!r}: bad port ({exc})") from None
        if parts.scheme not in ("mysql", "mariadb") or not parts.hostname or not parts.username:
            raise ValueError(f"database URL {url!r}: expected mysql://user:password@host:port")
        return cls(unquote(parts.username), unquote(parts.password or ""), parts.hostname, port)

    @classmethod
    def default(cls, url: str | None = None) -> DbUrl:
        """An explicit URL, else COEVOLVE_DB_URL, else the agent account of the project's server."""
        url = url or os.environ.get(DB_URL_ENV)
        return cls.parse(url) if url else cls()

    def __str__(self) -> str:  # never print the password
        return f"mysql://{self.user}:***@{self.host}:{self.port}"

    def connect(
        self,
        database: str | None = None,
        timeout: float = 10.0,
        read_timeout: float | None = None,
        cursorclass: type | None = None,
    ) -> pymysql.Connection:
        """A connection (read_timeout: seconds a single socket read may wait; None = forever)."""
        try:
            return pymysql.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                database=database,
                charset="utf8mb4",
                autocommit=False,
                connect_timeout=timeout,
                read_timeout=read_timeout,
                write_timeout=read_timeout,
                local_infile=False,
                cursorclass=cursorclass or pymysql.cursors.Cursor,
            )
        except pymysql.err.OperationalError as exc:
            raise ServerError(
                f"cannot connect to {self} ({exc.args[-1]}); start the project's server with "
                f"`coevolve db start`, or pass --db-url / set {DB_URL_ENV} to a running MySQL server"
            ) from exc


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside parentheses (`SELECT (a, b), SHOW VIEW` -> two privileges)."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    return [*parts, "".join(current)]


_GRANT_RE = re.compile(r"^GRANT\s+(.*?)\s+ON\s+(.*?)\s+TO\s", re.IGNORECASE | re.DOTALL)


def too_wide_grants(grants: list[str]) -> list[tuple[str, str]]:
    """(privilege, grant line) for every privilege beyond reading in `SHOW GRANTS` output.

    A role or proxy grant, or WITH GRANT OPTION, counts as too wide: what it allows cannot be read
    from the line itself.
    """
    wide = []
    for line in grants:
        match = _GRANT_RE.match(line.strip())
        if match is None:  # `GRANT role TO user`: privileges held through a role
            wide.append(("role", line))
            continue
        for privilege in _split_top_level(match.group(1)):
            name = " ".join(re.sub(r"\(.*\)", "", privilege).split()).upper()
            if name not in READ_PRIVILEGES:
                wide.append((name, line))
        if re.search(r"WITH\s+(.*\s)?GRANT\s+OPTION", line, re.IGNORECASE):
            wide.append(("GRANT OPTION", line))
    return wide


def check_read_only_account(conn: pymysql.Connection, url: DbUrl) -> None:
    """Refuse an account that may write (UnsafeAccount names the grant that is too wide)."""
    with conn.cursor() as cur:
        cur.execute("SHOW GRANTS FOR CURRENT_USER()")
        grants = [str(row[0]) for row in cur.fetchall()]
    wide = too_wide_grants(grants)
    if wide:
        privilege, line = wide[0]
        raise UnsafeAccount(
            f"the database account of {url} may do more than read: {privilege} in `{line}`; give the "
            f"agent an account with only SELECT and SHOW VIEW (e.g. CREATE USER 'agent'@'%' IDENTIFIED "
            f"BY '...'; GRANT SELECT, SHOW VIEW ON <db>.* TO 'agent'@'%') and pass it with --db-url "
            f"or {DB_URL_ENV}"
        )


# ---------------------------------------------------------------- the local server


def spider_dump_path() -> Path:
    """InterCode's Spider dev dump inside the installed wheel (found without importing intercode,
    whose env module would pull in docker)."""
    spec = importlib.util.find_spec("intercode")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError(
            "the PyPI package intercode-bench (0.1.22) is not installed; it ships the databases"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "datasets" / "spider_dev.sql"
    if not path.is_file():
        raise ServerError(f"{path} is missing; reinstall intercode-bench==0.1.22")
    return path


@dataclass
class ServerConfig:
    """The project's own MariaDB server."""

    port: int = DEFAULT_PORT
    # Folder holding the data directory, socket, pid file and log (default: <cache>/mariadb).
    root: Path | None = None
    dump: Path | None = None  # default: intercode-bench's spider_dev.sql
    startup_timeout: float = 60.0
    extra_args: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root or cache_root() / "mariadb").absolute()


@dataclass
class ServerStatus:
    state: str  # "running" | "stopped" | "stale"
    pid: int | None
    message: str


def _binary(*names: str) -> str:
    for name in names:
        path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
        if path:
            return path
    raise ServerError(f"{names[0]} not found; {APT_HINT}")


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _is_db_process(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"mariadbd" in cmdline or b"mysqld" in cmdline


class MariaDBServer:
    """Start, stop and inspect the project's MariaDB server."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        root = self.config.root
        assert root is not None
        self.root = root
        self.datadir = root / "data"
        self.socket = root / "mariadbd.sock"
        self.pid_file = root / "mariadbd.pid"
        self.log_file = root / "mariadbd.log"
        self.marker = root / "loaded.json"
        self.layout_file = root / "layout.json"
        self.files_dir = root / "files"  # --secure-file-priv: empty, nothing may be read or written there
        # The administrator logs in through the socket as the OS user running the server.
        self.admin_user = "root" if os.geteuid() == 0 else getpass.getuser()

    @property
    def url(self) -> DbUrl:
        return DbUrl(port=self.config.port)

    # ------------------------------------------------------------ status

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def status(self) -> ServerStatus:
        pid = self.pid()
        if pid is None:
            return ServerStatus("stopped", None, f"not running (data in {self.root})")
        if not _is_db_process(pid):
            return ServerStatus("stale", pid, f"stale pid file {self.pid_file} (process {pid} is gone)")
        loaded = "databases loaded" if self.marker.is_file() else "databases NOT loaded"
        return ServerStatus(
            "running",
            pid,
            f"running: pid {pid}, {DEFAULT_HOST}:{self.config.port}, {loaded}, data in {self.root}",
        )

    # ------------------------------------------------------------ start / stop

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise start/stop between processes (tests and CLI may start the server together)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def layout(self) -> int:
        """The data directory's layout version (0: none or written by an older version)."""
        try:
            return int(json.loads(self.layout_file.read_text())["layout"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def start(self) -> str:
        """Start the server if needed and make sure the databases and the agent account exist."""
        with self._lock():
            status = self.status()
            outdated = (self.datadir / "mysql").is_dir() and self.layout() != LAYOUT_VERSION
            if status.state == "running" and not outdated:
                if not self.marker.is_file():
                    self._load()
                    return f"already running (pid {status.pid}); loaded the databases"
                return f"already running (pid {status.pid}, port {self.config.port})"
            if status.state == "running":
                log.warning("stopping the server of an older data directory layout to re-initialise it")
                self._stop_locked(30.0)
            if status.state == "stale":
                log.warning("removing %s", status.message)
                self.pid_file.unlink(missing_ok=True)
            if outdated:
                self._discard_data()
            if not _port_free(DEFAULT_HOST, self.config.port):
                raise ServerError(
                    f"port {self.config.port} on {DEFAULT_HOST} is in use by another program (not the "
                    f"server in {self.root}); stop it, choose another port with --port, or point "
                    f"--db-url / {DB_URL_ENV} at that server if it holds the InterCode databases"
                )
            started = time.monotonic()
            self._initialise()
            self._launch()
            if not self.marker.is_file():
                self._load()
            return f"started (pid {self.pid()}, port {self.config.port}) in {time.monotonic() - started:.1f}s"

    def stop(self, timeout: float = 30.0) -> str:
        with self._lock():
            return self._stop_locked(timeout)

    def _stop_locked(self, timeout: float) -> str:
        status = self.status()
        if status.state == "stale":
            self.pid_file.unlink(missing_ok=True)
            return f"not running; removed {status.message}"
        if status.state == "stopped" or status.pid is None:
            return "not running"
        os.kill(status.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _is_db_process(status.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _is_db_process(status.pid):
            raise ServerError(f"mariadbd (pid {status.pid}) did not stop within {timeout:.0f}s")
        self.pid_file.unlink(missing_ok=True)
        return f"stopped (pid {status.pid})"

    def _user_args(self) -> list[str]:
        # mariadbd refuses to run as root unless told to; as root we keep root (the cache dir may be
        # unreadable for the `mysql` user, e.g. under /root).
        return ["--user=root"] if os.geteuid() == 0 else []

    def _discard_data(self) -> None:
        """Remove a data directory of an older layout (it only holds the reloadable dump)."""
        log.warning("re-initialising %s (layout %d, current %d)", self.datadir, self.layout(), LAYOUT_VERSION)
        shutil.rmtree(self.datadir)
        self.marker.unlink(missing_ok=True)
        self.layout_file.unlink(missing_ok=True)

    def _initialise(self) -> None:
        self.root.chmod(0o700)  # the socket inside: no other OS user reaches the server through it
        self.files_dir.mkdir(mode=0o700, exist_ok=True)
        self.files_dir.chmod(0o700)
        if (self.datadir / "mysql").is_dir():
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        cmd = [
            _binary("mariadb-install-db", "mysql_install_db"),
            "--no-defaults",
            f"--datadir={self.datadir}",
            "--auth-root-authentication-method=socket",  # root: the OS root user via the socket only
            f"--auth-root-socket-user={self.admin_user}",
            "--skip-test-db",
            "--skip-name-resolve",
            *self._user_args(),
        ]
        log.info("initialising %s", self.datadir)
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            shutil.rmtree(self.datadir, ignore_errors=True)
            raise ServerError(f"mariadb-install-db failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        self.marker.unlink(missing_ok=True)
        self.layout_file.write_text(json.dumps({"layout": LAYOUT_VERSION}) + "\n")

    def _launch(self) -> None:
        cmd = [
            _binary("mariadbd", "mysqld"),
            "--no-defaults",
            *self._user_args(),
            f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--pid-file={self.pid_file}",
            f"--log-error={self.log_file}",
            f"--bind-address={DEFAULT_HOST}",
            f"--port={self.config.port}",
            "--skip-name-resolve",
            "--lower-case-table-names=1",  # as InterCode's MySQL image: Spider SQL mixes identifier case
            f"--secure-file-priv={self.files_dir}",
            "--local-infile=0",
            "--skip-symbolic-links",
            *self.config.extra_args,
        ]
        log.info("starting mariadbd on %s:%d", DEFAULT_HOST, self.config.port)
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.config.startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ServerError(f"mariadbd exited with code {proc.returncode}:\n{self._log_tail()}")
            try:
                self._root_connection().close()
                if self.pid() is not None:
                    return
            except pymysql.err.OperationalError:
                pass
            time.sleep(0.2)
        proc.terminate()
        raise ServerError(f"mariadbd did not accept connections within {self.config.startup_timeout:.0f}s")

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return f"(no log at {self.log_file})"

    def _root_connection(self) -> pymysql.Connection:
        """The administrator, through the socket (unix_socket authentication: no password)."""
        return pymysql.connect(unix_socket=str(self.socket), user=self.admin_user, autocommit=True)

    # ------------------------------------------------------------ data

    def _load(self) -> None:
        dump = Path(self.config.dump or spider_dump_path())
        log.info("loading %s", dump)
        client = _binary("mariadb", "mysql")
        with dump.open("rb") as fh:
            result = subprocess.run(
                [client, "--no-defaults", f"--user={self.admin_user}", f"--socket={self.socket}"],
                stdin=fh,
                capture_output=True,
            )
        if result.returncode != 0:
            raise ServerError(f"loading {dump} failed:\n{result.stderr.decode(errors='replace')[-2000:]}")
        databases = self._create_agent_account()
        digest = hashlib.sha256(dump.read_bytes()).hexdigest()
        self.marker.write_text(
            json.dumps({"dump": str(dump), "sha256": digest, "databases": databases}, indent=1)
        )

    def _create_agent_account(self) -> list[str]:
        """Read-only account for the agent; every other account (the dump's all-powerful `admin`, any
        root account but the socket one) is removed."""
        conn = self._root_connection()
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW DATABASES")
                system = {"mysql", "information_schema", "performance_schema", "sys", "test"}
                databases = sorted(row[0] for row in cur.fetchall() if row[0] not in system)
                keep = {(self.admin_user, "localhost"), ("mariadb.sys", "localhost")}
                keep |= {(AGENT_USER, host) for host in ("127.0.0.1", "localhost")}
                cur.execute("SELECT User, Host FROM mysql.user")
                for user, host in cur.fetchall():
                    if (user, host) not in keep:
                        cur.execute("DROP USER %s@%s", (user, host))
                cur.execute("ALTER USER %s@'localhost' IDENTIFIED VIA unix_socket", (self.admin_user,))
                for host in ("127.0.0.1", "localhost"):
                    account = f"'{AGENT_USER}'@'{host}'"
                    cur.execute(f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY '{AGENT_PASSWORD}'")
                    for db in databases:
                        cur.execute(f"GRANT SELECT, SHOW VIEW ON `{db}`.* TO {account}")
                cur.execute("FLUSH PRIVILEGES")
        finally:
            conn.close()
        return databases
