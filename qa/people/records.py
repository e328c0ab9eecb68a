"""What the people layer hands out and takes in; pydantic models that double as the API schema."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from qa.types import Answer

Rating = Literal["up", "down"]
Reason = Literal["wrong", "not_in_documents", "incomplete", "outdated", "bad_citation"]
MAX_TITLE = 200
MAX_CORRECTION = 5000


class NotFound(LookupError):
    """No such conversation, turn or share for this user (missing and not visible look alike)."""


class Forbidden(PermissionError):
    """The user may not do this (e.g. save an answer from a collection they cannot read)."""


class ConversationInfo(BaseModel):
    """A conversation as listed: no turns."""

    id: str
    title: str | None = Field(description="the first question, unless renamed")
    owner: str
    collections: list[str] = Field(description="collections its answers came from")
    turn_count: int
    created_at: datetime
    updated_at: datetime


class TurnRecord(BaseModel):
    """One question with the full Answer it got."""

    number: int = Field(description="1 for the first turn of the conversation")
    question: str
    answer: Answer
    created_at: datetime
    rating: Rating | None = Field(None, description="the viewer's own thumbs up or down, if any")


class ConversationView(ConversationInfo):
    """A conversation with its turns, as one viewer may see it."""

    turns: list[TurnRecord]
    read_only: bool = Field(description="true unless the viewer owns it")


class FeedbackIn(BaseModel):
    """A thumbs up or down on one turn (``POST /v1/feedback``)."""

    conversation_id: str
    turn: int = Field(ge=1, description="turn number, from 1")
    rating: Rating
    reason: Reason | None = None
    correction: str | None = Field(
        None, max_length=MAX_CORRECTION, description="what the answer should have said"
    )


class FeedbackRecord(FeedbackIn):
    """Stored feedback: who gave it and when."""

    user: str
    created_at: datetime


class ShareInfo(BaseModel):
    """A share link's token; it opens a read-only view for users who may read the collections."""

    token: str
    conversation_id: str
    created_by: str
    created_at: datetime
