"""A scripted OpenAI-compatible chat server: answers from a question → answer table.

``python -m qa.evaluation.scripted_llm --answers FILE --port N`` serves ``GET /v1/models``
and ``POST /v1/chat/completions`` (plain and streamed: ``chat.completion.chunk`` events, a
usage chunk when asked for, then ``data: [DONE]``) on 127.0.0.1 only. It stands in for a
capable model so that what citeqa's verification keeps and stops can be measured with
answers written in advance (``model_answers.jsonl``): right ones in other words, wrong ones
of known kinds. It is a double of the model, not of citeqa; the real llama.cpp server test
stays beside it.

How it picks a reply, from the text of the request's messages:

1. a rewrite (condense) prompt ("rewrite" and a ``Last question:`` line): the last question,
   unchanged;
2. the table question on a line ``Question: <q>`` (citeqa's answer prompt), else any table
   question found anywhere in the messages: its answer;
3. otherwise: "I could not find this in the documents."

``FILE`` is JSONL with ``question`` and ``answer`` per line (other fields are ignored); a
question listed twice is refused, since only one answer can be served: serve one variant
at a time. ``--log FILE`` appends each request's messages and the reply as a JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

NOT_FOUND = "I could not find this in the documents."
MODEL = "scripted"
_QUESTION_LINE = re.compile(r"^Question:\s*(.+?)\s*$", re.MULTILINE)
_LAST_QUESTION = re.compile(r"^Last question:\s*(.+?)\s*$", re.MULTILINE | re.IGNORECASE)


class Message(BaseModel):
    """An OpenAI chat message; content parts other than text are ignored."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(
                str(p.get("text", "")) for p in self.content if p.get("type") == "text"
            )
        return self.content or ""


class ChatRequest(BaseModel):
    """The fields the server reads; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None


def load_table(path: Path | str) -> dict[str, str]:
    """question → answer from a JSONL file; a repeated question is an error."""
    table: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        question = _squash(str(record["question"]))
        if question in table:
            raise ValueError(f"{path}:{number}: {question!r} is listed twice; serve one variant")
        table[question] = str(record["answer"])
    return table


def reply(table: Mapping[str, str], messages: Sequence[Message]) -> str:
    """The scripted reply to a conversation (see the module docstring for the rules)."""
    text = "\n".join(m.text() for m in messages)
    last = _LAST_QUESTION.findall(text)
    if last and "rewrite" in text.lower():
        return str(last[-1])
    asked = [_squash(q) for q in _QUESTION_LINE.findall(text)]
    for question in reversed(asked):
        if question in table:
            return table[question]
    squashed = _squash(text)
    found = [q for q in table if q in squashed]
    if found:
        return table[max(found, key=squashed.rfind)]  # the one asked last
    return NOT_FOUND


def _squash(text: str) -> str:
    return " ".join(text.split())


def create_app(table: Mapping[str, str], log: Path | None = None) -> FastAPI:
    """The FastAPI app serving ``table``."""
    app = FastAPI(title="scripted OpenAI-compatible model")

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "citeqa-eval"}],
        }

    @app.post("/v1/chat/completions", response_model=None)
    def completions(body: ChatRequest) -> dict[str, Any] | StreamingResponse:
        content = reply(table, body.messages)
        if log is not None:
            record = {"messages": [m.model_dump() for m in body.messages], "reply": content}
            with log.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        head = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "created": int(time.time()),
            "model": body.model,
        }
        tokens = len(content.split())
        usage = {"prompt_tokens": 0, "completion_tokens": tokens, "total_tokens": tokens}
        if not body.stream:
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
            return {**head, "object": "chat.completion", "choices": [choice], "usage": usage}
        with_usage = bool((body.stream_options or {}).get("include_usage"))
        events = _stream(head, content, usage if with_usage else None)
        return StreamingResponse(events, media_type="text/event-stream")

    return app


def _stream(
    head: Mapping[str, Any], content: str, usage: Mapping[str, int] | None
) -> Iterator[str]:
    """The reply as OpenAI chunks: the role, the text word by word, the stop, [DONE]."""

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        body = {**head, "object": "chat.completion.chunk", "choices": choices, **extra}
        return f"data: {json.dumps(body)}\n\n"

    yield chunk(
        [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
    )
    for piece in re.findall(r"\S+\s*", content):
        yield chunk([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
    yield chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    if usage is not None:
        yield chunk([], usage=dict(usage))
    yield "data: [DONE]\n\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a table on 127.0.0.1 until interrupted."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", required=True, type=Path, help="JSONL: question, answer")
    parser.add_argument("--port", required=True, type=int, help="loopback port to bind")
    parser.add_argument("--log", type=Path, help="append each request and reply here")
    args = parser.parse_args(argv)
    app = create_app(load_table(args.answers), args.log)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
