"""What a response may say about where a document came from: its file name, or its URL,
never the server's path to it (a path tells a caller how the server's disk is laid out).

Every response that carries a document's ``source`` passes through ``public_source``:
REST and streamed answers, the OpenAI-compatible route, the document list, the page's
``/ask``. Inside the service the full path stays, since removal and re-ingest need it.
"""

from __future__ import annotations

import re
from typing import TypeVar

from pydantic import BaseModel

from qa.chain_io import AnswerEvent, SourcesEvent, StreamEvent
from qa.types import Answer

# A URL keeps its scheme (http://, https://, s3://): it is already public by design.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
M = TypeVar("M", bound=BaseModel)


def public_source(source: str, url: str | None = None) -> str:
    """The document's URL when it has one, else the file name (with a ``#record`` of a
    JSON Lines file kept, since it names the line)."""
    if url and _URL.match(url):
        return url
    if _URL.match(source):
        return source
    path, hash_, record = source.partition("#")
    name = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return f"{name}{hash_}{record}"


def _with_public_sources(items: list[M]) -> list[M]:
    return [
        item.model_copy(update={"source": public_source(str(getattr(item, "source", "")))})
        for item in items
    ]


def public_answer(answer: Answer) -> Answer:
    """A copy of ``answer`` whose citations and sources name files, not paths."""
    return answer.model_copy(
        update={
            "citations": _with_public_sources(answer.citations),
            "sources": _with_public_sources(answer.sources),
        }
    )


def public_event(event: StreamEvent) -> StreamEvent:
    """A stream event as a client may see it (see ``public_answer``)."""
    if isinstance(event, AnswerEvent):
        return event.model_copy(update={"answer": public_answer(event.answer)})
    if isinstance(event, SourcesEvent):
        return event.model_copy(update={"sources": _with_public_sources(event.sources)})
    return event


def public_document(meta: dict[str, object]) -> dict[str, object]:
    """A document's registry record with its source made public (its URL when it has one)."""
    source, url = meta.get("source"), meta.get("url")
    if source is None:
        return meta
    return {**meta, "source": public_source(str(source), str(url) if url else None)}
