"""The people database: an engine from settings, read and write transactions, migrations on start.

SQLite (the default, one file under the data dir) and PostgreSQL (``CITEQA_DATABASE_URL``,
when several server processes share the work) behave alike for the store because:

- pysqlite's own transaction handling is switched off and SQLAlchemy's BEGIN is emitted by
  us, so a transaction really is one (DDL included) and a *write* transaction starts with
  ``BEGIN IMMEDIATE``: it takes SQLite's write lock before reading, so two processes never
  both read a row and then fail to upgrade to writing (SQLITE_BUSY, no retry possible);
- SQLite runs in WAL mode (readers never wait for the writer) with a busy timeout, and
  foreign keys on (deleting a conversation cascades to its turns, feedback and shares);
- migrations run under a lock in one transaction: ``BEGIN IMMEDIATE`` on SQLite, a
  transaction-scoped advisory lock on PostgreSQL, so two processes starting at once
  migrate one after the other and the second finds nothing to do;
- commits do not wait for the disk (SQLite ``synchronous=NORMAL`` in WAL mode, PostgreSQL
  ``synchronous_commit=off``). Measured by bench/people.py, a flush costs ~3.6 ms here,
  most of the 5 ms a saved answer may cost. What this risks: a crash of the machine or of
  the database server (not of citeqa) can lose the last fraction of a second of saved
  turns and feedback; the database stays consistent, and a clean restart loses nothing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url

from qa.config import Settings

_WRITE = "citeqa_write"
_SINGLE = "citeqa_single"
# Any fixed 64-bit number, the same in every citeqa process: the migration lock's key.
_MIGRATION_LOCK = 0x63697465_71610001
# Seconds a writer waits for SQLite's write lock before giving up.
_SQLITE_BUSY_S = 30


def database_url(settings: Settings) -> str:
    """``CITEQA_DATABASE_URL``, or the SQLite file under the data dir; PostgreSQL uses psycopg 3."""
    if not settings.database_url:
        return f"sqlite:///{(settings.data_dir / 'citeqa.db').resolve()}"
    url = settings.database_url
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


class Database:
    """One engine on the people database; ``read()`` and ``write()`` open transactions."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")
        if self.dialect == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                raise ValueError("the SQLite database must be a file, not in memory")
            self.engine = _sqlite_engine(url)
        else:
            self.engine = _postgres_engine(url)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction for reading; committed at the end of the block."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that writes: it holds SQLite's write lock from its first statement."""
        with self.engine.connect() as conn, conn.execution_options(**{_WRITE: True}).begin():
            yield conn

    @contextmanager
    def single(self) -> Iterator[Connection]:
        """A connection for one statement that is its own transaction: no BEGIN and COMMIT
        of ours around it (on PostgreSQL no round trips for them; on SQLite the statement
        takes the write lock itself and holds it only while it runs)."""
        options: dict[str, Any] = {_SINGLE: True}
        if self.dialect == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        with self.engine.connect() as conn, conn.execution_options(**options).begin():
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest revision (``alembic upgrade head``), under a lock."""
        config = Config()
        config.set_main_option("script_location", "qa.people:migrations")
        with self.write() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings) -> Database:
    """The database named by the settings, migrated to the newest schema."""
    url = database_url(settings)
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(url)
    database.migrate()
    return database


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": _SQLITE_BUSY_S})

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: object) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see the module docstring)
        cursor = dbapi_conn.cursor()
        _wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(_SINGLE, False):
            return  # autocommit: the statement is its own transaction
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE, False) else "BEGIN")

    return engine


def _wal(cursor: Any) -> None:
    """Put the file in WAL mode (it stays so). Switching needs the file to itself and SQLite
    answers "database is locked" at once, without its busy timeout, while another process
    opening the new file is switching too: retry until the busy timeout has passed."""
    deadline = time.monotonic() + _SQLITE_BUSY_S
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _postgres_engine(url: str) -> Engine:
    # pre_ping: a pooled connection that a database restart killed is replaced, not failed.
    engine = create_engine(url, pool_pre_ping=True)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: object) -> None:
        with dbapi_conn.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
        dbapi_conn.commit()

    return engine
