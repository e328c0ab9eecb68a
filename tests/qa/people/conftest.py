"""Fixtures for the people layer: one test body, run on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.people.access import Policy
from qa.people.db import Database
from qa.people.identity import User
from qa.people.store import ConversationStore
from tests.postgres import postgres_server, postgres_url  # noqa: F401 (fixtures)

ALICE, BOB, CAROL = User(name="alice"), User(name="bob"), User(name="carol")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: an SQLite file, or a fresh database on the PostgreSQL cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'people.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def policy() -> Policy:
    """alice writes news; bob reads news; carol reads only sports."""
    return Policy.parse("alice=write:news,write:sports;bob=read:news;carol=read:sports")


@pytest.fixture
def store(database: Database, policy: Policy) -> Iterator[ConversationStore]:
    conversations = ConversationStore(database, policy)
    yield conversations
    conversations.close()
