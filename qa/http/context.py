"""What every route shares: settings, the service, metrics; and the caller's identity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from qa.config import Settings
from qa.observability import Metrics
from qa.service import Assistant


@dataclass
class Context:
    settings: Settings
    assistant: Assistant
    metrics: Metrics


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def user_of(request: Request) -> str:
    """The caller, as the auth gate resolved it (``local`` when no auth is configured)."""
    return str(request.scope.get("state", {}).get("user") or "local")


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id") or "-")


Ctx = Annotated[Context, Depends(context)]
