"""Route tests for the REST API, health and metrics, through FastAPI's TestClient.

One extractive-mode service (real Chroma, the real embedding model) is shared by the
module; a second app on the same service has API keys set and a tiny upload limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa.chain import NOT_FOUND
from qa.chain_io import SourcesEvent
from qa.config import Settings
from qa.http import health
from qa.http.app import create_app
from qa.people.identity import Identity
from qa.service import Assistant
from qa.types import Answer
from qa.uploads import safe_filename
from tests.conftest import SAMPLE

QUESTION = "What concessions did the US offer?"
KEY = "s3cret-key"


def parse_sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a Server-Sent Events body; every frame must have both."""
    events = []
    for frame in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory, embeddings: Any) -> Assistant:
    data = tmp_path_factory.mktemp("api") / "data"
    return Assistant(Settings(data_dir=data, mode="extractive"), embeddings)


@pytest.fixture(scope="module")
def client(assistant: Assistant) -> Iterator[TestClient]:
    app = create_app(assistant.settings, assistant, ui=False)
    with TestClient(app) as test_client:
        assert app.state.readiness.wait(120), app.state.readiness.error
        yield test_client


@pytest.fixture(scope="module")
def keyed(assistant: Assistant, client: TestClient) -> Iterator[TestClient]:
    """Keys required, 10 kB upload limit; same store (``client`` warmed it first)."""
    settings = assistant.settings.model_copy(
        update={"api_keys": f"other-key, {KEY}", "max_file_mb": 0.01}
    )
    app = create_app(settings, Assistant(settings, assistant.embeddings), ui=False)
    with TestClient(app) as test_client:
        assert app.state.readiness.wait(120)
        yield test_client


AUTH = {"Authorization": f"Bearer {KEY}"}


# --- health, metrics --------------------------------------------------------------------


def test_healthz_is_ready_once_warm(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready" and body["chroma"] == "ok" and body["mode"] == "extractive"
    assert body["startup_seconds"] > 0


def test_healthz_is_503_until_warm(assistant: Assistant) -> None:
    app = create_app(assistant.settings, assistant, ui=False)
    # Without the lifespan nothing warms the service: not ready, and it says why.
    response = TestClient(app).get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "starting"


def test_a_failed_warm_up_is_503_with_the_reason_and_is_retried(
    assistant: Assistant, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_search = assistant.search

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("chroma went away")

    monkeypatch.setattr(assistant, "search", down)
    monkeypatch.setattr(health, "RETRY_SECONDS", 0.0)
    app = create_app(assistant.settings, assistant, ui=False)
    with TestClient(app) as failing:
        assert not app.state.readiness.wait(60)
        response = failing.get("/healthz")
        assert response.status_code == 503
        assert response.json()["model"] == "failed"
        assert "chroma went away" not in response.text, "the reason is in the log, not here"
        monkeypatch.setattr(assistant, "search", real_search)
        failing.get("/healthz")  # starts the retry
        assert app.state.readiness.wait(60)
        assert failing.get("/healthz").status_code == 200


def test_metrics_report_requests_stages_and_corpus(client: TestClient) -> None:
    assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 200
    text = client.get("/metrics").text
    assert 'citeqa_http_requests_total{method="POST",route="/v1/ask",status="200"}' in text
    assert 'citeqa_http_request_duration_seconds_bucket{le="+Inf",route="/v1/ask"}' in text
    assert 'citeqa_answer_stage_seconds_count{stage="retrieve"}' in text
    assert 'citeqa_answers_total{abstained="false",interface="api",mode="extractive"}' in text
    assert 'citeqa_documents{collection="documents"} 1' in text
    assert 'citeqa_chunks{collection="documents"}' in text
    assert "# TYPE citeqa_llm_calls_total counter" in text
    assert "citeqa_ready 1" in text
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")


# --- ask --------------------------------------------------------------------------------


def test_ask_answers_with_citations(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": QUESTION})
    assert response.status_code == 200
    answer = Answer.model_validate(response.json())
    assert "SWIFT" in answer.text and "[1]" in answer.text
    assert not answer.abstained
    assert answer.citations[0].marker == 1 and "SWIFT" in answer.citations[0].quote
    assert answer.timings["total"] > 0


def test_ask_follow_up_uses_history(client: TestClient) -> None:
    first = client.post("/v1/ask", json={"question": QUESTION}).json()
    history = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first["text"]},
    ]
    response = client.post(
        "/v1/ask", json={"question": "Who led the US delegation?", "history": history}
    )
    assert "Juan Gonzalez" in response.json()["text"]


def test_ask_abstains_with_the_fixed_sentence(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "What is the boiling point of mercury?"})
    assert body.json()["abstained"] is True
    assert body.json()["text"] == NOT_FOUND


