"""A throwaway PostgreSQL cluster on a free loopback port, for tests and benchmarks.

``initdb`` + ``pg_ctl start`` on a fresh temporary directory, run as a non-root user because
PostgreSQL refuses to run as root (``nobody`` when we are root, else ourselves). Trust
authentication is safe here: the server listens on 127.0.0.1 only and lives for one run.
Debian's ``postgresql`` package provides the binaries (``apt-get install -y postgresql``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

import pytest

_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_databases = count(1)


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None when none is installed."""
    found = sorted(Path("/").glob(_BIN_GLOB.lstrip("/")), key=lambda p: int(p.parent.name))
    return next((p for p in reversed(found) if (p / "initdb").exists()), None)


def _run_as() -> tuple[str | None, int, int]:
    """Who runs the server: ``nobody`` when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None, os.getuid(), os.getgid()
    entry = pwd.getpwnam("nobody")
    return "nobody", entry.pw_uid, entry.pw_gid


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_cluster(fsync: bool = False) -> Iterator[str]:
    """Run a fresh cluster until the block ends; yields its base URL (database ``postgres``).

    ``fsync=False`` (tests) makes commits cheap; benchmarks pass True to measure real ones.
    """
    bindir = postgres_bin()
    if bindir is None:
        raise FileNotFoundError(f"no PostgreSQL binaries under {_BIN_GLOB}")
    user, uid, gid = _run_as()
    # Not under pytest's tmp dir: that one is private to root, and the server runs as nobody.
    root = Path(tempfile.mkdtemp(prefix="citeqa-pg-"))
    os.chown(root, uid, gid)
    data, log = root / "data", root / "server.log"
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, user=user, cwd=root)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} "
            f"-c fsync={'on' if fsync else 'off'} -c max_connections=50"
        )
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    except subprocess.CalledProcessError as exc:
        server_log = log.read_text(errors="replace") if log.exists() else ""
        raise RuntimeError(
            f"{exc.cmd[0]} failed: {exc.stderr.decode(errors='replace')}\n{server_log}"
        ) from exc
    finally:
        shutil.rmtree(root, ignore_errors=True)


def create_database(base_url: str) -> str:
    """A new empty database on the cluster; returns its URL."""
    import psycopg

    name = f"t{os.getpid()}_{next(_databases)}_{int(time.time() * 1000) % 100000}"
    dsn = base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One cluster for the session; skipped with the reason when PostgreSQL is not installed."""
    if postgres_bin() is None:
        pytest.skip(
            f"PostgreSQL is not installed (no initdb under {_BIN_GLOB}); "
            "install it with: apt-get install -y postgresql"
        )
    with postgres_cluster() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's cluster."""
    return create_database(postgres_server)
