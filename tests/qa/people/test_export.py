"""Exports: Markdown with numbered, dated quotes per answer; JSON with every full Answer."""

from __future__ import annotations

import json

import pytest

from qa.people.records import FeedbackIn, NotFound
from qa.people.store import ConversationStore
from qa.types import Answer
from tests.qa.people.answers import cited_answer, refusal
from tests.qa.people.conftest import ALICE, BOB, CAROL


def saved(store: ConversationStore) -> str:
    conversation = store.create(ALICE)
    store.append_turn(ALICE, conversation.id, cited_answer(), "news")
    store.append_turn(
        ALICE, conversation.id, refusal("Who won the match?", [("sport-1", "Cup final")]), "news"
    )
    return conversation.id


def test_markdown_has_each_answer_with_numbered_dated_quotes(store: ConversationStore) -> None:
    conversation_id = saved(store)
    markdown = store.export_markdown(ALICE, conversation_id)
    assert markdown.startswith("# What concessions did the US offer?\n")
    assert f"Conversation `{conversation_id}` by alice" in markdown
    assert "collections: news." in markdown
    assert "## 1. What concessions did the US offer?\n\n" in markdown
    assert "The US offered to ease oil sanctions [1] and to free prisoners [2]." in markdown
    assert (
        "1. “Washington offered to ease oil sanctions.” — *US, Venezuela hold talks*, "
        "2022-03-07 (reuters-2022-03-07.txt)"
    ) in markdown
    # No date: said so; a PDF page is given; Markdown emphasis in a title is escaped.
    assert (
        "2. “Two prisoners were to be freed.” — *Prisoner \\*exchange\\* memo*, undated, p. 4 "
        "(memo.pdf)"
    ) in markdown
    assert "## 2. Who won the match?\n\nI could not find this in the documents." in markdown
    assert "Closest sources:\n- *Cup final*, 2022-03-07 (sport-1.txt)" in markdown
    assert markdown.index("## 1.") < markdown.index("## 2.")


def test_json_holds_every_full_answer(store: ConversationStore) -> None:
    conversation_id = saved(store)
    store.add_feedback(ALICE, FeedbackIn(conversation_id=conversation_id, turn=1, rating="up"))
    data = json.loads(json.dumps(store.export_json(ALICE, conversation_id)))
    assert data["id"] == conversation_id and data["owner"] == "alice"
    assert [t["number"] for t in data["turns"]] == [1, 2]
    assert Answer.model_validate(data["turns"][0]["answer"]) == cited_answer()
    assert data["turns"][1]["answer"]["abstained"] is True
    assert "read_only" not in data and "rating" not in data["turns"][0]  # not about the viewer


def test_exports_follow_the_same_visibility_as_reading(store: ConversationStore) -> None:
    conversation_id = saved(store)
    store.share(ALICE, conversation_id)
    assert store.export_markdown(BOB, conversation_id) == store.export_markdown(
        ALICE, conversation_id
    )
    with pytest.raises(NotFound):  # carol cannot read news
        store.export_json(CAROL, conversation_id)