def test_ask_filters_apply(client: TestClient) -> None:
    body = {"question": QUESTION, "filters": {"date_from": "2023-01-01"}}
    assert client.post("/v1/ask", json=body).json()["text"] == NOT_FOUND


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"question": ""}, "the question is empty"),
        ({"question": "   \n"}, "the question is empty"),
        ({"question": "why " * 600}, "the limit is 2000"),
        ({}, "question: Field required"),
        ({"question": QUESTION, "mode": "psychic"}, "mode:"),
    ],
)
def test_ask_rejects_bad_questions_with_422(
    client: TestClient, payload: dict[str, Any], message: str
) -> None:
    for route in ("/v1/ask", "/v1/ask/stream"):
        response = client.post(route, json=payload)
        assert response.status_code == 422
        assert message in response.json()["error"]["message"]


def test_ask_unknown_collection_is_404(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": QUESTION, "collection": "nope-nope"})
    assert response.status_code == 404
    assert "nope-nope" in response.json()["error"]["message"]
    bad = client.post("/v1/ask", json={"question": QUESTION, "collection": "../etc"})
    assert bad.status_code == 422


def test_stream_frames_sources_then_tokens_then_answer_then_done(client: TestClient) -> None:
    response = client.post("/v1/ask/stream", json={"question": QUESTION})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "done" and kinds[-2] == "answer"
    assert "token" in kinds and kinds.index("sources") < kinds.index("token")
    assert all(data["type"] == kind for kind, data in events[:-1])
    answer = Answer.model_validate(events[-2][1]["answer"])
    assert "SWIFT" in answer.text and answer.citations


def test_stream_reports_errors_then_done(
    client: TestClient, assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Iterator[SourcesEvent]:
        yield SourcesEvent(sources=[])
        raise RuntimeError("the model fell over")

    monkeypatch.setattr(assistant, "stream", broken)
    events = parse_sse(client.post("/v1/ask/stream", json={"question": QUESTION}).text)
    assert [kind for kind, _ in events] == ["sources", "error", "done"]
    assert "request id" in events[1][1]["message"]
    assert "the model fell over" not in events[1][1]["message"]


def test_unexpected_errors_are_json_500(
    assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(assistant.settings, assistant, ui=False)

    def broken(*args: Any, **kwargs: Any) -> Answer:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(assistant, "ask", broken)
    response = TestClient(app, raise_server_exceptions=False).post(
        "/v1/ask", json={"question": QUESTION}
    )
    assert response.status_code == 500
    message = response.json()["error"]["message"]
    assert "disk on fire" not in message, "exception text never reaches a client"
    assert response.headers["x-request-id"] in message


# --- documents and collections ----------------------------------------------------------


def test_upload_list_and_delete(client: TestClient, assistant: Assistant) -> None:
    files = [
        ("files", ("../../../escape attempt.md", b"# Llamas\n\nLlamas hum when content.\n")),
        ("files", ("notes.txt", b"date 2021-05-01\nThe depot opens at nine.\n")),
        ("files", ("empty.txt", b"   ")),
    ]
    response = client.post("/v1/documents", files=files)
    assert response.status_code == 200
    results = {r["filename"]: r for r in response.json()["results"]}
    escaped = results["../../../escape attempt.md"]
    assert escaped["status"] == "added" and escaped["saved_as"] == "escape-attempt.md"
    assert results["notes.txt"]["status"] == "added" and results["notes.txt"]["chunks"] == 1
    assert results["empty.txt"]["status"] == "failed" and "empty" in results["empty.txt"]["reason"]
    uploads = assistant.settings.uploads_dir() / "documents"
    assert sorted(p.name for p in uploads.iterdir()) == ["escape-attempt.md", "notes.txt"]

    listed = client.get("/v1/documents").json()
    assert listed["total"] == 3 and listed["collection"] == "documents"
    titles = {d["title"]: d for d in listed["documents"]}
    assert titles["Llamas"]["n_chunks"] == 1 and titles["Notes"]["date"] == "2021-05-01"
    page = client.get("/v1/documents", params={"offset": 1, "limit": 1}).json()
    assert page["total"] == 3 and len(page["documents"]) == 1

    again = client.post("/v1/documents", files=[files[0]]).json()["results"][0]
    assert again["status"] == "unchanged"

    doc_id = titles["Llamas"]["doc_id"]
    assert client.delete(f"/v1/documents/{doc_id}").json() == {
        "deleted": doc_id,
        "collection": "documents",
    }
    assert not (uploads / "escape-attempt.md").exists()
    missing = client.delete(f"/v1/documents/{doc_id}")
    assert missing.status_code == 404 and doc_id in missing.json()["error"]["message"]
    client.delete(f"/v1/documents/{titles['Notes']['doc_id']}")
    assert client.get("/v1/documents").json()["total"] == 1


def test_upload_unsupported_type_is_415_and_stores_nothing(
    client: TestClient, assistant: Assistant
) -> None:
    before = client.get("/v1/documents").json()["total"]
    files = [("files", ("ok.txt", b"Fine text.")), ("files", ("tool.exe", b"MZ\x90\x00"))]
    response = client.post("/v1/documents", files=files)
    assert response.status_code == 415
    assert "tool.exe" in response.json()["error"]["message"]
    assert client.get("/v1/documents").json()["total"] == before
    folder = assistant.settings.uploads_dir() / "documents"
    assert not [p for p in folder.iterdir() if p.name in ("ok.txt", "tool.exe")]


def test_upload_too_large_is_413(keyed: TestClient, assistant: Assistant) -> None:
    big = b"Too long a story. " * 1000  # 18 kB > the 10 kB limit of this app
    response = keyed.post("/v1/documents", files=[("files", ("big.txt", big))], headers=AUTH)
    assert response.status_code == 413
    assert "big.txt" in response.json()["error"]["message"]
    assert not list((assistant.settings.uploads_dir() / "documents").glob("*.part"))


def test_upload_into_a_new_collection(client: TestClient) -> None:
    files = [("files", ("walrus.md", b"# Walrus facts\n\nA walrus can weigh 1500 kilograms.\n"))]
    created = client.post("/v1/documents", files=files, data={"collection": "zoo-notes"})
    assert created.json()["collection"] == "zoo-notes"
    collections = {c["name"]: c for c in client.get("/v1/collections").json()}
    assert collections["zoo-notes"] == {"name": "zoo-notes", "documents": 1, "chunks": 1}
    assert collections["documents"]["documents"] >= 1
    body = {"question": "How much can a walrus weigh?", "collection": "zoo-notes"}
    assert "1500 kilograms" in client.post("/v1/ask", json=body).json()["text"]
    assert client.get("/v1/documents", params={"collection": "zoo-notes"}).json()["total"] == 1


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\win.ini.md", "win.ini.md"),
        ("/abs/path/Report 2024 (final).PDF", "Report-2024-final.pdf"),
        (".hidden.txt", "hidden.txt"),
        ("..", "upload"),
        ("", "upload"),
    ],
)
def test_safe_filename_cannot_leave_its_folder(name: str, safe: str) -> None:
    assert safe_filename(name) == safe
    assert "/" not in safe and "\\" not in safe and not safe.startswith(".")


# --- auth and unknown routes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/ask"),
        ("POST", "/v1/ask/stream"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
        ("GET", "/v1/documents"),
        ("POST", "/v1/documents"),
        ("DELETE", "/v1/documents/x"),
        ("GET", "/v1/collections"),
    ],
)
def test_keys_guard_every_v1_route(keyed: TestClient, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        response = keyed.request(method, path, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.json()["error"]["type"] == "authentication_error"
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_valid_key_opens_the_api_and_health_stays_open(keyed: TestClient) -> None:
    assert keyed.post("/v1/ask", json={"question": QUESTION}, headers=AUTH).status_code == 200
    other = {"Authorization": "Bearer other-key"}
    assert keyed.get("/v1/collections", headers=other).status_code == 200
    assert keyed.get("/healthz").status_code == 200
    assert keyed.get("/metrics").status_code == 401
    assert keyed.get("/metrics", headers=AUTH).status_code == 200


def test_unknown_v1_route_is_json_404(client: TestClient) -> None:
    response = client.get("/v1/nothing/here")
    assert response.status_code == 404
    assert "/v1/nothing/here" in response.json()["error"]["message"]


def test_openapi_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    routes = ["/v1/ask", "/v1/ask/stream", "/v1/chat/completions", "/v1/documents",
              "/v1/documents/{doc_id}", "/v1/collections", "/v1/models", "/healthz"]  # fmt: skip
    assert set(routes) <= set(paths)
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "https://" not in docs.text and "http://" not in docs.text, "docs load nothing remote"
    bundle = docs.text.split('src="')[1].split('"')[0]
    assert client.get(bundle).status_code == 200


def test_a_named_key_opens_the_api_as_its_user(assistant: Assistant) -> None:
    settings = assistant.settings.model_copy(update={"api_keys": "alice:k-alice, bare-key"})
    identity = Identity.from_settings(settings)
    assert identity.resolve_key("k-alice").name == "alice"  # type: ignore[union-attr]
    assert identity.resolve_key("alice:k-alice") is None
    app = create_app(settings, Assistant(settings, assistant.embeddings), ui=False)
    client = TestClient(app)
    assert client.get("/v1/collections", headers={"Authorization": "Bearer k-alice"}).is_success
    assert client.get("/v1/collections", headers={"Authorization": "Bearer bare-key"}).is_success


def test_startup_ingests_the_bundled_examples(assistant: Assistant) -> None:
    assert str(SAMPLE.resolve()) in {d["source"] for d in assistant.documents()}
