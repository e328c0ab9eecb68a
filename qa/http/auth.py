"""One auth gate in front of every route: the REST and OpenAI API, the page and its Gradio
queue/upload routes, the API docs and ``/metrics``. Only ``/healthz`` (which says nothing
about the data) and the login page are open.

A request is let in by ``Authorization: Bearer <key>`` or by a signed page session cookie.
A browser without either is sent to the login page; anything else gets 401. ``/metrics``
also takes ``CITEQA_METRICS_KEY``, which opens nothing else (403).
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send

from qa.http.errors import error_body, send_json
from qa.http.session import COOKIE, Sessions
from qa.people.identity import LOCAL_USER, Identity

OPEN_PATHS = frozenset({"/healthz", "/login", "/logout"})
METRICS = "/metrics"


def bearer(scope: Scope) -> str | None:
    headers = dict(scope.get("headers") or [])
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def session_cookie(scope: Scope) -> str | None:
    headers = dict(scope.get("headers") or [])
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
    except Exception:  # a malformed Cookie header is no session
        return None
    morsel = cookie.get(COOKIE)
    return morsel.value if morsel else None


def _wants_html(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    return scope.get("method") == "GET" and b"text/html" in headers.get(b"accept", b"")


class AuthGate:
    def __init__(
        self, app: ASGIApp, identity: Identity, sessions: Sessions, metrics_key: str | None
    ) -> None:
        self.app, self.identity, self.sessions = app, identity, sessions
        self.metrics_key = metrics_key

    def user(self, scope: Scope) -> str | None:
        if not self.identity.enabled:
            return LOCAL_USER
        token = bearer(scope)
        if token is not None:
            found = self.identity.resolve_key(token)
            return found.name if found else None
        return self.sessions.user(session_cookie(scope))

    def is_metrics_key(self, token: str | None) -> bool:
        return bool(token and self.metrics_key) and hmac.compare_digest(
            str(token).encode(), str(self.metrics_key).encode()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        user = self.user(scope)
        scope.setdefault("state", {})["user"] = user
        token = bearer(scope)
        if user is None and path == METRICS and self.is_metrics_key(token):
            await self.app(scope, receive, send)
            return
        if user is not None or path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        await self.refuse(scope, receive, send, token)

    async def refuse(self, scope: Scope, receive: Receive, send: Send, token: str | None) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if self.is_metrics_key(token):
            message = "this key opens /metrics only"
            await send_json(send, 403, error_body(403, message))
            return
        if _wants_html(scope) and not token:
            target = quote(scope["path"] + _query(scope), safe="")
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", f"/login?next={target}".encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        message = (
            "invalid API key"
            if token
            else "authentication required: send 'Authorization: Bearer <key>' or sign in at /login"
        )
        await send_json(send, 401, error_body(401, message))


def _query(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    return f"?{query}" if query else ""
