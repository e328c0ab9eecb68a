"""Alembic environment: migrate on the connection the caller passes, inside its transaction.

The caller (:meth:`qa.people.db.Database.migrate`) holds the migration lock in that
transaction and commits it, so two processes starting at once migrate one after the other.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from qa.people.models import Base

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through qa.people.db.Database.migrate()")
# render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
