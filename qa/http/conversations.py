"""Saved conversations over HTTP: create, list, read, rename, delete, share, export, feedback.

Every route acts as the caller (``caller(request)``) through the one ``ConversationStore``,
which decides what they may see: a conversation they may not see is 404, exactly like one
that does not exist, so ids and share tokens reveal nothing. Continuing a conversation
(``/v1/ask`` with ``conversation_id``) is in :mod:`qa.http.turns`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from qa.http.context import Ctx, caller
from qa.people.records import (
    MAX_TITLE,
    ConversationInfo,
    ConversationView,
    FeedbackIn,
    FeedbackRecord,
    NotFound,
    ShareInfo,
)
from qa.service import InvalidRequest

router = APIRouter(tags=["conversations"])


class NewConversation(BaseModel):
    title: str | None = Field(
        None, max_length=MAX_TITLE, description="default: the first question, once asked"
    )


class Rename(BaseModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE)


class ShareLink(ShareInfo):
    """A share link: the token, the read-only page and the API address it opens."""

    page_url: str = Field(description="the read-only page, relative to the server")
    api_url: str = Field(description="the conversation as JSON, relative to the server")


@router.post("/v1/conversations", status_code=201, response_model=ConversationInfo)
def create(body: NewConversation, ctx: Ctx, request: Request) -> ConversationInfo:
    """A new, empty conversation of the caller's; ask with its ``id`` as ``conversation_id``."""
    return ctx.people.conversations.create(caller(request), body.title)


@router.get("/v1/conversations", response_model=list[ConversationInfo])
def list_conversations(
    ctx: Ctx,
    request: Request,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ConversationInfo]:
    """The caller's own conversations, most recently active first."""
    return ctx.people.conversations.list_for(caller(request), limit, offset)


@router.get("/v1/conversations/{conversation_id}", response_model=ConversationView)
def get(conversation_id: str, ctx: Ctx, request: Request) -> ConversationView:
    """The conversation with every turn's full Answer (read-only unless it is the caller's)."""
    return ctx.people.conversations.get(caller(request), conversation_id)


@router.patch("/v1/conversations/{conversation_id}", response_model=ConversationInfo)
def rename(conversation_id: str, body: Rename, ctx: Ctx, request: Request) -> ConversationInfo:
    try:
        return ctx.people.conversations.rename(caller(request), conversation_id, body.title)
    except ValueError as exc:
        raise InvalidRequest("title", str(exc)) from None


@router.delete("/v1/conversations/{conversation_id}")
def delete(conversation_id: str, ctx: Ctx, request: Request) -> dict[str, str]:
    """Delete the conversation with its turns, feedback and share links."""
    ctx.people.conversations.delete(caller(request), conversation_id)
    return {"deleted": conversation_id}


@router.post("/v1/conversations/{conversation_id}/share", response_model=ShareLink)
def share(conversation_id: str, ctx: Ctx, request: Request) -> ShareLink:
    """The conversation's share link (the same one on every call until revoked). It opens a
    read-only view to users who may read every collection its answers came from."""
    info = ctx.people.conversations.share(caller(request), conversation_id)
    return share_link(info)


@router.delete("/v1/conversations/{conversation_id}/share")
def revoke(conversation_id: str, ctx: Ctx, request: Request) -> dict[str, int]:
    """Revoke the conversation's share links; returns how many were live."""
    return {"revoked": ctx.people.conversations.revoke_shares(caller(request), conversation_id)}


@router.get("/v1/conversations/{conversation_id}/export", response_model=None)
def export(
    conversation_id: str,
    ctx: Ctx,
    request: Request,
    format: Literal["md", "json"] = "md",
) -> Response:
    """Markdown (answers with their numbered, dated quotes) or JSON (every full Answer)."""
    store, user = ctx.people.conversations, caller(request)
    name = f"conversation-{conversation_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "json":
        return JSONResponse(store.export_json(user, conversation_id), headers=headers)
    return PlainTextResponse(
        store.export_markdown(user, conversation_id),
        media_type="text/markdown; charset=utf-8",
        headers=headers,
    )


@router.get("/v1/shared/{token}", response_model=ConversationView)
def shared(token: str, ctx: Ctx, request: Request) -> ConversationView:
    """The conversation a share link opens, read-only; 404 to users who may not read it."""
    return ctx.people.conversations.get_shared(caller(request), token)


@router.get("/shared/{token}", response_class=HTMLResponse, include_in_schema=False)
def shared_html(token: str, ctx: Ctx, request: Request) -> HTMLResponse:
    """The share link's page: the conversation with its cited answers, read-only."""
    from qa.ui.history import shared_page  # the page package loads Gradio: only when asked

    try:
        view = ctx.people.conversations.get_shared(caller(request), token)
    except NotFound:
        return HTMLResponse(shared_page(None), status_code=404)
    return HTMLResponse(shared_page(view))


@router.post("/v1/feedback", response_model=FeedbackRecord, tags=["feedback"])
def feedback(body: FeedbackIn, ctx: Ctx, request: Request) -> FeedbackRecord:
    """Thumbs up or down on a turn (numbered from 1) of a conversation the caller can see,
    with an optional reason and correction; a second rating replaces the first."""
    return ctx.people.conversations.add_feedback(caller(request), body)


def share_link(info: ShareInfo) -> ShareLink:
    return ShareLink(
        **info.model_dump(),
        page_url=f"/shared/{info.token}",
        api_url=f"/v1/shared/{info.token}",
    )
