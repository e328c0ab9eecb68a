"""No response names a server path (sources are file names or URLs), and an OpenAI client
that knows nothing of citeqa gets the sources' titles in the answer text."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openai import OpenAI

from qa.config import Settings
from qa.http.app import create_app
from qa.http.public import public_source
from qa.service import Assistant
from tests.conftest import ROOT, SAMPLE
from tests.qa.serving import running

QUESTION = "What concessions did the US offer?"
UNKNOWN = "What is the boiling point of mercury?"
NOTE = b"date 2024-05-01\nThe harbour office moved its ferry timetable to the summer schedule.\n"
RECORDS = (
    b'{"id": "r1", "title": "Linked", "url": "https://example.org/a", "text": "Ferries run '
    b'hourly in summer from the harbour office pier."}\n'
    b'{"id": "r2", "title": "Unlinked", "text": "The pier closes at midnight."}\n'
)
# Something that starts like an absolute path: /segment/segment...
_PATHLIKE = re.compile(r"/[^\s\"'#:,;()<>\[\]]+")


def test_public_source_keeps_names_and_urls_only() -> None:
    assert public_source("/srv/citeqa/examples/reuters.txt") == "reuters.txt"
    assert public_source("C:\\data\\uploads\\report.pdf") == "report.pdf"
    assert public_source("/srv/up/feed.jsonl#r2") == "feed.jsonl#r2"
    assert public_source("https://example.org/a") == "https://example.org/a"
    assert public_source("/srv/x.html", "https://example.org/x") == "https://example.org/x"
    assert public_source("/srv/x.html", "javascript:alert(1)") == "x.html"
    assert public_source("notes.md") == "notes.md"


def server_paths(value: Any, where: str = "$") -> Iterator[str]:
    """Every string in a JSON value that names a file or folder on this machine."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from server_paths(item, f"{where}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from server_paths(item, f"{where}[{n}]")
    elif isinstance(value, str):
        for candidate in _PATHLIKE.findall(value):
            parent = os.path.dirname(candidate.rstrip("/"))
            if candidate.count("/") >= 2 and (
                os.path.exists(candidate) or (parent != "/" and os.path.isdir(parent))
            ):
                yield f"{where}: {candidate}"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embeddings: Any) -> FastAPI:
    data = tmp_path_factory.mktemp("public") / "data"
    settings = Settings(data_dir=data, mode="extractive")
    return create_app(settings, Assistant(settings, embeddings), ui=True)


@pytest.fixture(scope="module")
def base_url(app: FastAPI) -> Iterator[str]:
    with running(app) as url:  # warm-up ingests the bundled sample article
        yield url


def sse_json(body: str) -> list[Any]:
    data = [line.removeprefix("data: ") for line in body.splitlines() if line.startswith("data: ")]
    return [json.loads(d) for d in data if d != "[DONE]"]


def responses(url: str) -> Iterator[tuple[str, Any]]:
    """(route, JSON body) of every route's responses, answers, streams and errors included."""
    with httpx.Client(base_url=url, timeout=120) as http:
        files = [("files", ("note.txt", NOTE)), ("files", ("feed.jsonl", RECORDS)),
                 ("files", ("broken.pdf", b"%PDF-1.4 not really"))]  # fmt: skip
        upload = http.post("/v1/documents", files=files)
        assert upload.status_code == 200
        yield "POST /v1/documents", upload.json()
        yield "GET /v1/documents", http.get("/v1/documents").json()
        yield "GET /v1/collections", http.get("/v1/collections").json()
        for question in (QUESTION, UNKNOWN, "When does the pier close?", "ferry timetable"):
            ask = {"question": question}
            yield "POST /v1/ask", http.post("/v1/ask", json=ask).json()
            yield "POST /v1/ask/stream", sse_json(http.post("/v1/ask/stream", json=ask).text)
            chat = {"model": "documents", "messages": [{"role": "user", "content": question}]}
            yield "POST /v1/chat/completions", http.post("/v1/chat/completions", json=chat).json()
            stream = http.post("/v1/chat/completions", json={**chat, "stream": True}).text
            yield "POST /v1/chat/completions stream", sse_json(stream)
        yield "GET /v1/models", http.get("/v1/models").json()
        yield "GET /v1/models/documents", http.get("/v1/models/documents").json()
        yield "GET /healthz", http.get("/healthz").json()
        yield "GET /openapi.json", http.get("/openapi.json").json()
        yield "404", http.delete("/v1/documents/nope").json()
        yield "422", http.post("/v1/ask", json={"question": ""}).json()
        doc_id = upload.json()["results"][0]["doc_ids"][0]
        yield "DELETE /v1/documents/{id}", http.delete(f"/v1/documents/{doc_id}").json()


def test_no_response_names_a_server_path(base_url: str, app: FastAPI) -> None:
    seen: dict[str, Any] = {}
    found = []
    for route, body in responses(base_url):
        seen.setdefault(route, body)
        found += [f"{route} {p}" for p in server_paths(body)]
    assert found == []
    # The walk did meet sources, and they read as names and URLs.
    sources = {c["source"] for c in seen["POST /v1/ask"]["citations"]}
    assert sources == {SAMPLE.name}
    listed = {d["title"]: d["source"] for d in seen["GET /v1/documents"]["documents"]}
    assert listed["Linked"] == "https://example.org/a" and listed["Unlinked"] == "feed.jsonl#r2"
    assert "note.txt" in listed.values()
    data_dir = str(app.state.ctx.settings.data_dir)
    assert data_dir not in json.dumps(seen) and str(ROOT) not in json.dumps(seen)


def test_the_finder_finds_paths() -> None:
    """The walk would see a leak: the check itself can fail."""
    leaks = list(server_paths({"a": [f"see {SAMPLE}"], "b": str(Path(ROOT, "nothing.txt"))}))
    assert len(leaks) == 2
    assert list(server_paths({"a": "/v1/ask and /docs, and/or /healthz"})) == []


def test_the_openai_client_reads_the_sources_titles_in_the_answer(base_url: str) -> None:
    client = OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)
    completion = client.chat.completions.create(
        model="documents", messages=[{"role": "user", "content": QUESTION}]
    )
    content = completion.choices[0].message.content or ""
    citations = (completion.model_extra or {})["citations"]
    assert citations and all(c["title"] for c in citations)
    for c in citations:
        assert f"[{c['marker']}] {c['title']}" in content.split("Sources:", 1)[1]
    stream = client.chat.completions.create(
        model="documents", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert citations[0]["title"] in streamed


def test_the_page_api_names_no_server_path(base_url: str) -> None:
    from gradio_client import Client

    answer = Client(base_url, verbose=False).predict(QUESTION, api_name="/ask")
    assert "SWIFT" in answer["text"]
    assert list(server_paths(answer)) == []
