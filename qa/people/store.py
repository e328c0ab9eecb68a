"""Saved conversations: create, list, read, rename, delete, append turns, share, feedback, export.

A user sees a conversation when they may read every collection its answers came from, and
either own it or it has a live share. Anything else looks like a missing conversation
(:class:`NotFound`, HTTP 404), so ids and tokens reveal nothing to the wrong user.

Turns are numbered and saved by :mod:`qa.people.saving`; through the API, beside the
answering, so a turn's row may hold the answer ``PENDING`` for a while. A read first waits
for this process's queued answer writes (read-your-writes); a turn still ``PENDING`` that
this process is not answering (another process's, written a few milliseconds after its
answer was returned) is waited for up to a quarter of a second, and otherwise left out
until its answer is there.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from qa.people.access import Policy
from qa.people.db import Database
from qa.people.export import conversation_json, conversation_markdown
from qa.people.identity import User
from qa.people.models import (
    Conversation,
    Feedback,
    Share,
    Turn,
    utcnow,
)
from qa.people.models import User as UserRow
from qa.people.records import (
    ConversationInfo,
    ConversationView,
    FeedbackIn,
    FeedbackRecord,
    Forbidden,
    NotFound,
    ShareInfo,
    TurnRecord,
)
from qa.people.saving import PENDING, PendingTurn, TurnSaver, db_text, title_of
from qa.people.writer import Writer
from qa.types import Answer

C, T = Conversation, Turn
R = TypeVar("R")
# Turns more than asked for that a read of the newest fetches, for those being answered.
_PENDING_SLACK = 4
# How long a read waits for turns other processes have answered but not yet written.
_PENDING_WAIT_S = 0.25
# A turn still pending after this long was never finished (its process died): it is left
# out without waiting for it.
_ABANDONED = timedelta(hours=1)


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
        self.saver = TurnSaver(db, policy)

    @property
    def writer(self) -> Writer:
        """The thread that writes this store's turns (``settle()`` waits for its writes)."""
        return self.saver.writer

    def close(self) -> None:
        """Write what is queued; the store writes nothing after."""
        self.saver.close()

    # --- conversations --------------------------------------------------------------------

    def create(self, user: User, title: str | None = None) -> ConversationInfo:
        """A new, empty conversation owned by ``user``; its title defaults to the first question."""
        now = utcnow()
        values: dict[str, Any] = {
            "id": secrets.token_urlsafe(16),
            "owner": user.name,
            "title": title_of(title) if title and title.strip() else None,
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

        def read() -> tuple[list[TurnRecord], bool]:
            with self.db.single() as conn:
                rows = conn.execute(query).all()
            if not rows or not self._readable(user, rows[0]):
                raise NotFound("no such conversation")
            if rows[0].owner != user.name:
                if not self.get(user, conversation_id).read_only:  # NotFound unless shared
                    raise NotFound("no such conversation")
                raise Forbidden("a shared conversation is read-only; start your own to continue it")
            return self._turns(conversation_id, [r for r in rows if r.number], {})

        turns = self._settled(read)
        return turns[::-1][-limit:] if limit > 0 else []

    def _settled_view(
        self, user: User, locate: Callable[[Connection], tuple[Row[Any], bool]]
    ) -> ConversationView:
        """The view ``locate`` finds (its row, whether read-only)."""

        def read() -> tuple[ConversationView, bool]:
            with self.db.read() as conn:
                row, read_only = locate(conn)
                return self._view(conn, user, row, read_only)

        return self._settled(read)

    def _settled(self, read: Callable[[], tuple[R, bool]]) -> R:
        """What ``read`` returns once the turns answered before the call are written: it
        says whether a turn another process answered is still being written, and is read
        again until none is or a quarter of a second has passed (see the module docstring)."""
        self.writer.settle()
        deadline = time.monotonic() + _PENDING_WAIT_S
        while True:
            found, waiting = read()
            if not waiting or time.monotonic() >= deadline:
                return found
            time.sleep(0.005)

    def rename(self, user: User, conversation_id: str, title: str) -> ConversationInfo:
        """Give the user's conversation a new title (shortened to 200 characters)."""
        if not title.strip():
            raise ValueError("the title is empty")
        with self.db.write() as conn:
            row = conn.execute(
                update(C)
                .where(C.id == conversation_id, C.owner == user.name)
                .values(title=title_of(title))
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
        return self.saver.append(user, conversation_id, answer, collection)

    def begin_turn(
        self, user: User, conversation_id: str, question: str, collection: str | None = None
    ) -> PendingTurn:
        """Reserve the next turn for ``question`` while it is being answered; ``finish`` or
        ``cancel`` the PendingTurn (see :mod:`qa.people.saving`)."""
        return self.saver.begin(user, conversation_id, question, collection)

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
                "correction": db_text(feedback.correction) if feedback.correction else None,
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
                mine = (conversation_id, t.number) in self.saver.answering
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
