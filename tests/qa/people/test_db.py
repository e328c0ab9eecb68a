"""The database layer: migrations from empty on both databases, under concurrency, and restarts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from qa.config import Settings
from qa.people.access import Policy
from qa.people.db import Database, database_url, open_database
from qa.people.models import Base
from qa.people.store import ConversationStore
from tests.conftest import ROOT
from tests.qa.people.answers import cited_answer
from tests.qa.people.conftest import ALICE

TABLES = {"users", "conversations", "turns", "feedback", "shares"}


def head() -> str:
    config = Config()
    config.set_main_option("script_location", "qa.people:migrations")
    revision = ScriptDirectory.from_config(config).get_current_head()
    assert revision is not None
    return revision


def versions(db: Database) -> list[str]:
    with db.read() as conn:
        return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]


def test_migrations_create_every_table_from_empty(db_url: str) -> None:
    db = Database(db_url)
    assert not set(inspect(db.engine).get_table_names()) & TABLES
    db.migrate()
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    assert versions(db) == [head()]
    db.migrate()  # idempotent: already at head, nothing to do
    assert versions(db) == [head()]
    db.dispose()


def test_the_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_postgresql_stores_answers_as_jsonb(postgres_url: str) -> None:
    database = Database(postgres_url)
    database.migrate()
    with database.read() as conn:
        kind = conn.execute(
            text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'turns' AND column_name = 'answer'"
            )
        ).scalar_one()
    assert kind == "jsonb"
    database.dispose()


def test_connections_enforce_foreign_keys_and_commit_without_waiting(database: Database) -> None:
    with database.read() as conn:
        if database.dialect == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1  # NORMAL
        else:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "off"


def run_workers(action: str, url: str, names: list[str], *args: str) -> list[tuple[float, float]]:
    """Run one ``tests.qa.people.worker`` process per name, released together; all must succeed.

    Returns when each one worked (wall-clock start, end).
    """
    barrier = Path(tempfile.mkdtemp(prefix="citeqa-barrier-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.qa.people.worker",
                action,
                url,
                str(barrier),
                name,
                *list(args),
            ],
            env=env,
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    deadline = time.monotonic() + 120
    while not all((barrier / f"{n}.ready").exists() for n in names):
        assert all(p.poll() is None for p in procs), "a worker died before the start"
        assert time.monotonic() < deadline, "workers did not get ready"
        time.sleep(0.05)
    (barrier / "go").touch()
    errors = [p.communicate(timeout=300)[1] for p in procs]
    for proc, err in zip(procs, errors, strict=True):
        assert proc.returncode == 0, err
    spans = [(barrier / f"{n}.span").read_text().split() for n in names]
    shutil.rmtree(barrier)
    return [(float(start), float(end)) for start, end in spans]


def overlapped(spans: list[tuple[float, float]]) -> bool:
    return max(start for start, _ in spans) < min(end for _, end in spans)


def test_two_processes_starting_at_once_migrate_once(db_url: str) -> None:
    assert overlapped(run_workers("migrate", db_url, ["one", "two"]))
    db = Database(db_url)
    assert versions(db) == [head()]
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    db.dispose()


def test_connections_opening_a_new_sqlite_file_at_once_all_get_wal(tmp_path: Path) -> None:
    # Switching a new file to WAL fails at once ("database is locked", no busy wait) for a
    # connection that races another one switching it; CI's two-process migration test
    # failed on it. Three engines race on each of 40 new files (without the retry about
    # 20 of the 120 connections failed).
    failures: list[BaseException] = []
    for i in range(40):
        url = f"sqlite:///{tmp_path / f'race{i}.db'}"
        start = threading.Barrier(3)

        def connect(url: str = url, start: threading.Barrier = start) -> None:
            db = Database(url)
            start.wait()
            try:
                with db.engine.connect() as conn:
                    assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            except BaseException as error:  # collected and reported below
                failures.append(error)
            db.dispose()

        threads = [threading.Thread(target=connect) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def test_conversations_survive_a_restart(db_url: str, tmp_path: Path) -> None:
    first = Database(db_url)
    first.migrate()
    store = ConversationStore(first, Policy.open())
    conversation = store.create(ALICE)
    store.append_turn(ALICE, conversation.id, cited_answer(), "news")
    first.dispose()

    second = Database(db_url)  # a new engine, as after a server restart
    second.migrate()
    view = ConversationStore(second, Policy.open()).get(ALICE, conversation.id)
    assert [t.answer for t in view.turns] == [cited_answer()]
    assert view.title == cited_answer().question
    second.dispose()


def test_default_database_is_a_file_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert database_url(settings) == f"sqlite:///{(tmp_path / 'data' / 'citeqa.db').resolve()}"
    db = open_database(settings)  # makes the data dir and migrates
    assert (tmp_path / "data" / "citeqa.db").is_file()
    assert versions(db) == [head()]
    db.dispose()


def test_postgres_urls_use_psycopg_3() -> None:
    for given in ("postgresql://u:p@h/db", "postgres://u:p@h/db"):
        assert database_url(Settings(database_url=given)) == "postgresql+psycopg://u:p@h/db"
    assert database_url(Settings(database_url="sqlite:////x.db")) == "sqlite:////x.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://u@h/db", "unsupported database"), ("sqlite://", "must be a file")],
)
def test_unusable_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Database(url)
