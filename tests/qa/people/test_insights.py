"""Insights: refused and thumbed-down questions, grouped by document or by similarity, per week."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import update

from qa.people.db import Database
from qa.people.insights import InsightItem, collect, group, insights, to_csv, week_of
from qa.people.models import Turn
from qa.people.records import FeedbackIn
from qa.people.store import ConversationStore
from qa.types import Answer
from tests.qa.people.answers import cited_answer, refusal
from tests.qa.people.conftest import ALICE, BOB
from vectorstore.embeddings import LocalEmbeddings

MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)


def saved(
    store: ConversationStore, database: Database, answer: Answer, day: int, collection: str = "news"
) -> str:
    """A shared conversation holding ``answer`` as if asked on March ``day``, 2026."""
    conversation = store.create(ALICE).id
    store.append_turn(ALICE, conversation, answer, collection)
    with database.write() as conn:
        conn.execute(
            update(Turn)
            .where(Turn.conversation_id == conversation)
            .values(created_at=MONDAY.replace(day=day))
        )
    store.share(ALICE, conversation)
    return conversation


def test_week_of_is_the_monday() -> None:
    assert week_of(datetime(2026, 3, 8, 23, tzinfo=UTC)) == "2026-03-02"  # a Sunday
    assert week_of(datetime(2026, 3, 9, 0, tzinfo=UTC)) == "2026-03-09"


def test_refusals_and_thumbs_down_grouped_by_document_per_week(
    store: ConversationStore, database: Database, embeddings: LocalEmbeddings
) -> None:
    talks = [("reuters-1", "US, Venezuela hold talks")]
    saved(store, database, refusal("Who mediated the talks?", talks), 2)
    saved(store, database, refusal("Where were the talks held?", talks), 10)
    wrong = saved(store, database, cited_answer("What did the US offer?"), 11)
    store.add_feedback(ALICE, FeedbackIn(conversation_id=wrong, turn=1, rating="down"))
    store.add_feedback(
        BOB,
        FeedbackIn(
            conversation_id=wrong, turn=1, rating="down", reason="wrong", correction="Sanctions."
        ),
    )
    fine = saved(store, database, cited_answer("Fine?"), 3)
    store.add_feedback(ALICE, FeedbackIn(conversation_id=fine, turn=1, rating="up"))
    saved(store, database, refusal("Who scored?", [("sport-1", "Cup final")]), 4, "sports")

    report = insights(database, embeddings.embed_documents)
    assert report.total == 4  # the liked answer is no trouble
    assert report.weeks == {"2026-03-02": 2, "2026-03-09": 2}
    assert [(g.by, g.label, g.count) for g in report.groups] == [
        ("document", "US, Venezuela hold talks", 3),
        ("document", "Cup final", 1),
    ]
    talks_group = report.groups[0]
    assert talks_group.refused == 2 and talks_group.thumbs_down == 1
    assert talks_group.weeks == {"2026-03-02": 1, "2026-03-09": 2}
    reported = talks_group.items[-1]
    assert reported.question == "What did the US offer?"
    assert (reported.thumbs_down, reported.reasons, reported.corrections) == (
        2,
        ["wrong"],
        ["Sanctions."],
    )
    only_sports = insights(database, embeddings.embed_documents, collections=["sports"])
    assert [g.label for g in only_sports.groups] == ["Cup final"]
    assert insights(database, embeddings.embed_documents, since=MONDAY.replace(day=9)).total == 2


def item(question: str) -> InsightItem:
    return InsightItem(
        question=question,
        refused=True,
        thumbs_down=0,
        reasons=[],
        corrections=[],
        doc_id=None,
        doc_title=None,
        collection="news",
        user="alice",
        conversation_id="c",
        turn=1,
        created_at=MONDAY,
    )


def test_questions_without_sources_group_by_meaning(embeddings: LocalEmbeddings) -> None:
    questions = [
        "What is the weather forecast for Paris tomorrow?",
        "Which football team won the cup final?",
        "What will the weather be like in Paris tomorrow?",
        "Who won the football cup final?",
        "How do I reset my password?",
    ]
    groups = group([item(q) for q in questions], embeddings.embed_documents)
    assert [(g.by, g.label, [i.question for i in g.items]) for g in groups] == [  # ties by label
        ("similarity", questions[0], [questions[0], questions[2]]),
        ("similarity", questions[1], [questions[1], questions[3]]),
        ("similarity", questions[4], [questions[4]]),
    ]


def test_csv_has_a_row_per_item_and_defuses_formulas(
    store: ConversationStore, database: Database, embeddings: LocalEmbeddings
) -> None:
    saved(store, database, refusal('=HYPERLINK("http://x")', [("d1", "Doc, one")]), 2)
    saved(store, database, refusal("Plain question?", [("d1", "Doc, one")]), 3)
    report = insights(database, embeddings.embed_documents)
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert [r["question"] for r in rows] == ['\'=HYPERLINK("http://x")', "Plain question?"]
    assert rows[0]["group"] == "Doc, one" and rows[0]["grouped_by"] == "document"
    assert rows[0]["week"] == "2026-03-02" and rows[0]["refused"] == "True"
    assert [i.user for i in collect(database)] == ["alice", "alice"]
