"""Request bodies are capped before they are read: by ``Content-Length`` at once (a JSON 413
like every other error), and while streaming when there is none (Starlette's own body-limit
middleware, which FastAPI's body parsing knows). An over-large upload is never spooled."""

from __future__ import annotations

from collections.abc import Collection

from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from qa.http.errors import error_body, send_json


class BodyLimit:
    def __init__(
        self, app: ASGIApp, default: int, upload: int, upload_paths: Collection[str]
    ) -> None:
        self.default, self.upload, self.upload_paths = default, upload, upload_paths
        self.streams = {
            default: RequestBodyLimitMiddleware(app, default),
            upload: RequestBodyLimitMiddleware(app, upload),
        }
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload if scope["path"] in self.upload_paths else self.default
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            message = f"the request body is larger than the {limit / 1e6:g} MB limit"
            await send_json(send, 413, error_body(413, message))
            return
        await self.streams[limit](scope, receive, send)
