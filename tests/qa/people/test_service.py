"""The People service from settings: identity, policy and store wired on one database."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import Settings
from qa.people.identity import User
from qa.people.records import FeedbackIn, Forbidden
from qa.people.service import People
from tests.qa.people.answers import refusal


def embed_nothing(texts: list[str]) -> list[list[float]]:
    raise AssertionError("every item here has a source document; nothing is embedded")


def test_a_deployment_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        api_keys="alice:ka,bob:kb",
        ui_users="carol:pc",
        access="alice=write:news;bob=read:news;carol=admin",
    )
    people = People(settings)
    alice = people.identity.resolve_key("ka")
    assert alice == User(name="alice", via="key")
    conversation = people.conversations.create(alice)
    people.conversations.append_turn(alice, conversation.id, refusal("Q?", [("d", "D")]), "news")
    people.conversations.add_feedback(
        alice, FeedbackIn(conversation_id=conversation.id, turn=1, rating="down", correction="A.")
    )
    assert [i.question for i in people.feedback_items()] == ["Q?"]

    carol = people.identity.login("carol", "pc")
    assert carol is not None and people.policy.is_admin(carol)
    assert people.insights(carol, embed_nothing).total == 1
    with pytest.raises(Forbidden):
        people.insights(alice, embed_nothing)
    people.close()

    reopened = People(settings)  # a restart: same file, same conversation
    assert [c.id for c in reopened.conversations.list_for(alice)] == [conversation.id]
    reopened.close()


@pytest.mark.parametrize(
    "fields",
    [{"access": "alice=fly:news"}, {"api_keys": "k,k"}, {"ui_users": "nopassword"}],
)
def test_bad_settings_fail_before_the_database_is_touched(
    tmp_path: Path, fields: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="CITEQA_"):
        People(Settings(data_dir=tmp_path / "data", **fields))  # type: ignore[arg-type]
    assert not (tmp_path / "data").exists()


def test_postgres_by_url(postgres_url: str, tmp_path: Path) -> None:
    people = People(Settings(data_dir=tmp_path / "data", database_url=postgres_url))
    user = people.identity.local_user
    conversation = people.conversations.create(user)
    assert people.conversations.get(user, conversation.id).owner == "local"
    assert people.db.dialect == "postgresql" and not (tmp_path / "data").exists()
    people.close()
