"""The server cannot be steered off the machine, every door needs a key, and bad input is a
4xx that names its field, without exception text, on a connection that stays usable."""

from __future__ import annotations

import json
import socket
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from qa.config import Settings
from qa.http.app import create_app
from qa.service import Assistant
from tests.conftest import SAMPLE
from tests.qa.serving import running

QUESTION = "What concessions did the US offer?"
KEY = "k-123"
METRICS_KEY = "scrape-only"
OPEN = {"/healthz", "/login", "/logout"}
OURS = ("/v1/", "/metrics", "/docs", "/redoc", "/openapi.json")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, embeddings: Any) -> Path:
    path = tmp_path_factory.mktemp("hardening") / "data"
    Assistant(Settings(data_dir=path, mode="extractive"), embeddings).ingest([SAMPLE])
    return path


@pytest.fixture(scope="module")
def assistant(data_dir: Path, embeddings: Any) -> Assistant:
    return Assistant(Settings(data_dir=data_dir, mode="extractive"), embeddings)


@pytest.fixture(scope="module")
def keyed_app(data_dir: Path, embeddings: Any) -> FastAPI:
    settings = Settings(
        data_dir=data_dir, mode="extractive", api_keys=f"ops:{KEY}", metrics_key=METRICS_KEY
    )
    return create_app(settings, Assistant(settings, embeddings), ui=True)


