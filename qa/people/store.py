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

A question answered for a conversation through the API is saved in two writes that both run
on the store's writer thread (:mod:`qa.people.writer`), beside the answering rather than
after it: ``begin_turn`` reserves the turn (its number, its question, the answer ``PENDING``)
while the answer is being worked out, and ``PendingTurn.finish`` hands the answer over to be
written and returns at once with the turn's number. A read first waits for this process's
queued writes (read-your-writes); a turn still ``PENDING`` that this process is not answering
(another process's, written a few milliseconds after its answer was returned) is waited for
up to a quarter of a second, and otherwise left out until its answer is there.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import timedelta
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
from qa.people.writer import Writer
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
# The answer of a reserved turn until its answer is written (see begin_turn).
PENDING: dict[str, Any] = {}
_FILL_TURN = (
    update(_turns)
    .where(_turns.c.conversation_id == bindparam("b_id"), _turns.c.number == bindparam("b_number"))
    .values(answer=bindparam("answer", type_=JSONDoc), abstained=bindparam("abstained"))
)
# How many (conversation, collection) pairs a store remembers as settled.
_SETTLED_MAX = 10_000
# Turns more than asked for that a read of the newest fetches, for those being answered.
_PENDING_SLACK = 4
# How long a read waits for turns other processes have answered but not yet written.
_PENDING_WAIT_S = 0.25
# A turn still pending after this long was never finished (its process died): it is left
# out without waiting for it.
_ABANDONED = timedelta(hours=1)


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


def _record(number: int, values: dict[str, Any], answer: Answer) -> TurnRecord:
    return TurnRecord(
        number=number, question=values["question"], answer=answer, created_at=values["created_at"]
    )


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
        self.writer = Writer()
        # Turns this process has reserved and is still answering: reads skip them unwaited.
        self._answering: set[tuple[str, int]] = set()

    def close(self) -> None:
        """Write what is queued; the store writes nothing after."""
        self.writer.close()

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

        def locate(conn: Connection) -> tuple[Row[Any], bool]:
            row = self._row(conn, conversation_id)
            return row, self._visibility(conn, user, row)

        return self._settled_view(user, locate)

    def get_shared(self, user: User, token: str) -> ConversationView:
        """The conversation a live share token points to, read-only unless ``user`` owns it."""

        def locate(conn: Connection) -> tuple[Row[Any], bool]:
            share = conn.execute(
                select(Share.conversation_id).where(Share.token == token, Share.revoked.is_(False))
            ).one_or_none()
            if share is None:
                raise NotFound("no such share link")
            row = self._row(conn, share.conversation_id)
            if not self._readable(user, row):
                raise NotFound("no such share link")
            return row, row.owner != user.name

        return self._settled_view(user, locate)

    def recent_turns(self, user: User, conversation_id: str, limit: int) -> list[TurnRecord]:
        """The newest ``limit`` answered turns of the user's own conversation, oldest first:
        what a follow-up is answered with. One query (``get`` makes four); NotFound for a
        conversation the user cannot see, Forbidden for one shared with them (read-only)."""
        query = (
            select(C.owner, C.collections, T.number, T.question, T.answer, T.created_at)
            .select_from(C)
            .outerjoin(T, T.conversation_id == C.id)
            .where(C.id == conversation_id)
            .order_by(T.number.desc())
            .limit(limit + _PENDING_SLACK)  # a turn being answered is left out
        )
        self.writer.settle()
        deadline = time.monotonic() + _PENDING_WAIT_S
        while True:
            with self.db.single() as conn:
                rows = conn.execute(query).all()
            if not rows or not self._readable(user, rows[0]):
                raise NotFound("no such conversation")
            if rows[0].owner != user.name:
                if not self.get(user, conversation_id).read_only:  # NotFound unless shared
                    raise NotFound("no such conversation")
                raise Forbidden("a shared conversation is read-only; start your own to continue it")
            turns, waiting = self._turns(conversation_id, [r for r in rows if r.number], {})
            if not waiting or time.monotonic() >= deadline:
                return turns[::-1][-limit:] if limit > 0 else []
            time.sleep(0.005)

    def _settled_view(
        self, user: User, locate: Callable[[Connection], tuple[Row[Any], bool]]
    ) -> ConversationView:
        """The view ``locate`` finds (its row, whether read-only) once the turns answered
        before the call are written (see the module docstring)."""
        self.writer.settle()
        deadline = time.monotonic() + _PENDING_WAIT_S
        while True:
            with self.db.read() as conn:
                row, read_only = locate(conn)
                view, waiting = self._view(conn, user, row, read_only)
            if not waiting or time.monotonic() >= deadline:
                return view
            time.sleep(0.005)

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
        """Save ``answer`` as the next turn of the user's conversation; returns it numbered.
        The write is done when this returns (``begin_turn`` overlaps it with the answering)."""
        values = self._turn_values(user, answer.question, collection)
        values |= {"answer": answer_json(answer), "abstained": answer.abstained}
        number = self._append(user, conversation_id, values)
        return _record(number, values, answer)

    def begin_turn(
        self, user: User, conversation_id: str, question: str, collection: str | None = None
    ) -> PendingTurn:
        """Reserve the next turn for ``question`` while it is being answered (see the module
        docstring); ``finish`` or ``cancel`` the PendingTurn. Only the owner reserves a turn;
        the reservation's errors (NotFound: no such conversation of the user's) are raised by
        ``finish``."""
        values = self._turn_values(user, question, collection)
        values |= {"answer": PENDING, "abstained": False}

        def reserve() -> int:
            number = self._append(user, conversation_id, values)
            self._answering.add((conversation_id, number))
            return number

        return PendingTurn(self, conversation_id, values, self.writer.submit(reserve))

    def _turn_values(self, user: User, question: str, collection: str | None) -> dict[str, Any]:
        if collection is not None and not self.policy.can_read(user, collection):
            raise Forbidden(f"{user.name} may not read {collection!r}")
        return {"question": _text(question), "collection": collection, "created_at": utcnow()}

    def _append(self, user: User, conversation_id: str, values: dict[str, Any]) -> int:
        key = (conversation_id, values["collection"])
        if key in self._settled:
            return self._append_one(user, conversation_id, values)
        number = self._append_first(user, conversation_id, values, _title(values["question"]))
        if len(self._settled) >= _SETTLED_MAX:
            self._settled.clear()
        self._settled.add(key)
        return number

    def _fill(self, conversation_id: str, number: int, answer: Answer) -> None:
        """Write the answer of a reserved turn (on the writer thread)."""
        values = {"answer": answer_json(answer), "abstained": answer.abstained}
        with self.db.single() as conn:
            conn.execute(_FILL_TURN, {**values, "b_id": conversation_id, "b_number": number})

    def _drop(self, conversation_id: str, number: int) -> None:
        """Remove a reserved turn that got no answer (on the writer thread)."""
        with self.db.single() as conn:
            conn.execute(delete(T).where(T.conversation_id == conversation_id, T.number == number))

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

    def _view(
        self, conn: Connection, user: User, row: Row[Any], read_only: bool
    ) -> tuple[ConversationView, bool]:
        """The view, and whether it lacks a turn another process is about to write."""
        ratings = {
            number: rating
            for number, rating in conn.execute(
                select(T.number, Feedback.rating)
                .join(Feedback, Feedback.turn_id == T.id)
                .where(T.conversation_id == row.id, Feedback.user == user.name)
            )
        }
        rows = conn.execute(
            select(T.number, T.question, T.answer, T.created_at)
            .where(T.conversation_id == row.id)
            .order_by(T.number)
        ).all()
        turns, waiting = self._turns(row.id, rows, ratings)
        view = ConversationView(**_info(row).model_dump(), turns=turns, read_only=read_only)
        return view, waiting

    def _turns(
        self, conversation_id: str, rows: Sequence[Row[Any]], ratings: dict[int, str]
    ) -> tuple[list[TurnRecord], bool]:
        """The answered turns of ``rows``, and whether one of them is another process's
        answered turn not written yet (see the module docstring)."""
        turns, waiting, abandoned = [], False, utcnow() - _ABANDONED
        for t in rows:
            if t.answer == PENDING:  # not answered yet, or answered and being written
                mine = (conversation_id, t.number) in self._answering
                waiting = waiting or (not mine and t.created_at > abandoned)
                continue
            turns.append(
                TurnRecord(
                    number=t.number,
                    question=t.question,
                    answer=Answer.model_validate(t.answer),
                    created_at=t.created_at,
                    rating=ratings.get(t.number),
                )
            )
        return turns, waiting


class PendingTurn:
    """A turn reserved for a question being answered (``ConversationStore.begin_turn``)."""

    def __init__(
        self, store: ConversationStore, conversation_id: str, values: dict[str, Any],
        reserved: Future[int],
    ) -> None:  # fmt: skip
        self._store, self.conversation_id, self._values = store, conversation_id, values
        self._reserved = reserved
        self._ended = False

    def reserved(self) -> int:
        """The turn's number once its reservation is written (waits for it); raises the
        reservation's error."""
        return self._reserved.result()

    def finish(self, answer: Answer) -> TurnRecord:
        """Hand ``answer`` over to be written as the turn's answer; returns the numbered turn
        at once (after the reservation, if it is still running). Raises the reservation's
        error (NotFound when the conversation is gone)."""
        if self._ended:
            raise RuntimeError("the turn was already finished or cancelled")
        self._ended = True
        number = self._reserved.result()
        key = (self.conversation_id, number)
        self._store.writer.submit(
            lambda: self._store._fill(*key, answer),
            behind=f"saving the answer of turn {number} of conversation {self.conversation_id}",
        )
        self._store._answering.discard(key)
        values = self._values
        return _record(number, values, answer)

    def cancel(self) -> None:
        """The question got no answer: its reserved turn is removed (its number stays used)."""
        if self._ended:
            return
        self._ended = True
        try:
            number = self._reserved.result()
        except Exception:  # nothing was reserved
            return
        key = (self.conversation_id, number)
        self._store.writer.submit(lambda: self._store._drop(*key), behind="removing a turn")
        self._store._answering.discard(key)
