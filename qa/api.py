"""The REST API under ``/v1``: ask (JSON or Server-Sent Events), documents, collections.

Routes are thin: they validate, call the one ``Assistant``, and shape the result. Errors are
JSON ``{"error": {"message", "type", "code"}}``, the shape OpenAI clients already parse.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.chain import AnswerEvent
from qa.config import Mode, Settings
from qa.documents import SUPPORTED, slug
from qa.ingest import ProgressFn
from qa.observability import Metrics
from qa.service import Assistant
from qa.types import Answer, Filters, IngestResult, Turn

log = logging.getLogger(__name__)
# Chroma's own rule for collection names; it also keeps names usable as folder names.
_COLLECTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")
_ERROR_TYPES = {
    401: "authentication_error",
    404: "not_found_error",
    413: "file_too_large",
    415: "unsupported_media_type",
    422: "invalid_request_error",
}


@dataclass
class Context:
    """What every interface shares: settings, the service, metrics, one ingest at a time."""

    settings: Settings
    assistant: Assistant
    metrics: Metrics
    ingest_lock: threading.Lock = field(default_factory=threading.Lock)


class ApiError(Exception):
    """An error the client caused or should see, with its HTTP status."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "code": code or str(status)}}


def install_error_handlers(app: FastAPI) -> None:
    """Every error becomes JSON with a message a person can act on."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.status, exc.message, exc.code), exc.status, headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(exc.status_code, str(exc.detail)), exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return JSONResponse(error_body(422, "; ".join(problems) or "invalid request"), 422)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse(error_body(500, f"internal error: {exc}"), 500)


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(context)]


def require_key(request: Request) -> None:
    """With ``CITEQA_API_KEYS`` set, ``/v1/*`` needs ``Authorization: Bearer <key>``."""
    keys = [k.strip() for k in (context(request).settings.api_keys or "").split(",") if k.strip()]
    if not keys:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "missing API key: send 'Authorization: Bearer <key>'")
    if not any(hmac.compare_digest(token.strip().encode(), k.encode()) for k in keys):
        raise ApiError(401, "invalid API key")


# --- shared checks ------------------------------------------------------------------------


def check_question(question: str, settings: Settings) -> str:
    text = question.strip()
    if not text:
        raise ApiError(422, "the question is empty")
    if len(text) > settings.max_question_chars:
        raise ApiError(
            422,
            f"the question is {len(text)} characters long; "
            f"the limit is {settings.max_question_chars}",
        )
    return text


def resolve_collection(ctx: Context, name: str | None, create: bool = False) -> str:
    """The collection to use; unknown names are an error unless they are to be created."""
    name = name or ctx.settings.collection
    if not _COLLECTION.match(name) or name.endswith("-registry"):
        raise ApiError(
            422,
            f"invalid collection name {name!r}: 3-63 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit",
        )
    if not create and name != ctx.settings.collection and name not in ctx.assistant.collections():
        raise ApiError(404, f"no collection {name!r}; GET /v1/collections lists them")
    return name


# --- uploads ------------------------------------------------------------------------------


class UploadResult(BaseModel):
    """What happened to one uploaded file."""

    filename: str = Field(description="the name the client sent")
    saved_as: str = Field(description="the sanitized name it is stored under")
    status: str = Field(description="added, updated, unchanged or failed")
    doc_ids: list[str] = Field(default_factory=list)
    chunks: int = 0
    reason: str | None = None


def safe_filename(name: str) -> str:
    """A file name that cannot leave its folder: no separators, no leading dots."""
    base = re.split(r"[\\/]", name or "")[-1].strip()
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    suffix = f".{slug(ext).lower()}" if ext else ""
    return (slug(stem) if re.search(r"[A-Za-z0-9]", stem) else "upload") + suffix


def ingest_uploads(
    ctx: Context,
    files: Sequence[tuple[str, IO[bytes]]],
    collection: str,
    progress: ProgressFn | None = None,
) -> list[UploadResult]:
    """Check every file (415, 413) before storing any, then save under the uploads folder
    and ingest them as one batch. Files that fail to ingest are not kept."""
    max_bytes = int(ctx.settings.max_file_mb * 1_000_000)
    folder = (ctx.settings.uploads_dir() / collection).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path, Path]] = []  # client name, staged file, final path
    try:
        for filename, stream in files:
            name = safe_filename(filename)
            if Path(name).suffix not in SUPPORTED:
                raise ApiError(
                    415,
                    f"{filename!r}: unsupported file type; supported: {', '.join(SUPPORTED)}",
                )
            target = folder / name
            if target.resolve().parent != folder:
                raise ApiError(422, f"{filename!r}: invalid file name")
            part = folder / f".{uuid.uuid4().hex}.part"
            staged.append((filename, part, target))
            _copy_limited(stream, part, max_bytes, filename)
    except BaseException:
        for _, part, _ in staged:
            part.unlink(missing_ok=True)
        raise
    for _, part, target in staged:
        part.replace(target)
    with ctx.ingest_lock:
        targets = list(dict.fromkeys(t for _, _, t in staged))  # a name sent twice: once
        report = ctx.assistant.ingest(targets, collection, progress)
    ctx.metrics.observe_ingest(report)
    by_path = {r.path: r for r in report.results}
    stored = {str(d.get("source")) for d in ctx.assistant.documents(collection)}
    results = []
    for filename, _, target in staged:
        done = by_path.get(str(target)) or IngestResult(path=str(target), status="failed")
        if done.status == "failed" and str(target) not in stored:
            target.unlink(missing_ok=True)
        results.append(
            UploadResult(
                filename=filename,
                saved_as=target.name,
                status=done.status,
                doc_ids=done.doc_ids,
                chunks=done.chunks,
                reason=done.reason,
            )
        )
    return results


def _copy_limited(stream: IO[bytes], dest: Path, max_bytes: int, filename: str) -> None:
    size = 0
    with dest.open("wb") as out:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise ApiError(
                    413,
                    f"{filename!r} is larger than the {max_bytes / 1e6:g} MB limit per file",
                )
            out.write(chunk)


def remove_document(ctx: Context, doc_id: str, collection: str) -> bool:
    """Remove a document, and its uploaded file when no other document comes from it."""
    meta = ctx.assistant.store(collection).document(doc_id)
    if meta is None or not ctx.assistant.remove(doc_id, collection):
        return False
    source = Path(str(meta.get("source") or ""))
    uploads = ctx.settings.uploads_dir().resolve()
    others = {str(d.get("source")) for d in ctx.assistant.documents(collection)}
    if source.is_relative_to(uploads) and source.is_file() and str(source) not in others:
        source.unlink()
    return True


# --- routes -------------------------------------------------------------------------------


class AskRequest(BaseModel):
    question: str = Field(description="what to answer from the documents")
    history: list[Turn] = Field(default_factory=list, description="earlier turns, oldest first")
    filters: Filters | None = None
    mode: Mode | None = Field(None, description="LLM backend for this request (default: server)")
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


router = APIRouter(prefix="/v1", dependencies=[Depends(require_key)])


@router.post("/ask", response_model=Answer, tags=["ask"])
def ask(body: AskRequest, ctx: Ctx) -> Answer:
    """Answer a question; the Answer carries its citations and the sources it searched."""
    question = check_question(body.question, ctx.settings)
    collection = resolve_collection(ctx, body.collection)
    answer = ctx.assistant.ask(question, body.history, body.filters, body.mode, collection)
    ctx.metrics.observe_answer(answer, "api")
    return answer


def sse(event: str, data: BaseModel | dict[str, Any]) -> str:
    payload = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data)
    return f"event: {event}\ndata: {payload}\n\n"


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.post("/ask/stream", tags=["ask"])
def ask_stream(body: AskRequest, ctx: Ctx) -> StreamingResponse:
    """Server-Sent Events: ``sources``, ``token``s, the verified ``answer``, then ``done``
    (``error`` replaces what is missing when answering fails midway)."""
    question = check_question(body.question, ctx.settings)
    collection = resolve_collection(ctx, body.collection)

    def events() -> Iterator[str]:
        try:
            for event in ctx.assistant.stream(
                question, body.history, body.filters, body.mode, collection
            ):
                if isinstance(event, AnswerEvent):
                    ctx.metrics.observe_answer(event.answer, "api")
                yield sse(event.type, event)
        except Exception as exc:
            log.exception("streaming answer failed")
            yield sse("error", {"type": "error", "message": f"answering failed: {exc}"})
        yield sse("done", {"type": "done"})

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/documents", response_model=DocumentPage, tags=["documents"])
def list_documents(
    ctx: Ctx,
    collection: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DocumentPage:
    """Stored documents, newest first, with their metadata."""
    name = resolve_collection(ctx, collection)
    docs = ctx.assistant.documents(name)
    page = [DocumentInfo.model_validate(d) for d in docs[offset : offset + limit]]
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
    name = resolve_collection(ctx, collection, create=True)
    results = ingest_uploads(ctx, [(f.filename or "upload", f.file) for f in files], name)
    return UploadResponse(collection=name, results=results)


@router.delete("/documents/{doc_id}", tags=["documents"])
def delete_document(doc_id: str, ctx: Ctx, collection: str | None = None) -> dict[str, str]:
    """Remove a document and its chunks."""
    name = resolve_collection(ctx, collection)
    if not remove_document(ctx, doc_id, name):
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
