"""OpenAI-compatible routes: ``/v1/chat/completions`` and ``/v1/models``.

Any OpenAI client or tool (Open WebUI, the ``openai`` CLI) can chat with the documents:
the model name selects the collection, the answer text carries ``[n]`` markers, and the
citations travel in an extra top-level ``citations`` field.

By default the content also lists the numbered sources (title, date, quote) after the
answer, so a chat front-end that knows nothing of citeqa shows what the markers point at
(``CITEQA_SOURCES_IN_CONTENT=false`` turns it off; the ``citations`` field stays).

The text a client receives is always the *verified* answer. Raw model tokens are not
forwarded, because verification may trim or renumber them and an OpenAI stream cannot take
text back; a stream therefore carries the answer once it is verified, then the citations.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from qa.chain_io import AnswerEvent
from qa.http.context import Context, Ctx, request_id, user_of
from qa.http.errors import ApiError
from qa.http.public import public_answer
from qa.http.routes import frame, sse_stream
from qa.types import Answer, AsOf, Filters, Turn, valid_text

log = logging.getLogger(__name__)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """Plain text of the message; content parts other than text are ignored."""
        if isinstance(self.content, list):
            parts = [p for p in self.content if p.get("type") == "text"]
            return valid_text("\n".join(str(p.get("text", "")) for p in parts))
        return valid_text(self.content or "")


class ChatRequest(BaseModel):
    """The OpenAI request; sampling options are accepted and ignored (answers are grounded
    by the chain, not tuned per call). ``filters`` and ``as_of`` are extensions (send them
    with the ``openai`` client's ``extra_body``)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description="a collection name, as listed by GET /v1/models")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    filters: Filters | None = None
    as_of: AsOf = Field(None, description="answer as of this date (default today)")


router = APIRouter(prefix="/v1", tags=["openai"])


def _models(ctx: Context, user: str) -> list[str]:
    """The collections ``user`` may read (the configured one even before it holds anything)."""
    known = set(ctx.assistant.collections(user)) | {ctx.settings.collection}
    return sorted(n for n in known if ctx.assistant.policy.can_read(user, n))


def _collection(ctx: Context, model: str, user: str) -> str:
    known = _models(ctx, user)
    if model not in known:
        raise ApiError(
            404,
            f"the model {model!r} does not exist; the models are the collections: "
            + ", ".join(sorted(known)),
            "model_not_found",
        )
    return model


def _conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """(question, history): the last message must be the user's; system turns are dropped."""
    if messages[-1].role != "user":
        raise ApiError(422, "messages: the last message must have role 'user'")
    try:
        history = [
            Turn(role="user" if m.role == "user" else "assistant", content=m.text())
            for m in messages[:-1]
            if m.role in ("user", "assistant")
        ]
        return messages[-1].text(), history
    except ValueError as exc:
        raise ApiError(422, f"messages: {exc}") from None


def content_of(answer: Answer, with_sources: bool) -> str:
    """The answer text, then (by default) its numbered sources with their quotes."""
    if not with_sources or not answer.citations:
        return answer.text
    lines = [answer.text, "", "Sources:"]
    for c in answer.citations:
        label = f"{c.title}, {c.date}" if c.date else c.title
        lines.append(f'[{c.marker}] {label}: "{c.quote}"')
    return "\n".join(lines)


def _extras(answer: Answer) -> dict[str, Any]:
    return {
        "citations": [c.model_dump(mode="json") for c in answer.citations],
        "abstained": answer.abstained,
    }


@router.get("/models")
def list_models(ctx: Ctx, request: Request) -> dict[str, Any]:
    """The collections the caller may read, as OpenAI models."""
    return {"object": "list", "data": [_model(n) for n in _models(ctx, user_of(request))]}


@router.get("/models/{model}")
def get_model(model: str, ctx: Ctx, request: Request) -> dict[str, Any]:
    return _model(_collection(ctx, model, user_of(request)))


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "citeqa"}


@router.post("/chat/completions", response_model=None)
def chat_completions(
    body: ChatRequest, ctx: Ctx, request: Request
) -> dict[str, Any] | EventSourceResponse:
    """Chat with a collection. Non-streaming returns a ``chat.completion``; ``stream: true``
    returns ``chat.completion.chunk`` events ending with ``data: [DONE]``."""
    user = user_of(request)
    collection = _collection(ctx, body.model, user)
    question, history = _conversation(body.messages)
    question = ctx.assistant.check_question(question, history)
    with_sources = ctx.settings.sources_in_content
    rid = request_id(request)
    head = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "created": int(time.time()),
        "model": body.model,
    }

    def answer() -> Answer:
        final = None
        events = ctx.assistant.stream(
            question, history, body.filters, None, collection, user=user, as_of=body.as_of
        )
        for event in events:
            if isinstance(event, AnswerEvent):
                final = event.answer
        if final is None:
            raise RuntimeError("the chain ended without an answer")
        ctx.metrics.observe_answer(final, "openai")
        return public_answer(final)

    if not body.stream:
        result = answer()
        return {
            **head,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content_of(result, with_sources),
                    },
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 0,
                "completion_tokens": result.tokens,
                "total_tokens": result.tokens,
            },
            **_extras(result),
        }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> ServerSentEvent:
        body_ = {
            **head,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return frame(json.dumps(body_))

    def events() -> Iterator[ServerSentEvent]:
        yield chunk({"role": "assistant", "content": ""})
        try:
            result = answer()
            yield chunk({"content": content_of(result, with_sources)})
            yield chunk({}, "stop", **_extras(result))
        except Exception:
            log.exception("request %s: chat completion failed", rid)
            error = {"message": f"answering failed (request id {rid})", "type": "server_error"}
            yield frame(json.dumps({"error": error}))
        yield frame("[DONE]")

    return sse_stream(events())
