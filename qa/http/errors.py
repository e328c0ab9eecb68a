"""Errors as JSON ``{"error": {"message", "type", "code"}}`` (the shape OpenAI clients parse).

A client's mistake is a 4xx that names the field. An unexpected failure is a 500 whose body
carries a request id and never the exception text (that goes to the log, under the same id);
the connection stays usable for the next request.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.people.records import Forbidden, NotFound
from qa.service import InvalidRequest, ModeNotEnabled, UnknownCollection
from qa.uploads import UploadError

log = logging.getLogger("qa.http")
_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request_error",
}
_UPLOAD_STATUS = {"unsupported": 415, "too_large": 413, "invalid": 422}


class ApiError(Exception):
    """An error the client caused or should see, with its HTTP status."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "code": code or str(status)}}


def error_response(status: int, message: str, code: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(status, message, code), status, headers)


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path", "form"))


def install_error_handlers(app: FastAPI) -> None:
    """Client errors become JSON a person can act on."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.code)

    @app.exception_handler(ModeNotEnabled)
    async def mode_error(request: Request, exc: ModeNotEnabled) -> JSONResponse:
        return error_response(422, f"mode: {exc}")

    @app.exception_handler(InvalidRequest)
    async def invalid_request(request: Request, exc: InvalidRequest) -> JSONResponse:
        return error_response(422, str(exc))

    # The people layer's and the access policy's refusals: hidden = 404, refused = 403.
    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return error_response(404, str(exc))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return error_response(403, str(exc))

    @app.exception_handler(UnknownCollection)
    async def unknown_collection(request: Request, exc: UnknownCollection) -> JSONResponse:
        return error_response(404, str(exc))

    @app.exception_handler(UploadError)
    async def upload_error(request: Request, exc: UploadError) -> JSONResponse:
        return error_response(_UPLOAD_STATUS[exc.kind], exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            where = _field(tuple(err.get("loc", ())))
            problems.append(f"{where}: {msg}" if where else msg)
        return error_response(422, "; ".join(problems) or "invalid request")


class ErrorBoundary:
    """Outermost app middleware: a request id (and the serving process, ``X-Served-By``:
    ``citeqa serve --workers N`` runs several) for every request, a JSON 500 for
    anything that escaped the routes, and no re-raise, so the server keeps the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex[:12]
        scope.setdefault("state", {})["request_id"] = rid
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode()),
                                      (b"x-served-by", str(os.getpid()).encode())]  # fmt: skip
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("request %s (%s %s) failed", rid, scope["method"], scope["path"])
            if not started:
                message = f"internal error (request id {rid}); the server log has the details"
                await send_json(send_with_id, 500, error_body(500, message))


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A whole JSON response, for middleware that answers before the app."""
    payload = json.dumps(body).encode()
    if status == 401:
        headers = [*(headers or []), (b"www-authenticate", b"Bearer")]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
