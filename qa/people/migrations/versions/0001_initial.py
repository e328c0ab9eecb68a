"""Initial schema: users, conversations, turns, feedback, shares.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "owner", sa.String(200), sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("title", sa.String(500), nullable=True),
        sa.Column("collections", JSONDoc, nullable=False),
        sa.Column("turn_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversations_owner_updated", "conversations", ["owner", "updated_at"])
    op.create_table(
        "turns",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id",
            sa.String(64),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", JSONDoc, nullable=False),
        sa.Column("abstained", sa.Boolean(), nullable=False),
        sa.Column("collection", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("conversation_id", "number", name="uq_turns_conversation_number"),
        sa.CheckConstraint("number >= 1", name="ck_turns_number_positive"),
    )
    op.create_index("ix_turns_abstained_created", "turns", ["abstained", "created_at"])
    op.create_table(
        "feedback",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("turn_id", RowId, sa.ForeignKey("turns.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "user", sa.String(200), sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("rating", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("correction", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("turn_id", "user", name="uq_feedback_turn_user"),
        sa.CheckConstraint("rating IN ('up', 'down')", name="ck_feedback_rating"),
        sa.CheckConstraint(
            "reason IS NULL OR reason IN "
            "('wrong', 'not_in_documents', 'incomplete', 'outdated', 'bad_citation')",
            name="ck_feedback_reason",
        ),
    )
    op.create_index("ix_feedback_rating_created", "feedback", ["rating", "created_at"])
    op.create_table(
        "shares",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.String(64),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "created_by",
            sa.String(200),
            sa.ForeignKey("users.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_shares_conversation_id", "shares", ["conversation_id"])


def downgrade() -> None:
    for table in ("shares", "feedback", "turns", "conversations", "users"):
        op.drop_table(table)
