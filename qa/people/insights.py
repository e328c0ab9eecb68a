"""What the collection cannot answer: refused questions and thumbs-down, grouped, per week.

Each troubled turn (a refusal, or rated down by anyone) is one item. Items are grouped by
their nearest document, the first source of the Answer (an abstention still lists its
closest sources), because that names the part of the collection that falls short. Items
with no source at all are grouped by the similarity of their questions: greedy, in time
order, each joins the first group whose first question is at least ``threshold`` cosine-
similar, else starts one. The embedding function is passed in (the packaged MiniLM in the
server, the same real model in tests), so this module loads no model itself.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from qa.people.db import Database
from qa.people.models import Conversation, Feedback, Turn
from qa.types import Answer, Citation, Source

Embed = Callable[[list[str]], Sequence[Sequence[float]]]
# Measured with the packaged MiniLM: paraphrases of a question 0.90-0.96 cosine, two
# questions on one topic ("Who mediated the talks?", "Where were the talks held?") 0.74,
# unrelated questions 0.14-0.17. At 0.6 a group is a topic, not only one exact question.
SIMILAR = 0.6
# Spreadsheets run cells that start with these as formulas; questions are user input.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class InsightItem(BaseModel):
    """One troubled turn."""

    question: str
    refused: bool
    thumbs_down: int = Field(description="how many users rated it down")
    reasons: list[str] = Field(description="the reasons given with the thumbs-down")
    corrections: list[str]
    doc_id: str | None = Field(description="the Answer's first source, if any")
    doc_title: str | None
    collection: str | None
    user: str = Field(description="who asked")
    conversation_id: str
    turn: int
    created_at: datetime


class InsightGroup(BaseModel):
    """Items about one document, or with similar questions."""

    by: Literal["document", "similarity"]
    label: str = Field(description="the document's title, or the group's first question")
    doc_id: str | None
    count: int
    refused: int
    thumbs_down: int = Field(description="items rated down at least once")
    weeks: dict[str, int] = Field(description="items per week, keyed by the week's Monday")
    items: list[InsightItem]


class Insights(BaseModel):
    total: int
    weeks: dict[str, int] = Field(description="items per week, keyed by the week's Monday")
    groups: list[InsightGroup] = Field(description="largest first")


def week_of(moment: datetime) -> str:
    """The ISO date of the Monday of ``moment``'s week."""
    return (moment - timedelta(days=moment.weekday())).date().isoformat()


def collect(
    db: Database, collections: Sequence[str] | None = None, since: datetime | None = None
) -> list[InsightItem]:
    """Every refused or thumbed-down turn, oldest first."""
    query = (
        select(
            Turn.id,
            Turn.answer,
            Turn.abstained,
            Turn.collection,
            Turn.conversation_id,
            Turn.number,
            Turn.created_at,
            Conversation.owner,
            Feedback.rating,
            Feedback.reason,
            Feedback.correction,
        )
        .join(Conversation, Conversation.id == Turn.conversation_id)
        .outerjoin(Feedback, (Feedback.turn_id == Turn.id) & (Feedback.rating == "down"))
        .where(or_(Turn.abstained.is_(True), Feedback.rating == "down"))
        .order_by(Turn.created_at, Turn.id)
    )
    if collections is not None:
        query = query.where(Turn.collection.in_(list(collections)))
    if since is not None:
        query = query.where(Turn.created_at >= since)
    items: dict[int, InsightItem] = {}
    with db.read() as conn:
        for row in conn.execute(query):
            item = items.get(row.id)
            if not row.answer:  # a turn still being answered (PENDING)
                continue
            if item is None:
                answer = Answer.model_validate(row.answer)
                ranked: list[Source | Citation] = [*answer.sources, *answer.citations]
                nearest = ranked[0] if ranked else None
                item = items[row.id] = InsightItem(
                    question=answer.question,
                    refused=row.abstained,
                    thumbs_down=0,
                    reasons=[],
                    corrections=[],
                    doc_id=nearest.doc_id if nearest else None,
                    doc_title=nearest.title if nearest else None,
                    collection=row.collection,
                    user=row.owner,
                    conversation_id=row.conversation_id,
                    turn=row.number,
                    created_at=row.created_at,
                )
            if row.rating == "down":
                item.thumbs_down += 1
                item.reasons += [row.reason] if row.reason else []
                item.corrections += [row.correction] if row.correction else []
    return list(items.values())


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def _by_similarity(items: list[InsightItem], embed: Embed, threshold: float) -> list[list[int]]:
    vectors = [_unit(v) for v in embed([i.question for i in items])] if items else []
    clusters: list[list[int]] = []
    for index, vector in enumerate(vectors):
        for cluster in clusters:
            head = vectors[cluster[0]]
            if sum(a * b for a, b in zip(vector, head, strict=True)) >= threshold:
                cluster.append(index)
                break
        else:
            clusters.append([index])
    return clusters


def _group(
    by: Literal["document", "similarity"], label: str, doc_id: str | None, items: list[InsightItem]
) -> InsightGroup:
    return InsightGroup(
        by=by,
        label=label,
        doc_id=doc_id,
        count=len(items),
        refused=sum(i.refused for i in items),
        thumbs_down=sum(i.thumbs_down > 0 for i in items),
        weeks=dict(sorted(Counter(week_of(i.created_at) for i in items).items())),
        items=items,
    )


def group(
    items: Iterable[InsightItem], embed: Embed, threshold: float = SIMILAR
) -> list[InsightGroup]:
    """Items grouped by nearest document, or by question similarity; largest groups first."""
    by_doc: dict[str, list[InsightItem]] = {}
    loose: list[InsightItem] = []
    for item in items:
        if item.doc_id is None:
            loose.append(item)
        else:
            by_doc.setdefault(item.doc_id, []).append(item)
    groups = [
        _group("document", members[0].doc_title or doc_id, doc_id, members)
        for doc_id, members in by_doc.items()
    ]
    for cluster in _by_similarity(loose, embed, threshold):
        members = [loose[i] for i in cluster]
        groups.append(_group("similarity", members[0].question, None, members))
    return sorted(groups, key=lambda g: (-g.count, g.label))


def insights(
    db: Database,
    embed: Embed,
    collections: Sequence[str] | None = None,
    since: datetime | None = None,
    threshold: float = SIMILAR,
) -> Insights:
    """Refused and thumbed-down questions, grouped, with counts per week."""
    items = collect(db, collections, since)
    return Insights(
        total=len(items),
        weeks=dict(sorted(Counter(week_of(i.created_at) for i in items).items())),
        groups=group(items, embed, threshold),
    )


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


CSV_COLUMNS = (
    "group",
    "grouped_by",
    "week",
    "created_at",
    "question",
    "refused",
    "thumbs_down",
    "reasons",
    "corrections",
    "doc_id",
    "doc_title",
    "collection",
    "user",
    "conversation_id",
    "turn",
)


def to_csv(report: Insights) -> str:
    """One row per item, with its group; cells that a spreadsheet would run are quoted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for g in report.groups:
        for i in g.items:
            row = (
                g.label,
                g.by,
                week_of(i.created_at),
                i.created_at.isoformat(timespec="seconds"),
                i.question,
                i.refused,
                i.thumbs_down,
                "; ".join(i.reasons),
                " | ".join(i.corrections),
                i.doc_id,
                i.doc_title,
                i.collection,
                i.user,
                i.conversation_id,
                i.turn,
            )
            writer.writerow([_cell(v) for v in row])
    return out.getvalue()
