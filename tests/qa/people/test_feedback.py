"""Thumbs-down feedback becomes evaluation questions in the usual EvalItem format."""

from __future__ import annotations

from pathlib import Path

from qa.evaluation.datasets import EvalItem, load_items, save_items
from qa.people.db import Database
from qa.people.feedback import feedback_items
from qa.people.records import FeedbackIn
from qa.people.store import ConversationStore
from qa.types import Answer
from tests.qa.people.answers import cited_answer, refusal
from tests.qa.people.conftest import ALICE, BOB


def ask(store: ConversationStore, conversation: str, answer: Answer, collection: str) -> int:
    return store.append_turn(ALICE, conversation, answer, collection).number


def rate(store: ConversationStore, conversation: str, turn: int, **fields: object) -> None:
    store.add_feedback(
        ALICE, FeedbackIn.model_validate({"conversation_id": conversation, "turn": turn, **fields})
    )


def test_reported_failures_become_regression_questions(
    store: ConversationStore, database: Database, tmp_path: Path
) -> None:
    c = store.create(ALICE).id
    wrong = ask(store, c, cited_answer("Who offered talks?"), "news")
    rate(store, c, wrong, rating="down", reason="wrong", correction="  The United States.  ")
    refused = ask(store, c, refusal("When did the talks start?"), "news")
    rate(store, c, refused, rating="down", correction="On March 5, 2022.")
    invented = ask(store, c, cited_answer("What is the capital of Mars?"), "news")
    rate(store, c, invented, rating="down", reason="not_in_documents")
    vague = ask(store, c, cited_answer("Why?"), "news")
    rate(store, c, vague, rating="down", reason="incomplete")  # no correction: nothing to test
    liked = ask(store, c, cited_answer("Liked?"), "news")
    rate(store, c, liked, rating="up", correction="kind words")
    blank = ask(store, c, cited_answer("Blank?"), "news")
    rate(store, c, blank, rating="down", correction="   ")

    items = feedback_items(database)
    assert [(i.question, i.answerable, i.reference, i.expected) for i in items] == [
        ("Who offered talks?", True, "The United States.", []),
        ("When did the talks start?", True, "On March 5, 2022.", []),
        ("What is the capital of Mars?", False, None, []),
    ]
    assert len({i.id for i in items}) == 3 and all(i.id.startswith("feedback-") for i in items)
    save_items(items, tmp_path / "questions.jsonl")  # the evaluation harness reads them back
    assert load_items(tmp_path / "questions.jsonl") == items


def test_follow_ups_use_the_standalone_question_and_repeats_merge(
    store: ConversationStore, database: Database
) -> None:
    c = store.create(ALICE).id
    follow_up = cited_answer("And who led them?")
    follow_up.standalone_question = "Who led the US-Venezuela talks?"
    rate(store, c, ask(store, c, follow_up, "news"), rating="down", correction="Juan Gonzalez.")
    again = cited_answer("who led the US-Venezuela  talks?")
    rate(store, c, ask(store, c, again, "news"), rating="down", correction="Juan S. Gonzalez.")
    store.share(ALICE, c)
    store.add_feedback(  # bob, reading the shared conversation, reports it too
        BOB, FeedbackIn(conversation_id=c, turn=1, rating="down", correction="Gonzalez.")
    )
    items = feedback_items(database)
    assert len(items) == 1
    assert items[0].reference == "Gonzalez."  # the latest report wins
    assert items[0] == EvalItem.model_validate(items[0].model_dump())


def test_items_can_be_limited_to_collections_and_a_date(
    store: ConversationStore, database: Database
) -> None:
    c = store.create(ALICE).id
    rate(store, c, ask(store, c, cited_answer("News?"), "news"), rating="down", correction="n")
    rate(store, c, ask(store, c, cited_answer("Sport?"), "sports"), rating="down", correction="s")
    assert [i.question for i in feedback_items(database, collections=["sports"])] == ["Sport?"]
    assert len(feedback_items(database, collections=["news", "sports"])) == 2
    later = store.get(ALICE, c).updated_at.replace(year=2100)
    assert feedback_items(database, since=later) == []
