"""The REST API under ``/v1``: ask (JSON or Server-Sent Events), documents, collections."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from qa.chain import AnswerEvent
from qa.http.context import Ctx, request_id
from qa.http.errors import ApiError
from qa.http.public import public_answer, public_document, public_event
from qa.types import Answer, Filters, Text, Turn, UploadResult

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


@router.post("/ask", response_model=Answer, tags=["ask"])
def ask(body: AskRequest, ctx: Ctx) -> Answer:
    """Answer a question; the Answer carries its citations and the sources it searched."""
    question = ctx.assistant.check_question(body.question, body.history)
    collection = ctx.assistant.resolve_collection(body.collection)
    answer = ctx.assistant.ask(question, body.history, body.filters, body.mode, collection)
    ctx.metrics.observe_answer(answer, "api")
    return public_answer(answer)


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
    (``error`` replaces what is missing when answering fails midway)."""
    question = ctx.assistant.check_question(body.question, body.history)
    collection = ctx.assistant.resolve_collection(body.collection)
    events = ctx.assistant.stream(question, body.history, body.filters, body.mode, collection)
    rid = request_id(request)

    def frames() -> Iterator[ServerSentEvent]:
        try:
            for event in events:
                if isinstance(event, AnswerEvent):
                    ctx.metrics.observe_answer(event.answer, "api")
                yield frame(public_event(event).model_dump_json(), event.type)
        except Exception:
            log.exception("request %s: streaming answer failed", rid)
            message = f"answering failed (request id {rid})"
            yield frame(ErrorEvent(message=message).model_dump_json(), "error")
        yield frame('{"type": "done"}', "done")

    return sse_stream(frames())


class ErrorEvent(BaseModel):
    type: str = "error"
    message: str


@router.get("/documents", response_model=DocumentPage, tags=["documents"])
def list_documents(
    ctx: Ctx,
    collection: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DocumentPage:
    """Stored documents, newest first, with their metadata."""
    name = ctx.assistant.resolve_collection(collection)
    docs = ctx.assistant.documents(name)
    page = [DocumentInfo.model_validate(public_document(d)) for d in docs[offset : offset + limit]]
    return DocumentPage(
        collection=name, total=len(docs), offset=offset, limit=limit, documents=page
    )


@router.post("/documents", response_model=UploadResponse, tags=["documents"])
def upload_documents(
    files: Annotated[list[UploadFile], File(description="one or more files")],
    ctx: Ctx,
    collection: Annotated[str | None, Form(description="created when it does not exist")] = None,
) -> UploadResponse:
    """Upload and ingest files; one result per file (a file that fails does not stop the
    others). 413 and 415 reject the whole request before anything is stored."""
    name = ctx.assistant.resolve_collection(collection, create=True)
    results = ctx.assistant.add_files([(f.filename or "upload", f.file) for f in files], name)
    ctx.metrics.observe_ingest(r.status for r in results)
    return UploadResponse(collection=name, results=results)


@router.delete("/documents/{doc_id}", tags=["documents"])
def delete_document(doc_id: str, ctx: Ctx, collection: str | None = None) -> dict[str, str]:
    """Remove a document, its chunks, and its uploaded file."""
    name = ctx.assistant.resolve_collection(collection)
    if not ctx.assistant.remove(doc_id, name):
        raise ApiError(404, f"no document {doc_id!r} in collection {name!r}")
    return {"deleted": doc_id, "collection": name}


@router.get("/collections", response_model=list[CollectionInfo], tags=["documents"])
def list_collections(ctx: Ctx) -> list[CollectionInfo]:
    """Every collection with its document and chunk counts."""
    out = []
    for name in ctx.assistant.collections():
        docs = ctx.assistant.store(name).documents()
        chunks = sum(int(d.get("n_chunks") or 0) for d in docs.values())
        out.append(CollectionInfo(name=name, documents=len(docs), chunks=chunks))
    return out
