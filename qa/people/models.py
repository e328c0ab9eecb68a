"""The people tables: users, conversations, turns, feedback, shares (SQLAlchemy 2 declarative).

The schema itself is created by the Alembic migrations in ``migrations/versions``; these
models describe it for queries, and a test checks that the two agree on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

RATINGS = ("up", "down")
REASONS = ("wrong", "not_in_documents", "incomplete", "outdated", "bad_citation")
# A JSON document: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite drops the zone; this puts it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sql_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    """A person known by name from the identity settings; the row exists once they act."""

    # The name is the key: users are defined by configuration, not by a sign-up flow, so a
    # surrogate id would only cost a lookup on every write.
    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Conversation(Base):
    """A saved conversation; its id is a random URL-safe token."""

    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(String(500))
    collections: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    # The last turn number handed out; incrementing it under the row lock numbers turns.
    turn_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    __table_args__ = (Index("ix_conversations_owner_updated", "owner", "updated_at"),)


class Turn(Base):
    """One question and the full Answer given to it (``qa.types.Answer`` as JSON)."""

    __tablename__ = "turns"
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    # Copied out of the Answer so insights can select refusals without parsing every answer.
    abstained: Mapped[bool] = mapped_column(Boolean, default=False)
    collection: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    __table_args__ = (
        UniqueConstraint("conversation_id", "number", name="uq_turns_conversation_number"),
        CheckConstraint("number >= 1", name="ck_turns_number_positive"),
        Index("ix_turns_abstained_created", "abstained", "created_at"),
    )


class Feedback(Base):
    """A user's thumbs up or down on one turn; one per user and turn (a new one replaces it)."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"))
    user: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"))
    rating: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(32))
    correction: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    __table_args__ = (
        UniqueConstraint("turn_id", "user", name="uq_feedback_turn_user"),
        CheckConstraint(f"rating IN {_sql_list(RATINGS)}", name="ck_feedback_rating"),
        CheckConstraint(
            f"reason IS NULL OR reason IN {_sql_list(REASONS)}", name="ck_feedback_reason"
        ),
        Index("ix_feedback_rating_created", "rating", "created_at"),
    )


class Share(Base):
    """A share link: its token opens a read-only view for users who may read the collections."""

    __tablename__ = "shares"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
