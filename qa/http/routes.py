"""The REST API under ``/v1``: ask (JSON or Server-Sent Events), documents, collections."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from qa.chain_io import AnswerEvent
from qa.http.context import Context, Ctx, caller, request_id, user_of
from qa.http.errors import ApiError
from qa.http.public import public_answer, public_document, public_event
from qa.http.turns import begin_turn, conversation_history, turn_headers
from qa.people.identity import User
from qa.people.records import NotFound
from qa.people.saving import PendingTurn
from qa.types import Answer, AsOf, Filters, Text, Turn, UploadResult

log = logging.getLogger(__name__)
# Comment lines keep proxies from closing a stream while a slow model thinks.
KEEPALIVE_SECONDS = 15


class AskRequest(BaseModel):
    question: Text = Field(description="what to answer from the documents")
    history: list[Turn] = Field(default_factory=list, description="earlier turns, oldest first")
    filters: Filters | None = None
    mode: str | None = Field(
        None, description="answer mode, one the server enabled (default: the server's)"
    )
    collection: str | None = Field(None, description="collection to search (default: server)")
    as_of: AsOf = Field(
        None,
        description="answer as of this date (YYYY-MM-DD, YYYY-MM or YYYY; default today): "
        "nothing published after it is evidence, and 'last week' counts back from it",
    )
    conversation_id: str | None = Field(
        None,
        description="one of your conversations: the turn is saved to it, and its saved turns "
        "are the history when `history` is empty",
    )


class DocumentInfo(BaseModel):
    doc_id: str
    title: str | None = None
    date: str | None = None
    source: str | None = None
    url: str | None = None
    n_chunks: int | None = None
    chars: int | None = None
    ingested_at: float | None = None


class DocumentPage(BaseModel):
    collection: str
    total: int
    offset: int
    limit: int
    documents: list[DocumentInfo]


class UploadResponse(BaseModel):
    collection: str
    results: list[UploadResult]


class CollectionInfo(BaseModel):
    name: str
    documents: int
    chunks: int


router = APIRouter(prefix="/v1")


def _prepare(
    body: AskRequest, ctx: Context, user: User, reserve: bool = False
) -> tuple[str, str, list[Turn], float, PendingTurn | None]:
    """(question, collection, history, seconds spent reading the conversation, the turn
    reserved for the answer if ``reserve``), every check made before any answering work.
    The reservation runs beside the reading and the answering; it is given up if a check
    fails (it holds nothing that is not the user's own: see ``begin_turn``)."""
    question = ctx.assistant.check_question(body.question, body.history)
    collection = ctx.assistant.resolve_collection(body.collection, user=user.name)
    history, began, pending = body.history, time.perf_counter(), None
    if body.conversation_id:
        if reserve:
            pending = begin_turn(ctx, user, body.conversation_id, question, collection)
        try:
            history = conversation_history(ctx, user, body.conversation_id, body.history)
        except BaseException:
            if pending is not None:
                pending.cancel()
            raise
    return question, collection, history, time.perf_counter() - began, pending


@router.post("/ask", response_model=Answer, tags=["ask"])
def ask(body: AskRequest, ctx: Ctx, request: Request, response: Response) -> Answer:
    """Answer a question; the Answer carries its citations and the sources it searched.
    With ``conversation_id`` the turn is saved, ``X-Conversation-Turn`` is its number, and
    ``Server-Timing`` says what reading the conversation and saving the turn cost."""
    user = caller(request)
    # The turn's writes run beside reading the conversation and answering.
    question, collection, history, reading, pending = _prepare(body, ctx, user, reserve=True)
    try:
        answer = ctx.assistant.ask(
            question, history, body.filters, body.mode, collection, user=user.name, as_of=body.as_of
        )
    except BaseException:
        if pending is not None:
            pending.cancel()
        raise
    ctx.metrics.observe_answer(answer, "api")
    answer = public_answer(answer)
    if pending is not None:
        began, cpu = time.perf_counter(), time.thread_time()
        turn = pending.finish(answer)
        # What saving adds to the request: waiting for the turn's reservation if it is still
        # running, and handing the answer over. Wall time includes waiting for the CPU the
        # answering threads share; CPU time does not.
        timings = {
            "history": reading,
            "save": time.perf_counter() - began,
            "save-cpu": time.thread_time() - cpu,
        }
        response.headers.update(turn_headers(pending.conversation_id, turn, timings))
    return answer


def frame(data: str, event: str | None = None) -> ServerSentEvent:
    """One SSE frame, lines ending in ``\n`` (the spec allows ``\r\n``; some parsers don't)."""
    return ServerSentEvent(data, event=event, sep="\n")


def sse_stream(events: Iterator[ServerSentEvent]) -> EventSourceResponse:
    return EventSourceResponse(
        events, ping=KEEPALIVE_SECONDS, sep="\n", headers={"X-Accel-Buffering": "no"}
    )


@router.post("/ask/stream", tags=["ask"])
def ask_stream(body: AskRequest, ctx: Ctx, request: Request) -> EventSourceResponse:
    """Server-Sent Events: ``sources``, ``token``s, the verified ``answer``, then ``done``
    (``error`` replaces what is missing when answering fails midway). With
    ``conversation_id``, a ``saved`` event (``conversation_id``, ``turn``) follows the answer."""
    user = caller(request)
    question, collection, history, _, _ = _prepare(body, ctx, user)
    events = ctx.assistant.stream(
        question, history, body.filters, body.mode, collection, user=user.name, as_of=body.as_of
    )
    rid = request_id(request)

    def save_event(pending: PendingTurn, answer: Answer) -> ServerSentEvent:
        try:
            turn = pending.finish(answer)
        except NotFound as exc:  # deleted while answering: the answer stands, unsaved
            message = f"the answer was not saved: {exc}"
            return frame(ErrorEvent(message=message).model_dump_json(), "error")
        saved = SavedEvent(conversation_id=pending.conversation_id, turn=turn.number)
        return frame(saved.model_dump_json(), "saved")

    def frames() -> Iterator[ServerSentEvent]:
        pending = None
        if body.conversation_id:  # the turn's writes run beside the answering
            pending = begin_turn(ctx, user, body.conversation_id, question, collection)
        try:
            for event in events:
                event = public_event(event)
                yield frame(event.model_dump_json(), event.type)
                if isinstance(event, AnswerEvent):
                    ctx.metrics.observe_answer(event.answer, "api")
                    if pending is not None:
                        yield save_event(pending, event.answer)
        except Exception:
            log.exception("request %s: streaming answer failed", rid)
            message = f"answering failed (request id {rid})"
            yield frame(ErrorEvent(message=message).model_dump_json(), "error")
        finally:  # no answer (failed, or the client went away): the turn is given up
            if pending is not None:
                pending.cancel()
        yield frame('{"type": "done"}', "done")

    return sse_stream(frames())


class ErrorEvent(BaseModel):
    type: str = "error"
    message: str


class SavedEvent(BaseModel):
    type: str = "saved"
    conversation_id: str
    turn: int = Field(description="the saved turn's number, for POST /v1/feedback")


@router.get("/documents", response_model=DocumentPage, tags=["documents"])
def list_documents(
    ctx: Ctx,
    request: Request,
    collection: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DocumentPage:
    """Stored documents, newest first, with their metadata."""
    user = user_of(request)
    name = ctx.assistant.resolve_collection(collection, user=user)
    docs = ctx.assistant.documents(name, user=user)
    page = [DocumentInfo.model_validate(public_document(d)) for d in docs[offset : offset + limit]]
    return DocumentPage(
        collection=name, total=len(docs), offset=offset, limit=limit, documents=page
    )


@router.post("/documents", response_model=UploadResponse, tags=["documents"])
def upload_documents(
    files: Annotated[list[UploadFile], File(description="one or more files")],
    ctx: Ctx,
    request: Request,
    collection: Annotated[str | None, Form(description="created when it does not exist")] = None,
) -> UploadResponse:
    """Upload and ingest files; one result per file (a file that fails does not stop the
    others). 413 and 415 reject the whole request before anything is stored; 403 a
    collection the caller may not write."""
    name = ctx.assistant.resolve_collection(collection, create=True, user=user_of(request))
    results = ctx.assistant.add_files([(f.filename or "upload", f.file) for f in files], name)
    ctx.metrics.observe_ingest(r.status for r in results)
    return UploadResponse(collection=name, results=results)


@router.delete("/documents/{doc_id}", tags=["documents"])
def delete_document(
    doc_id: str, ctx: Ctx, request: Request, collection: str | None = None
) -> dict[str, str]:
    """Remove a document, its chunks, and its uploaded file (403 without write access)."""
    name = ctx.assistant.resolve_collection(collection, user=user_of(request), write=True)
    if not ctx.assistant.remove(doc_id, name):
        raise ApiError(404, f"no document {doc_id!r} in collection {name!r}")
    return {"deleted": doc_id, "collection": name}


@router.get("/collections", response_model=list[CollectionInfo], tags=["documents"])
def list_collections(ctx: Ctx, request: Request) -> list[CollectionInfo]:
    """Every collection the caller may read, with its document and chunk counts."""
    out = []
    for name in ctx.assistant.collections(user_of(request)):
        docs = ctx.assistant.store(name).documents()
        chunks = sum(int(d.get("n_chunks") or 0) for d in docs.values())
        out.append(CollectionInfo(name=name, documents=len(docs), chunks=chunks))
    return out
