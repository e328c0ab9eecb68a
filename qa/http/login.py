"""The page login: a plain form (no script, no remote asset) that sets a session cookie.

Page users sign in with their password; holders of an API key may use the key as password.
"""

from __future__ import annotations

import asyncio
import html
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from qa.http.session import COOKIE, LIFETIME

router = APIRouter(include_in_schema=False)
# A wrong password costs the guesser this long.
FAILURE_DELAY = 0.5

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · citeqa</title><style>
body {{ margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f1f5f9;
  font-family: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }}
form {{ background: white; padding: 32px 36px; border-radius: 16px; width: 320px;
  box-shadow: 0 10px 30px rgba(15, 23, 42, .08); }}
.logo {{ width: 42px; height: 42px; border-radius: 12px; color: white; font-size: 28px;
  background: linear-gradient(135deg, #6366f1, #0ea5e9); text-align: center; line-height: 56px; }}
h1 {{ font-size: 1.4rem; margin: 14px 0 4px; }} p {{ color: #64748b; margin: 0 0 20px; }}
label {{ display: block; font-size: .85rem; color: #334155; margin: 12px 0 4px; }}
input {{ width: 100%; box-sizing: border-box; padding: 9px 11px; border: 1px solid #cbd5e1;
  border-radius: 8px; font-size: 1rem; }}
button {{ margin-top: 20px; width: 100%; padding: 10px; border: 0; border-radius: 8px;
  background: #4f46e5; color: white; font-size: 1rem; cursor: pointer; }}
.error {{ color: #b91c1c; margin: 12px 0 0; }}
</style></head><body><form method="post" action="/login">
<div class="logo">❝</div><h1>citeqa</h1><p>Sign in to chat with the documents.</p>
<input type="hidden" name="next" value="{next}">
<label for="user">User</label><input id="user" name="user" autocomplete="username" autofocus>
<label for="password">Password or API key</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
{error}<button type="submit">Sign in</button></form></body></html>"""


def safe_next(target: str | None) -> str:
    """Only a local path: never an open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def page(next_: str, error: str = "") -> str:
    shown = f'<p class="error">{html.escape(error)}</p>' if error else ""
    return _PAGE.format(next=html.escape(safe_next(next_), quote=True), error=shown)


@router.get("/login")
def login_form(next: str = "/") -> HTMLResponse:
    return HTMLResponse(page(next))


@router.post("/login", response_model=None)
async def login(
    request: Request,
    password: Annotated[str, Form()],
    user: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    found = request.app.state.identity.page_login(user.strip(), password)
    if found is None:
        await asyncio.sleep(FAILURE_DELAY)
        return HTMLResponse(page(next, "Wrong user name or password."), status_code=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        request.app.state.sessions.make(found.name),
        max_age=LIFETIME,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response
