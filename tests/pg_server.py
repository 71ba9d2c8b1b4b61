"""A throwaway PostgreSQL server for the tests: one per test session, a fresh database per test.

The server comes from Debian's ``postgresql`` package (``.ci/run`` installs it). It lives
in a new temporary directory, listens on 127.0.0.1 on a free port and on a Unix socket in
that directory, and is gone when the session ends. PostgreSQL refuses to run as root, so
under root (CI, this machine) ``initdb`` and ``postgres`` run as the ``postgres`` system
user the package creates, with the directory handed to that user. The postmaster is
a child of the test process (no ``pg_ctl`` daemon), so it can always be stopped, and
dies with the test process even if that is killed outright.

Sign-in is as on a council's server: ``scram-sha-256`` for every TCP connection, so a login
role's password is really checked. The Unix socket trusts whoever reaches it, which only
the user running the tests (and root) can: the directory is theirs, mode 0700. The
superuser uses it for set-up and clean-up.

Import the fixtures a test module uses by name (``from pg_server import pg_database``);
pytest registers imported fixtures as the module's own. ``pg_database`` alone is enough;
every module shares the one server of the session. Or use the plain functions:

    server = start_pg_server()
    url = server.create_database("scratch")   # owner role with CREATEROLE, password in URL
    ...
    server.stop()

Test-only settings: ``fsync``, ``synchronous_commit`` and ``full_page_writes`` are off, so
a crash of the machine could lose or corrupt this server's data. Never copy them to a
real server.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

LOOPBACK = "127.0.0.1"
DEBIAN_ROOT = Path("/usr/lib/postgresql")  # one bin/ per installed major version
PREFIX = "caseview-pg-"  # of the temporary directories
SUPERUSER = "postgres"
SYSTEM_USER = "postgres"  # the account Debian's package creates; the server runs as it under root
MIN_VERSION = 13  # DROP DATABASE ... WITH (FORCE)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PORT_TRIES = 5
NEEDED = ("initdb", "postgres")
INSTALL_HINT = (
    "The PostgreSQL tests need the PostgreSQL server programs (initdb, postgres). "
    "Install Debian's package: `apt-get install postgresql` (.ci/run does), or set "
    "CASEVIEW_PG_BINDIR to the directory that holds them."
)

# Test-only: speed over durability (see the module docstring), and room for the tests
# that run 20 client processes at once next to the suite's own connections.
SETTINGS = {
    "listen_addresses": LOOPBACK,
    "max_connections": "120",
    "shared_buffers": "32MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "timezone": "UTC",
    "log_timezone": "UTC",
    "logging_collector": "off",  # the log goes to the file we hand it (server.log)
}


class PgServerError(RuntimeError):
    """The test PostgreSQL server could not be found, started or cleaned up."""


def find_bindir() -> Path:
    """The directory holding PostgreSQL's server programs (``initdb``, ``postgres``).

    In order: ``CASEVIEW_PG_BINDIR``; ``pg_config --bindir``; the highest version under
    ``/usr/lib/postgresql/*/bin`` (Debian); ``initdb`` on ``PATH``. Raises with the
    install hint when none has them: the PostgreSQL tests are never skipped silently.
    """
    candidates: list[Path] = []
    if override := os.environ.get("CASEVIEW_PG_BINDIR"):
        candidates.append(Path(override))
    if pg_config := shutil.which("pg_config"):
        # Debian's pg_config comes with libpq-dev and may name a version whose server
        # is not installed, hence the check for the programs below.
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(out.stdout.strip()))
    debian = DEBIAN_ROOT
    if debian.is_dir():
        versions = [p for p in debian.iterdir() if p.name.isdigit()]
        for version in sorted(versions, key=lambda p: int(p.name), reverse=True):
            candidates.append(version / "bin")
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in NEEDED):
            return bindir
    looked = ", ".join(str(c) for c in candidates) or "nowhere (no pg_config, no initdb on PATH)"
    raise PgServerError(f"{INSTALL_HINT} Looked in: {looked}.")


def server_version(bindir: Path) -> int:
    """The major version of the server in ``bindir`` (``postgres --version``)."""
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"\) (\d+)", out) or re.search(r"(\d+)", out)
    if not match:
        raise PgServerError(f"Could not read the PostgreSQL version from {out!r}.")
    return int(match.group(1))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (it may be taken later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def unique_name(hint: str) -> str:
    """A database name from ``hint`` (a test's name) that no other database has.

    Lower case letters, digits and ``_`` only, short enough that ``NAME_owner`` fits
    PostgreSQL's 63-byte limit on names.
    """
    base = re.sub(r"[^a-z0-9_]+", "_", hint.lower()).strip("_")[:40] or "db"
    if not base[0].isalpha():
        base = f"t_{base}"[:40]
    return f"{base}_{secrets.token_hex(3)}"


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no server log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class PgServer:
    """A running throwaway server. ``stop()`` ends it and deletes its directory."""

    host: str
    port: int
    superuser: str
    password: str = field(repr=False)  # the superuser's, random per server
    socket_dir: Path
    data_dir: Path
    log_file: Path
    version: int
    run_as: str | None  # the system user the server runs as; None: the current user
    process: subprocess.Popen[bytes] = field(repr=False)
    _owners: dict[str, str] = field(default_factory=dict, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def url(self, dbname: str, user: str | None = None, password: str | None = None) -> str:
        """A libpq URL for ``dbname`` over TCP.

        Without ``user`` it is the contract form ``postgresql://HOST:PORT/DBNAME``
        (DESIGN 2a): who signs in, and their password, come from elsewhere.
        """
        auth = ""
        if user is not None:
            auth = quote(user, safe="")
            if password is not None:
                auth += ":" + quote(password, safe="")
            auth += "@"
        return f"postgresql://{auth}{self.host}:{self.port}/{quote(dbname, safe='')}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection over the Unix socket, in autocommit mode (for set-up)."""
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=self.superuser,
            dbname=dbname,
            autocommit=True,
        )

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` owned by a new role ``NAME_owner``.

        The owner may log in (password checked with SCRAM over TCP) and create roles, as
        the database owner who runs ``caseview init --admin`` does. Returns the owner's
        URL with the password in it (``psycopg.conninfo.conninfo_to_dict`` takes it
        apart). PUBLIC may not connect: a role reaches the database only if granted
        CONNECT, as on a shared council server.
        """
        owner = f"{name}_owner"
        password = secrets.token_urlsafe(18)
        with self.connect() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
                    sql.Identifier(owner), sql.Literal(password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(name), sql.Identifier(owner)
                )
            )
            conn.execute(
                sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name))
            )
        self._owners[name] = owner
        return self.url(name, owner, password)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` (closing its connections) and the owner role it was made with."""
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        if owner := self._owners.pop(name, None):
            self.drop_roles([owner])

    def roles(self) -> set[str]:
        """The names of every role in the cluster except PostgreSQL's own (``pg_*``)."""
        with self.connect() as conn:
            rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_'")
            return {str(row[0]) for row in rows}

    def drop_roles(self, names: list[str] | set[str]) -> None:
        """Drop these roles, first ending their sessions and their grants on shared objects.

        Roles are cluster-wide: a test's login roles outlive its database unless dropped.
        Call after dropping the databases whose objects the roles own.
        """
        names = sorted(set(names) - {self.superuser})
        if not names:
            return
        with self.connect() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE usename = ANY(%s) AND pid <> pg_backend_pid()",
                [names],
            )
            existing = [
                str(row[0])
                for row in conn.execute(
                    "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [names]
                )
            ]
            if not existing:
                return
            idents = sql.SQL(", ").join(sql.Identifier(n) for n in existing)
            # In the maintenance database: drops what they own here and their privileges
            # on shared objects (other databases, e.g. a GRANT CONNECT).
            conn.execute(sql.SQL("DROP OWNED BY {}").format(idents))
            for name in existing:
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))

    @contextlib.contextmanager
    def temporary_database(self, hint: str = "db") -> Iterator[str]:
        """A fresh database (see :meth:`create_database`) for the ``with`` block.

        Afterwards the database, its owner and every role created meanwhile are dropped.
        Roles are told apart by name: those that were not there when the database was
        made. That is exact while one test at a time uses this server, as without
        pytest-xdist (with it, each worker process has a server of its own).
        """
        name = unique_name(hint)
        url = self.create_database(name)
        before = self.roles()
        try:
            yield url
        finally:
            self.drop_database(name)  # and its owner
            self.drop_roles(self.roles() - before)

    def stop(self) -> None:
        """Stop the server (fast shutdown, then harder) and delete its directory. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            _end(self.process, self.data_dir)
        finally:
            shutil.rmtree(self.socket_dir, ignore_errors=True)


def _end(process: subprocess.Popen[bytes], data_dir: Path) -> None:
    """End a postmaster: SIGINT (fast shutdown), then SIGQUIT (immediate), then SIGKILL."""
    for sig, wait in ((signal.SIGINT, STOP_TIMEOUT), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait)
    # A postmaster that is not our child (it should always be) is found by its pidfile.
    pidfile = data_dir / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pidfile.read_text().splitlines()[0])
        if pid != process.pid:
            os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class Account:
    """A system user to run the server's programs as (when we are root)."""

    name: str
    uid: int
    gid: int

    def spawn_args(self) -> dict[str, Any]:
        """subprocess arguments that switch to this user (and drop root's groups)."""
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _system_account() -> Account | None:
    """Who runs the server: the current user, or the ``postgres`` system user under root."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PgServerError(
            "PostgreSQL refuses to run as root and there is no 'postgres' system user to run "
            f"it as. {INSTALL_HINT}"
        ) from None
    return Account(SYSTEM_USER, entry.pw_uid, entry.pw_gid)


def start_pg_server(bindir: Path | None = None) -> PgServer:
    """initdb a new cluster in a temporary directory and start it; ready when this returns.

    Raises :class:`PgServerError` with the end of the server's log if it does not come up
    within ``START_TIMEOUT`` seconds. The server is stopped at interpreter exit at the
    latest, and (where ``setpriv`` exists) dies with the process that started it.
    """
    bindir = bindir or find_bindir()
    version = server_version(bindir)
    if version < MIN_VERSION:
        raise PgServerError(f"PostgreSQL {version} in {bindir} is too old; need {MIN_VERSION}+.")
    account = _system_account()
    _sweep_stale()
    base = Path(tempfile.mkdtemp(prefix=PREFIX))  # mode 0700, ours alone
    process: subprocess.Popen[bytes] | None = None
    try:
        _give(base, account)
        data_dir = base / "data"
        log_file = base / "server.log"
        password = secrets.token_urlsafe(24)
        _initdb(bindir, base, data_dir, password, account)
        for attempt in range(PORT_TRIES):
            port = free_port()
            process = _launch(bindir, base, data_dir, log_file, port, account)
            server = PgServer(
                host=LOOPBACK,
                port=port,
                superuser=SUPERUSER,
                password=password,
                socket_dir=base,
                data_dir=data_dir,
                log_file=log_file,
                version=version,
                run_as=account.name if account else None,
                process=process,
            )
            if _wait_ready(server):
                atexit.register(server.stop)
                return server
            # It exited. The usual reason: another program took the port between our
            # check and its bind; try another port.
            log = _tail(log_file, 200)
            if attempt + 1 < PORT_TRIES and "could not bind" in log:
                log_file.unlink(missing_ok=True)
                continue
            raise PgServerError(f"PostgreSQL did not start. End of its log:\n{_tail(log_file)}")
        raise AssertionError("unreachable")
    except BaseException:
        if process is not None:
            _end(process, base / "data")
        shutil.rmtree(base, ignore_errors=True)
        raise


def _sweep_stale(min_age: float = 3600.0) -> None:
    """Delete the directories of test servers whose test process was killed outright.

    Their server died with that process (``--pdeathsig``), but nothing was left to
    delete the directory (~40 MB). Only those over an hour old with no live postmaster
    are touched, so a server another test session is starting or running is left alone.
    """
    now = time.time()
    for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if now - path.stat().st_mtime < min_age or _alive(path / "data" / "postmaster.pid"):
                continue
            shutil.rmtree(path, ignore_errors=True)


def _alive(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _give(path: Path, account: Account | None) -> None:
    """Hand ``path`` to the account the server runs as (nothing to do when that is us)."""
    if account is not None:
        os.chown(path, account.uid, account.gid)


def _spawn_args(account: Account | None) -> dict[str, Any]:
    return account.spawn_args() if account else {}


def _initdb(
    bindir: Path, base: Path, data_dir: Path, password: str, account: Account | None
) -> None:
    pwfile = base / "pwfile"
    pwfile.touch(mode=0o600)
    pwfile.write_text(password + "\n")
    _give(pwfile, account)
    args = [
        str(bindir / "initdb"),
        f"--pgdata={data_dir}",
        f"--username={SUPERUSER}",
        f"--pwfile={pwfile}",
        "--auth-host=scram-sha-256",
        "--auth-local=trust",
        "--encoding=UTF8",
        # Byte-order collation (fast, the same everywhere); a UTF-8 ctype so that text
        # search and lower() fold the case of non-ASCII letters (Ä, É), as SQLite does.
        "--lc-collate=C",
        f"--lc-ctype={_utf8_ctype()}",
        "--no-sync",  # test-only, like fsync=off
        "--no-instructions",
    ]
    try:
        result = subprocess.run(
            args, cwd=base, capture_output=True, text=True, env=_env(), **_spawn_args(account)
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        raise PgServerError(f"initdb failed ({result.returncode}):\n{result.stderr[-3000:]}")
    # Appended as root, the file stays the server's (it exists, owner unchanged).
    with (data_dir / "postgresql.conf").open("a") as conf:
        conf.write("\n# caseview tests (tests/pg_server.py): test-only settings\n")
        for key, value in SETTINGS.items():
            conf.write(f"{key} = '{value}'\n")
        conf.write(f"unix_socket_directories = '{base}'\n")


def _utf8_ctype() -> str:
    """A UTF-8 locale the C library has: C.UTF-8 (glibc 2.35+ and Debian), else en_US."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        have = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
        for name in ("C.utf8", "C.UTF-8", "en_US.utf8", "en_US.UTF-8"):
            if name in have:
                return name
    return "C.UTF-8"


def _env() -> dict[str, str]:
    """The environment for the server: ours, less libpq's (PGHOST, PGPASSWORD...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"  # server messages in English, so the port clash is recognised
    return env


def _launch(
    bindir: Path,
    base: Path,
    data_dir: Path,
    log_file: Path,
    port: int,
    account: Account | None,
) -> subprocess.Popen[bytes]:
    """Start the postmaster as our own child (no pg_ctl daemon), so we always hold its pid.

    ``setpriv --pdeathsig`` makes it shut down if the test process dies without cleaning
    up (killed, crashed). Own session, so a Ctrl-C in the terminal reaches pytest alone,
    whose teardown then stops the server in order.
    """
    command = [str(bindir / "postgres"), "-D", str(data_dir), "-p", str(port)]
    if setpriv := shutil.which("setpriv"):
        command = [setpriv, "--pdeathsig", "INT", "--", *command]
    log_file.touch()
    _give(log_file, account)
    with log_file.open("ab") as log:
        return subprocess.Popen(
            command,
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(),
            start_new_session=True,
            **_spawn_args(account),
        )


def _wait_ready(server: PgServer) -> bool:
    """Wait until the superuser can sign in over TCP with SCRAM (pg_isready, and more).

    False if the server exited (the caller looks at why); raises on the deadline. The
    data directory is compared so that we never mistake another server on the port for ours.
    """
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with psycopg.connect(
                server.url("postgres", server.superuser, server.password), connect_timeout=2
            ) as conn:
                row = conn.execute("SHOW data_directory").fetchone()
        except psycopg.OperationalError:
            time.sleep(0.05)
            continue
        if row is None or Path(str(row[0])) != server.data_dir:
            raise PgServerError(
                f"Another PostgreSQL server answered on port {server.port} "
                f"(data directory {row[0] if row else '?'})."
            )
        return True
    raise PgServerError(
        f"PostgreSQL did not accept connections within {START_TIMEOUT:.0f} s. "
        f"End of its log:\n{_tail(server.log_file)}"
    )


# ---- pytest fixtures -------------------------------------------------------------------


_shared: PgServer | None = None
_shared_failure: PgServerError | None = None


def shared_pg_server(session: pytest.Session | None = None) -> PgServer:
    """The session's server, started on first use; stopped when ``session`` ends.

    One module-level server rather than the fixture's own cache: a session-scoped fixture
    imported into several test modules is one fixture per module to pytest, and would
    start a server for each. A failure to start is remembered and raised again, so a
    broken installation costs one attempt, not one per test.
    """
    global _shared, _shared_failure
    if _shared_failure is not None:
        raise _shared_failure
    if _shared is None:
        try:
            _shared = start_pg_server()
        except PgServerError as exc:
            _shared_failure = exc
            raise
        if session is not None:
            session.addfinalizer(_stop_shared)
    return _shared


def _stop_shared() -> None:
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> PgServer:
    """One PostgreSQL server for the whole session, started when a test first asks for it.

    For set-up as the superuser: ``pg_server.connect(dbname)``; for URLs: ``pg_server.url``.
    """
    return shared_pg_server(request.session)


@pytest.fixture
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh empty database for one test: its owner's URL, password included.

    The owner may create roles (for ``caseview init --admin``). Afterwards the database,
    the owner and every role the test created are dropped. Needs no other fixture
    imported: it uses the session's server (:func:`shared_pg_server`) itself.
    """
    server = shared_pg_server(request.session)
    with server.temporary_database(request.node.name) as url:
        yield url


__all__ = [
    "PgServer",
    "PgServerError",
    "find_bindir",
    "free_port",
    "pg_database",
    "pg_server",
    "shared_pg_server",
    "start_pg_server",
    "unique_name",
]
