"""What every route shares: settings, the service, the people service, metrics; and the
caller's identity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from qa.config import Settings
from qa.observability import Metrics
from qa.people.identity import User
from qa.people.service import People
from qa.service import Assistant


@dataclass
class Context:
    settings: Settings
    assistant: Assistant
    metrics: Metrics
    people: People


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def user_of(request: Request) -> str:
    """The caller, as the auth gate resolved it (``local`` when no auth is configured)."""
    return str(request.scope.get("state", {}).get("user") or "local")


def caller(request: Request) -> User:
    """The caller as a ``User`` of the people layer."""
    return User(name=user_of(request))


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id") or "-")


Ctx = Annotated[Context, Depends(context)]