def all_routes(app: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through mounted apps (the Gradio page)."""
    for route in app.routes:
        if hasattr(route, "original_router"):  # FastAPI's lazily included routers
            yield from all_routes(route.original_router, prefix + route.include_context.prefix)
            continue
        if isinstance(route, Mount):
            if hasattr(route.app, "routes"):
                yield from all_routes(route.app, prefix + route.path)
            else:  # static files: any path under the mount
                yield "GET", f"{prefix}{route.path}/x"
            continue
        path = prefix + getattr(route, "path", "")
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            if method != "HEAD":
                yield method, path.replace("//", "/")


def concrete(path: str) -> str:
    """A path template with its parameters filled in."""
    import re

    return re.sub(r"\{[^}]+\}", "x", path) or "/"


def test_every_route_in_the_table_needs_a_key(keyed_app: FastAPI) -> None:
    routes = sorted(set(all_routes(keyed_app)))
    assert len(routes) > 40, "the walk reaches the Gradio routes too"
    paths = {p for _, p in routes}
    assert {"/v1/ask", "/metrics", "/docs", "/openapi.json", "/gradio_api/upload"} <= paths
    client = TestClient(keyed_app)
    for method, path in routes:
        url = concrete(path)
        if path in OPEN:
            continue
        response = client.request(method, url)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["www-authenticate"] == "Bearer"
        wrong = client.request(method, url, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401, (method, path)
        if path.startswith(OURS):  # (Gradio's own routes include never-ending streams)
            opened = client.request(method, url, headers={"Authorization": f"Bearer {KEY}"})
            assert opened.status_code != 401, (method, path)


def test_a_browser_is_sent_to_the_login_page_and_a_session_opens_everything(
    keyed_app: FastAPI,
) -> None:
    client = TestClient(keyed_app, follow_redirects=False)
    page = client.get("/docs?x=1", headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fdocs%3Fx%3D1"
    assert client.get("/login").status_code == 200
    signed = client.post("/login", data={"user": "", "password": KEY, "next": "/docs"})
    assert signed.status_code == 303 and signed.headers["location"] == "/docs"
    assert client.get("/docs").status_code == 200
    assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 200
    evil = client.post("/login", data={"password": KEY, "next": "//evil.example/x"})
    assert evil.headers["location"] == "/", "never an open redirect"
    client.get("/logout")
    assert client.get("/docs").status_code == 401


def test_a_forged_or_expired_session_is_refused(keyed_app: FastAPI) -> None:
    sessions = keyed_app.state.sessions
    good = sessions.make("ops")
    name, expiry, signature = good.split(".")
    forged = f"{name}.{int(expiry) + 1000}.{signature}"
    client = TestClient(keyed_app)
    for cookie in (forged, sessions.make("ops", now=1.0), "garbage", ""):
        response = client.get("/v1/collections", cookies={"citeqa_session": cookie})
        assert response.status_code == 401, cookie
    assert client.get("/v1/collections", cookies={"citeqa_session": good}).status_code == 200


def test_the_metrics_key_opens_metrics_and_nothing_else(keyed_app: FastAPI) -> None:
    client = TestClient(keyed_app)
    scrape = {"Authorization": f"Bearer {METRICS_KEY}"}
    assert client.get("/metrics", headers=scrape).status_code == 200
    denied = client.get("/v1/collections", headers=scrape)
    assert denied.status_code == 403 and denied.json()["error"]["type"] == "permission_error"


def test_gradio_client_cannot_ask_upload_or_remove_without_a_key(
    data_dir: Path, embeddings: Any
) -> None:
    from gradio_client import Client

    settings = Settings(data_dir=data_dir, mode="extractive", api_keys=KEY)
    with running(create_app(settings, Assistant(settings, embeddings))) as url:
        with pytest.raises(Exception, match=r"(?i)login|credentials|401"):
            Client(url, verbose=False)
        upload = httpx.post(f"{url}/gradio_api/upload", files={"files": ("a.txt", b"hi")})
        assert upload.status_code == 401
        join = httpx.post(f"{url}/gradio_api/queue/join", json={"fn_index": 0, "data": []})
        assert join.status_code == 401
        assert httpx.get(f"{url}/gradio_api/info").status_code == 401
        client = Client(url, headers={"Authorization": f"Bearer {KEY}"}, verbose=False)
        assert "SWIFT" in client.predict(QUESTION, api_name="/ask")["text"]


# --- where data may go --------------------------------------------------------------------


def test_openai_mode_without_a_base_url_is_a_start_up_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CITEQA_OPENAI_BASE_URL"):
        Settings(data_dir=tmp_path, mode="openai")
    with pytest.raises(ValueError, match="CITEQA_OPENAI_BASE_URL"):
        Settings(data_dir=tmp_path, mode="extractive", modes="extractive,openai")


def test_a_mode_the_operator_did_not_enable_is_422_and_connects_nowhere(
    assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def recording(self: socket.socket, address: object) -> Any:
        attempts.append(address)
        return real_connect(self, address)

    client = TestClient(create_app(assistant.settings, assistant, ui=False))
    monkeypatch.setattr(socket.socket, "connect", recording)
    for mode in ("openai", "local"):
        for route in ("/v1/ask", "/v1/ask/stream"):
            response = client.post(route, json={"question": QUESTION, "mode": mode})
            assert response.status_code == 422, (route, mode)
            message = response.json()["error"]["message"]
            assert message.startswith("mode:") and "not enabled" in message
    assert attempts == [], "no connection was even attempted"
    assert assistant.chain().llm is None and set(assistant._chains) == {
        ("extractive", "documents")
    }, "no model was built or loaded"
    answer = client.post("/v1/ask", json={"question": QUESTION, "mode": "extractive"}).json()
    assert answer["mode"] == "extractive"


class _Recorder(BaseHTTPRequestHandler):
    """A minimal OpenAI-compatible endpoint that records what reached it."""

    hits: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).hits.append(body.decode())
        reply = {
            "id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant",
                "content": "The US officials were willing to consider temporarily allowing "
                "Venezuela to use the SWIFT system [1].",
            }}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }  # fmt: skip
        payload = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        return None


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_only_the_configured_url_receives_data_whatever_the_sdk_environment_says(
    data_dir: Path, embeddings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Decoy(_Recorder):
        hits: ClassVar[list[str]] = []

    class Configured(_Recorder):
        hits: ClassVar[list[str]] = []

    decoy, decoy_url = _serve(Decoy)
    configured, configured_url = _serve(Configured)
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{decoy_url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sdk-key")
        monkeypatch.setenv("HTTP_PROXY", decoy_url)
        monkeypatch.setenv("HTTPS_PROXY", decoy_url)
        settings = Settings(
            data_dir=data_dir, mode="openai", openai_base_url=f"{configured_url}/v1"
        )
        answer = Assistant(settings, embeddings).ask(QUESTION)
        assert answer.mode == "openai" and "SWIFT" in answer.text
        assert Decoy.hits == [], "the SDK's variables never decide where data goes"
        assert len(Configured.hits) == 1 and "SWIFT" in Configured.hits[0]
    finally:
        decoy.shutdown()
        configured.shutdown()


# --- validation at the edge ------------------------------------------------------------


def _same_connection_client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, limits=httpx.Limits(max_connections=1))


def _port(response: httpx.Response) -> int:
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    *[
        ("/v1/ask", {"question": QUESTION, "filters": {"date_from": bad}}, "filters.date_from")
        for bad in ("2022/01/01", "yesterday", "2022-1-1", "2022-02-30", "20220101", "")
    ],
    ("/v1/ask", {"question": QUESTION, "filters": {"date_to": "2022-12-1"}}, "filters.date_to"),
    ("/v1/ask/stream", {"question": QUESTION, "filters": {"date_to": "soon"}}, "filters.date_to"),
    ("/v1/ask", {"question": "What \ud800 happened?"}, "question"),
    (
        "/v1/ask",
        {"question": QUESTION, "history": [{"role": "user", "content": "x"}] * 1000},
        "history",
    ),
    (
        "/v1/ask",
        {"question": QUESTION, "history": [{"role": "user", "content": "y" * 2001}]},
        "history.0.content",
    ),
    (
        "/v1/ask",
        {"question": QUESTION, "history": [{"role": "system", "content": "z"}]},
        "history.0.role",
    ),
    ("/v1/ask", {"question": QUESTION, "collection": "../etc"}, "collection"),
    (
        "/v1/chat/completions",
        {
            "model": "documents",
            "filters": {"date_from": "2022/01/01"},
            "messages": [{"role": "user", "content": QUESTION}],
        },
        "filters.date_from",
    ),
    (
        "/v1/chat/completions",
        {"model": "documents", "messages": [{"role": "user", "content": "bad \udfff text"}]},
        "messages",
    ),
]


def test_malformed_input_is_4xx_naming_the_field_on_a_connection_that_stays_up(
    assistant: Assistant,
) -> None:
    app = create_app(assistant.settings, assistant, ui=False)
    with running(app) as url, _same_connection_client(url) as client:
        first = client.get("/v1/collections")
        port = _port(first)
        for route, payload, field in MALFORMED:
            body = json.dumps(payload).encode()  # lone surrogates as \\ud800 escapes
            response = client.post(
                route, content=body, headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 422, (route, payload, response.text)
            message = response.json()["error"]["message"]
            assert message.startswith(field), (field, message)
            assert "Traceback" not in message and "Error(" not in message
            assert _port(response) == port, "the keep-alive connection was kept"
        ok = client.post("/v1/ask", json={"question": QUESTION})
        assert ok.status_code == 200 and _port(ok) == port


def test_iso_dates_of_every_accepted_form_filter_as_they_mean(assistant: Assistant) -> None:
    client = TestClient(create_app(assistant.settings, assistant, ui=False))
    for filters, found in (
        ({"date_from": "2022", "date_to": "2022"}, True),
        ({"date_from": "2022-03", "date_to": "2022-03"}, True),
        ({"date_to": "2022-03-07"}, True),
        ({"date_to": "2022-03-06"}, False),
        ({"date_from": "2022-04"}, False),
    ):
        body = client.post("/v1/ask", json={"question": QUESTION, "filters": filters}).json()
        assert body["abstained"] is not found, filters


def test_an_over_large_upload_is_refused_before_anything_is_written(
    tmp_path: Path, embeddings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    settings = Settings(data_dir=tmp_path / "data", mode="extractive", max_file_mb=25)
    client = TestClient(create_app(settings, Assistant(settings, embeddings), ui=True))
    big = b"x" * (30 * 1_000_000)
    for route in ("/v1/documents", "/gradio_api/upload"):
        response = client.post(route, files={"files": ("big.txt", big)})
        assert response.status_code == 413, route
        assert "limit" in response.json()["error"]["message"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(30):
            yield b"y" * 1_000_000

    response = client.post(
        "/v1/ask", content=chunked(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    written = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert written < 1_000_000, f"{written} bytes reached the disk"


def test_a_batch_of_bad_uploads_is_reported_file_by_file_and_leaves_nothing_behind(
    tmp_path: Path, embeddings: Any
) -> None:
    from tests.qa.test_ingest_isolation import bad_batch

    expected = bad_batch(tmp_path / "in")
    settings = Settings(data_dir=tmp_path / "data", mode="extractive", examples_dir=tmp_path / "x")
    client = TestClient(create_app(settings, Assistant(settings, embeddings), ui=False))
    files = [("files", (name, (tmp_path / "in" / name).read_bytes())) for name in expected]
    response = client.post("/v1/documents", files=files)
    assert response.status_code == 200, response.text
    results = {r["filename"]: r for r in response.json()["results"]}
    for name, status in expected.items():
        got = results[name]["status"]
        assert got == status or (status == "either" and got in ("added", "failed")), name
        if got == "failed":
            assert results[name]["reason"] and "Traceback" not in results[name]["reason"]
    kept = {p.name for p in (settings.uploads_dir() / "documents").iterdir()}
    assert kept == {n for n, r in results.items() if r["status"] != "failed"}, "failed: gone"
    listed = {d["source"] for d in client.get("/v1/documents").json()["documents"]}
    assert listed == {n for n, r in results.items() if r["status"] != "failed"}
    assert Assistant(settings, embeddings).store().check() == [], "no half-stored document"
