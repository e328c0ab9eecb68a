"""The people service: what the HTTP routes, the page and the CLI call about users.

It bundles identity (who is asking), the access policy (what they may read and write), the
conversation store, and the admin views (feedback as evaluation data, insights). Settings
are parsed before the database is opened, so a bad ``CITEQA_ACCESS`` or ``CITEQA_API_KEYS``
fails at start with its reason and touches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from qa.config import Settings
from qa.evaluation.datasets import EvalItem
from qa.people.access import Policy
from qa.people.db import Database, open_database
from qa.people.feedback import feedback_items
from qa.people.identity import Identity, User
from qa.people.insights import SIMILAR, Embed, Insights, insights
from qa.people.records import Forbidden
from qa.people.store import ConversationStore


class People:
    """Users, access and saved conversations of one deployment."""

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        self.identity = Identity.from_settings(settings)
        self.policy = Policy.parse(settings.access)
        self.db = database or open_database(settings)
        self.conversations = ConversationStore(self.db, self.policy)

    def feedback_items(
        self, collections: Sequence[str] | None = None, since: datetime | None = None
    ) -> list[EvalItem]:
        """Thumbs-down feedback as evaluation questions (see :mod:`qa.people.feedback`)."""
        self.conversations.writer.settle()
        return feedback_items(self.db, collections, since)

    def insights(
        self,
        user: User,
        embed: Embed,
        collections: Sequence[str] | None = None,
        since: datetime | None = None,
        threshold: float = SIMILAR,
    ) -> Insights:
        """What the collections fail to answer; for admins only (they read every collection)."""
        if not self.policy.is_admin(user):
            raise Forbidden(f"{user.name} is not an admin")
        self.conversations.writer.settle()
        return insights(self.db, embed, collections, since, threshold)

    def close(self) -> None:
        self.conversations.close()
        self.db.dispose()
