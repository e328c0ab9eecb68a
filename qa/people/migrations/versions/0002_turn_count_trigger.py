"""SQLite: inserting a turn advances its conversation's turn count and activity time.

A turn is then saved by one statement (``INSERT ... SELECT turn_count + 1 ...``) that is its
own transaction (see ``qa.people.store``). PostgreSQL does the same in one statement with a
data-modifying CTE and needs no trigger.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TRIGGER turns_advance_count AFTER INSERT ON turns "
        "BEGIN "
        "UPDATE conversations SET turn_count = NEW.number, updated_at = NEW.created_at "
        "WHERE id = NEW.conversation_id AND turn_count < NEW.number; "
        "END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS turns_advance_count")
