"""Thumbs-down feedback as evaluation questions, so a reported failure becomes a regression test.

A thumbs-down becomes an :class:`~qa.evaluation.datasets.EvalItem` when it says what the
right outcome was: reason ``not_in_documents`` (the answer should have been a refusal:
``answerable=False``), or a correction (``answerable=True``, the correction as the reference
answer, scored by token F1 and ROUGE-L). Other thumbs-down say only that something was wrong
and are skipped. The question is the standalone one when the chain rewrote a follow-up, and
the same question reported several times yields one item, from the latest report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select

from qa.evaluation.datasets import EvalItem
from qa.people.db import Database
from qa.people.models import Feedback, Turn
from qa.types import Answer


def _key(question: str) -> str:
    return " ".join(question.split()).casefold()


def feedback_items(
    db: Database, collections: Sequence[str] | None = None, since: datetime | None = None
) -> list[EvalItem]:
    """Evaluation items from thumbs-down feedback, oldest report first.

    ``collections`` keeps only turns answered from those collections; ``since`` only feedback
    given at or after that time.
    """
    query = (
        select(Turn.answer, Turn.conversation_id, Turn.number, Feedback.reason, Feedback.correction)
        .join(Feedback, Feedback.turn_id == Turn.id)
        .where(
            Feedback.rating == "down",
            or_(Feedback.reason == "not_in_documents", Feedback.correction.is_not(None)),
        )
        .order_by(Feedback.created_at, Feedback.id)
    )
    if collections is not None:
        query = query.where(Turn.collection.in_(list(collections)))
    if since is not None:
        query = query.where(Feedback.created_at >= since)
    items: dict[str, EvalItem] = {}
    with db.read() as conn:
        for row in conn.execute(query):
            if not row.answer:  # a turn still being answered (PENDING)
                continue
            answer = Answer.model_validate(row.answer)
            question = answer.standalone_question or answer.question
            correction = (row.correction or "").strip()
            refuse = row.reason == "not_in_documents"
            if not refuse and not correction:
                continue
            key = _key(question)
            items.pop(key, None)  # the latest report wins and moves to the end
            items[key] = EvalItem(
                id="feedback-" + hashlib.sha256(key.encode()).hexdigest()[:12],
                question=question,
                answerable=not refuse,
                reference=None if refuse else correction,
            )
    return list(items.values())
