"""The OpenAI-compatible routes: framing through TestClient, and the official ``openai``
client against a real server on a loopback port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openai import NotFoundError, OpenAI

from qa.chain import NOT_FOUND
from qa.config import Settings
from qa.http.app import create_app
from qa.service import Assistant
from tests.qa.serving import running

QUESTION = "What concessions did the US offer?"
KEY = "open-sesame"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embeddings: Any) -> FastAPI:
    data = tmp_path_factory.mktemp("openai") / "data"
    settings = Settings(data_dir=data, mode="extractive", api_keys=KEY)
    return create_app(settings, Assistant(settings, embeddings), ui=False)


@pytest.fixture(scope="module")
def base_url(app: FastAPI) -> Iterator[str]:
    with running(app) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> OpenAI:
    return OpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0)


@pytest.fixture(scope="module")
def http(app: FastAPI, base_url: str) -> TestClient:
    """Plain TestClient requests (no lifespan: ``base_url`` already warmed the service)."""
    return TestClient(app, headers={"Authorization": f"Bearer {KEY}"})


def chunks_of(body: str) -> list[str]:
    frames = [f for f in body.split("\n\n") if f.strip()]
    assert all(f.startswith("data: ") for f in frames)
    return [f.removeprefix("data: ") for f in frames]


def test_completion_carries_markers_and_citations(http: TestClient) -> None:
    response = http.post(
        "/v1/chat/completions",
        json={"model": "documents", "messages": [{"role": "user", "content": QUESTION}]},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == "documents"
    message = body["choices"][0]["message"]
    assert message["role"] == "assistant" and "SWIFT" in message["content"]
    assert "[1]" in message["content"] and body["choices"][0]["finish_reason"] == "stop"
    assert body["citations"][0]["marker"] == 1 and "SWIFT" in body["citations"][0]["quote"]
    assert body["abstained"] is False


def test_stream_framing_ends_with_done(http: TestClient) -> None:
    response = http.post(
        "/v1/chat/completions",
        json={
            "model": "documents",
            "stream": True,
            "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
        },
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = chunks_of(response.text)
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "SWIFT" in text and "[1]" in text
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "SWIFT" in chunks[-1]["citations"][0]["quote"]
    assert len({c["id"] for c in chunks}) == 1


def test_history_and_system_messages(http: TestClient) -> None:
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "They offered SWIFT access [1]."},
        {"role": "user", "content": "Who led the US delegation?"},
    ]
    body = http.post(
        "/v1/chat/completions", json={"model": "documents", "messages": messages}
    ).json()
    assert "Juan Gonzalez" in body["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, 404, "gpt-4o"),
        ({"model": "documents", "messages": []}, 422, "messages"),
        ({"model": "documents", "messages": [{"role": "user", "content": " "}]}, 422, "empty"),
        (
            {"model": "documents", "messages": [{"role": "assistant", "content": "hi"}]},
            422,
            "role 'user'",
        ),
    ],
)
def test_bad_requests(http: TestClient, payload: dict[str, Any], status: int, message: str) -> None:
    response = http.post("/v1/chat/completions", json=payload)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


def test_without_a_key_is_401(app: FastAPI, base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/v1/chat/completions",
        json={"model": "documents", "messages": [{"role": "user", "content": QUESTION}]},
    )
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]["message"]


def test_openai_client_lists_collections_as_models(client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["documents"]
    assert client.models.retrieve("documents").owned_by == "citeqa"
    with pytest.raises(NotFoundError, match="models are the collections"):
        client.models.retrieve("gpt-4o")


def test_openai_client_answers_with_citations(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="documents", messages=[{"role": "user", "content": QUESTION}]
    )
    content = completion.choices[0].message.content or ""
    assert "SWIFT" in content and "[1]" in content
    citations = (completion.model_extra or {})["citations"]
    assert citations[0]["marker"] == 1 and "SWIFT" in citations[0]["quote"]


def test_openai_client_streams_with_citations(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="documents",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
    )
    text, citations = "", []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        citations = (chunk.model_extra or {}).get("citations", citations)
    assert "SWIFT" in text and "[1]" in text
    assert citations and "SWIFT" in citations[0]["quote"]


def test_openai_client_gets_the_abstention(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="documents",
        messages=[{"role": "user", "content": "What is the boiling point of mercury?"}],
    )
    assert completion.choices[0].message.content == NOT_FOUND
    assert (completion.model_extra or {})["citations"] == []
