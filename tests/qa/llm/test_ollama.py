"""The Ollama preset: listed by the registry, and it sends to its own loopback URL only."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from qa.config import Settings
from qa.llm import backend, names
from qa.llm.ollama import OLLAMA_MODEL, OLLAMA_URL, OllamaBackend
from qa.service import Assistant
from tests.conftest import SAMPLE

QUESTION = "What concessions did the US offer?"
REPLY = (
    "The US officials were willing to consider temporarily allowing Venezuela to use the "
    "SWIFT system [1]."
)


class Recorder(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint that records each request body it receives."""

    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append({"path": self.path, **body})
        reply = {
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": REPLY}}],
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


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def servers() -> Iterator[tuple[type[Recorder], str, type[Recorder], str]]:
    class Ollama(Recorder):
        bodies: ClassVar[list[dict[str, Any]]] = []

    class Decoy(Recorder):
        bodies: ClassVar[list[dict[str, Any]]] = []

    ollama, ollama_url = serve(Ollama)
    decoy, decoy_url = serve(Decoy)
    yield Ollama, ollama_url, Decoy, decoy_url
    ollama.shutdown()
    decoy.shutdown()


def test_the_registry_lists_ollama_with_its_loopback_default(tmp_path: Path) -> None:
    assert "ollama" in names()
    preset = backend("ollama")
    assert isinstance(preset, OllamaBackend) and preset.base_url == OLLAMA_URL
    assert OLLAMA_URL.startswith("http://127.0.0.1:")
    settings = Settings(data_dir=tmp_path, mode="ollama")  # no URL to configure
    assert preset.model(settings) == OLLAMA_MODEL
    assert preset.model(Settings(data_dir=tmp_path, mode="ollama", openai_model="qwen2.5:3b")) == (
        "qwen2.5:3b"
    )


def test_the_preset_sends_to_its_url_only(
    tmp_path: Path,
    embeddings: Any,
    monkeypatch: pytest.MonkeyPatch,
    servers: tuple[type[Recorder], str, type[Recorder], str],
) -> None:
    ollama, ollama_url, decoy, decoy_url = servers
    monkeypatch.setattr(OllamaBackend, "base_url", f"{ollama_url}/v1")
    monkeypatch.setenv("OPENAI_BASE_URL", f"{decoy_url}/v1")
    monkeypatch.setenv("HTTP_PROXY", decoy_url)
    settings = Settings(
        data_dir=tmp_path / "data",
        mode="ollama",
        modes="ollama,openai",
        openai_base_url=f"{decoy_url}/v1",  # openai mode's server, not Ollama's
        openai_model="llama3.2:1b",
    )
    assistant = Assistant(settings, embeddings)
    assistant.ingest([SAMPLE])
    answer = assistant.ask(QUESTION)
    assert answer.mode == "ollama" and "SWIFT" in answer.text and answer.llm_calls == 1
    assert decoy.bodies == []
    assert [(b["path"], b["model"]) for b in ollama.bodies] == [
        ("/v1/chat/completions", "llama3.2:1b")
    ]
    assert "SWIFT" in json.dumps(ollama.bodies[0]["messages"]), "the evidence reached the model"
