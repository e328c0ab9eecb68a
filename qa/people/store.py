"""Saved conversations: create, list, read, rename, delete, append turns, share, feedback, export.

A user sees a conversation when they may read every collection its answers came from, and
either own it or it has a live share. Anything else looks like a missing conversation
(:class:`NotFound`, HTTP 404), so ids and tokens reveal nothing to the wrong user.

Turn numbers come from ``conversations.turn_count``. The first append of a conversation
(and the first with a new collection) in a process increments it in a write transaction that
also titles the conversation and lists the collection: the UPDATE holds the row lock on
PostgreSQL (a concurrent append waits, then sees the new count) and SQLite's write lock
(``BEGIN IMMEDIATE``). Later appends need neither title nor collection, so they are one
statement that is its own transaction (no BEGIN/COMMIT round trips): on PostgreSQL a CTE
whose UPDATE takes the same row lock, on SQLite ``INSERT ... SELECT turn_count + 1`` under
the write lock the statement holds, with migration 0002's trigger advancing the count. Either
way appends from several processes are serialized per conversation: no number is lost or
handed out twice. The unique (conversation, number) constraint backs this up.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from sqlalchemy import Boolean, Row, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from qa.people.access import Policy
from qa.people.db import Database
from qa.people.export import conversation_json, conversation_markdown
from qa.people.identity import User
from qa.people.models import (
    Base,
    Conversation,
    Feedback,
    JSONDoc,
    Share,
    Turn,
    UTCDateTime,
    utcnow,
)
from qa.people.models import User as UserRow
from qa.people.records import (
    MAX_TITLE,
    ConversationInfo,
    ConversationView,
    FeedbackIn,
    FeedbackRecord,
    Forbidden,
    NotFound,
    ShareInfo,
    TurnRecord,
)
from qa.types import Answer
from qa.types import Turn as Message

C, T = Conversation, Turn
# The two statements of every saved answer, built once on the tables: building an ORM
# statement and its cache key per call cost about as much CPU as running it (profiled).
_conversations, _turns = Base.metadata.tables["conversations"], Base.metadata.tables["turns"]
_conv = _conversations.c
_COUNT_TURN = (
    update(_conversations)
    .where(_conv.id == bindparam("b_id"), _conv.owner == bindparam("b_owner"))
    .values(
        turn_count=_conv.turn_count + 1,
        updated_at=bindparam("b_now", type_=UTCDateTime()),
        title=func.coalesce(_conv.title, bindparam("b_title")),
    )
    .returning(_conv.turn_count, _conv.collections)
)
_ADD_TURN = insert(_turns)
# The whole append as one statement that is its own transaction, when the conversation
# already has a title and the answer's collection (see ConversationStore.append_turn): on
# SQLite the trigger of migration 0002 advances the count the INSERT read; on PostgreSQL
# the UPDATE takes the row lock first, so concurrent appends are numbered one after another.
_ONE_STATEMENT = {
    "sqlite": "INSERT INTO turns "
    "(conversation_id, number, question, answer, abstained, collection, created_at) "
    "SELECT id, turn_count + 1, :question, :answer, :abstained, :collection, :created_at "
    "FROM conversations WHERE id = :b_id AND owner = :b_owner RETURNING number",
    "postgresql": "WITH bumped AS (UPDATE conversations "
    "SET turn_count = turn_count + 1, updated_at = :created_at "
    "WHERE id = :b_id AND owner = :b_owner RETURNING id, turn_count) "
    "INSERT INTO turns "
    "(conversation_id, number, question, answer, abstained, collection, created_at) "
    "SELECT id, turn_count, :question, :answer, :abstained, :collection, :created_at "
    "FROM bumped RETURNING number",
}
_ONE_STATEMENT_PARAMS = (
    bindparam("answer", type_=JSONDoc),
    bindparam("created_at", type_=UTCDateTime()),
    bindparam("abstained", type_=Boolean()),
)
# How many (conversation, collection) pairs a store remembers as settled.
_SETTLED_MAX = 10_000


def _text(text: str) -> str:
    """Text as every database stores it: PostgreSQL refuses NUL characters in text and JSONB."""
    return text.replace("\x00", "\ufffd")


def _title(text: str) -> str:
    text = " ".join(_text(text).split())
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1].rstrip() + "…"


def _storable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def answer_json(answer: Answer) -> dict[str, Any]:
    """The Answer as JSON data both databases store and that reads back into the same Answer.

    JSON has no NaN or infinity (PostgreSQL's JSONB rejects them), and model_dump(mode="json")
    keeps them in float fields; as strings, pydantic reads them back into the same floats.
    NUL characters become U+FFFD, the one change a stored Answer may show.
    """
    data: dict[str, Any] = _storable(answer.model_dump(mode="json"))
    return data


def _info(row: Row[Any]) -> ConversationInfo:
    return ConversationInfo(
        id=row.id,
        title=row.title,
        owner=row.owner,
        collections=list(row.collections or []),
        turn_count=row.turn_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class ConversationStore:
    """The conversations of every user in one database, under one access policy."""

    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy
        # (conversation, collection) pairs whose conversation has a title and lists the
        # collection: both only ever stay so, so a later append needs neither (one statement).
        self._settled: set[tuple[str, str | None]] = set()
        self._one_statement = text(_ONE_STATEMENT[db.dialect]).bindparams(*_ONE_STATEMENT_PARAMS)

    # --- conversations --------------------------------------------------------------------

    def create(self, user: User, title: str | None = None) -> ConversationInfo:
        """A new, empty conversation owned by ``user``; its title defaults to the first question."""
        now = utcnow()
        values: dict[str, Any] = {
            "id": secrets.token_urlsafe(16),
            "owner": user.name,
            "title": _title(title) if title and title.strip() else None,
            "collections": [],
            "turn_count": 0,
            "created_at": now,
            "updated_at": now,
        }
        with self.db.write() as conn:
            self._ensure_user(conn, user)
            conn.execute(insert(C).values(values))
        return ConversationInfo.model_validate(values)

    def list_for(self, user: User, limit: int = 100, offset: int = 0) -> list[ConversationInfo]:
        """The user's own conversations, most recently active first."""
        query = (
            select(C)
            .where(C.owner == user.name)
            .order_by(C.updated_at.desc(), C.created_at.desc(), C.id)
            .limit(limit)
            .offset(offset)
        )
        with self.db.read() as conn:
            return [_info(row) for row in conn.execute(query)]

    def get(self, user: User, conversation_id: str) -> ConversationView:
        """The conversation with its turns, if ``user`` may see it (see the module docstring)."""
        with self.db.read() as conn:
            row = self._row(conn, conversation_id)
            read_only = self._visibility(conn, user, row)
            return self._view(conn, user, row, read_only)

    def get_shared(self, user: User, token: str) -> ConversationView:
        """The conversation a live share token points to, read-only unless ``user`` owns it."""
        with self.db.read() as conn:
            share = conn.execute(
                select(Share.conversation_id).where(Share.token == token, Share.revoked.is_(False))
            ).one_or_none()
            if share is None:
                raise NotFound("no such share link")
            row = self._row(conn, share.conversation_id)
            if not self._readable(user, row):
                raise NotFound("no such share link")
            return self._view(conn, user, row, read_only=row.owner != user.name)

    def rename(self, user: User, conversation_id: str, title: str) -> ConversationInfo:
        """Give the user's conversation a new title (shortened to 200 characters)."""
        if not title.strip():
            raise ValueError("the title is empty")
        with self.db.write() as conn:
            row = conn.execute(
                update(C)
                .where(C.id == conversation_id, C.owner == user.name)
                .values(title=_title(title))
                .returning(*C.__table__.c)
            ).one_or_none()
            if row is None:
                raise NotFound("no such conversation")
            return _info(row)

    def delete(self, user: User, conversation_id: str) -> None:
        """Delete the conversation with its turns, feedback and share links."""
        with self.db.write() as conn:
            gone = conn.execute(
                delete(C).where(C.id == conversation_id, C.owner == user.name)
            ).rowcount
            if not gone:
                raise NotFound("no such conversation")

    # --- turns ----------------------------------------------------------------------------

    def append_turn(
        self, user: User, conversation_id: str, answer: Answer, collection: str | None = None
    ) -> TurnRecord:
        """Save ``answer`` as the next turn of the user's conversation; returns it numbered."""
        if collection is not None and not self.policy.can_read(user, collection):
            raise Forbidden(f"{user.name} may not read {collection!r}")
        now = utcnow()
        values = {
            "question": _text(answer.question),
            "answer": answer_json(answer),
            "abstained": answer.abstained,
            "collection": collection,
            "created_at": now,
        }
        key = (conversation_id, collection)
        if key in self._settled:
            number = self._append_one(user, conversation_id, values)
        else:
            number = self._append_first(user, conversation_id, values, _title(answer.question))
            if len(self._settled) >= _SETTLED_MAX:
                self._settled.clear()
            self._settled.add(key)
        return TurnRecord(number=number, question=values["question"], answer=answer, created_at=now)

    def _append_one(self, user: User, conversation_id: str, values: dict[str, Any]) -> int:
        """The append as one statement (the conversation has its title and collection)."""
        with self.db.single() as conn:
            number = conn.execute(
                self._one_statement, {**values, "b_id": conversation_id, "b_owner": user.name}
            ).scalar_one_or_none()
        if number is None:
            raise NotFound("no such conversation")
        return int(number)

    def _append_first(
        self, user: User, conversation_id: str, values: dict[str, Any], title: str
    ) -> int:
        """The append that may also title the conversation and add the collection to it."""
        collection = values["collection"]
        with self.db.write() as conn:
            counted = conn.execute(
                _COUNT_TURN,
                {"b_id": conversation_id, "b_owner": user.name, "b_now": values["created_at"],
                 "b_title": title},
            ).one_or_none()  # fmt: skip
            if counted is None:
                raise NotFound("no such conversation")
            number, collections = counted
            if collection is not None and collection not in collections:
                conn.execute(
                    update(C)
                    .where(C.id == conversation_id)
                    .values(collections=[*collections, collection])
                )
            row = {**values, "conversation_id": conversation_id, "number": number}
            conn.execute(_ADD_TURN, row)
        return int(number)

    def history(self, user: User, conversation_id: str) -> list[Message]:
        """The conversation as chat messages (user, assistant, ...) for follow-up questions."""
        view = self.get(user, conversation_id)
        messages = []
        for turn in view.turns:
            messages.append(Message(role="user", content=turn.question))
            messages.append(Message(role="assistant", content=turn.answer.text))
        return messages

    # --- sharing --------------------------------------------------------------------------

    def share(self, user: User, conversation_id: str) -> ShareInfo:
        """The conversation's live share link, made on first use (the owner only)."""
        with self.db.write() as conn:
            row = self._row(conn, conversation_id, lock=True)  # two clicks make one link
            if row.owner != user.name:
                raise NotFound("no such conversation")
            live = conn.execute(
                select(Share)
                .where(Share.conversation_id == conversation_id, Share.revoked.is_(False))
                .order_by(Share.created_at)
            ).first()
            if live is not None:
                return ShareInfo.model_validate(live, from_attributes=True)
            values: dict[str, Any] = {
                "token": secrets.token_urlsafe(24),
                "conversation_id": conversation_id,
                "created_by": user.name,
                "created_at": utcnow(),
                "revoked": False,
            }
            conn.execute(insert(Share).values(values))
        return ShareInfo.model_validate(values)

    def revoke_shares(self, user: User, conversation_id: str) -> int:
        """Revoke every share link of the user's conversation; returns how many were live."""
        with self.db.write() as conn:
            row = self._row(conn, conversation_id)
            if row.owner != user.name:
                raise NotFound("no such conversation")
            return conn.execute(
                update(Share)
                .where(Share.conversation_id == conversation_id, Share.revoked.is_(False))
                .values(revoked=True)
            ).rowcount

    # --- feedback -------------------------------------------------------------------------

    def add_feedback(self, user: User, feedback: FeedbackIn) -> FeedbackRecord:
        """Record (or replace) ``user``'s rating of a turn they can see."""
        now = utcnow()
        with self.db.write() as conn:
            row = self._row(conn, feedback.conversation_id)
            self._visibility(conn, user, row)
            turn_id = conn.execute(
                select(T.id).where(
                    T.conversation_id == feedback.conversation_id, T.number == feedback.turn
                )
            ).scalar_one_or_none()
            if turn_id is None:
                raise NotFound(f"the conversation has no turn {feedback.turn}")
            self._ensure_user(conn, user)
            values: dict[str, Any] = {
                "turn_id": turn_id,
                "user": user.name,
                "rating": feedback.rating,
                "reason": feedback.reason,
                "correction": _text(feedback.correction) if feedback.correction else None,
                "created_at": now,
            }
            stmt = self._insert(conn, Feedback).values(values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["turn_id", "user"],
                    set_={k: stmt.excluded[k] for k in ("rating", "reason", "correction")}
                    | {"created_at": now},
                )
            )
        return FeedbackRecord(**feedback.model_dump(), user=user.name, created_at=now)

    # --- export ---------------------------------------------------------------------------

    def export_markdown(self, user: User, conversation_id: str) -> str:
        """The conversation as Markdown: each answer with its numbered, dated quotes."""
        return conversation_markdown(self.get(user, conversation_id))

    def export_json(self, user: User, conversation_id: str) -> dict[str, Any]:
        """The conversation as JSON-ready data: every turn with its full Answer."""
        return conversation_json(self.get(user, conversation_id))

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    def _insert(conn: Connection, table: type[Feedback] | type[UserRow]) -> Any:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def _ensure_user(self, conn: Connection, user: User) -> None:
        stmt = self._insert(conn, UserRow).values(name=user.name, created_at=utcnow())
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))

    @staticmethod
    def _row(conn: Connection, conversation_id: str, lock: bool = False) -> Row[Any]:
        """The conversation's row; ``lock`` holds it until commit (PostgreSQL; SQLite's write
        transactions hold the whole database already)."""
        query = select(C).where(C.id == conversation_id)
        row = conn.execute(query.with_for_update() if lock else query).one_or_none()
        if row is None:
            raise NotFound("no such conversation")
        return row

    def _readable(self, user: User, row: Row[Any]) -> bool:
        return all(self.policy.can_read(user, c) for c in row.collections or [])

    def _visibility(self, conn: Connection, user: User, row: Row[Any]) -> bool:
        """Whether ``user`` sees the conversation read-only; NotFound when not at all."""
        if not self._readable(user, row):
            raise NotFound("no such conversation")
        if row.owner == user.name:
            return False
        shared = conn.execute(
            select(Share.token)
            .where(Share.conversation_id == row.id, Share.revoked.is_(False))
            .limit(1)
        ).first()
        if shared is None:
            raise NotFound("no such conversation")
        return True

    @staticmethod
    def _view(conn: Connection, user: User, row: Row[Any], read_only: bool) -> ConversationView:
        ratings = {
            number: rating
            for number, rating in conn.execute(
                select(T.number, Feedback.rating)
                .join(Feedback, Feedback.turn_id == T.id)
                .where(T.conversation_id == row.id, Feedback.user == user.name)
            )
        }
        turns = [
            TurnRecord(
                number=t.number,
                question=t.question,
                answer=Answer.model_validate(t.answer),
                created_at=t.created_at,
                rating=ratings.get(t.number),
            )
            for t in conn.execute(
                select(T.number, T.question, T.answer, T.created_at)
                .where(T.conversation_id == row.id)
                .order_by(T.number)
            )
        ]
        return ConversationView(**_info(row).model_dump(), turns=turns, read_only=read_only)
