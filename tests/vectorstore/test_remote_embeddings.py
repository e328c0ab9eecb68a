"""Remote embeddings against a real OpenAI-compatible server process on loopback."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
from qa.service import Assistant
from tests.conftest import SAMPLE, free_port, server_process
from vectorstore.embeddings import LOCAL_MODEL_ID
from vectorstore.remote import EmbeddingServerError, RemoteEmbeddings
from vectorstore.store import EmbeddingMismatch


@pytest.fixture(scope="module")
def embedding_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The packaged model behind /v1/embeddings; its first two requests fail with 503."""
    port = free_port()
    log = tmp_path_factory.mktemp("embedding-server") / "server.log"
    cmd = [sys.executable, "-m", "uvicorn", "tests.vectorstore.embedding_server:app",
           "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    os.environ["CITEQA_TEST_FAIL_FIRST"] = "2"
    try:
        with server_process(cmd, f"http://127.0.0.1:{port}/health", log):
            yield f"http://127.0.0.1:{port}/v1"
    finally:
        os.environ.pop("CITEQA_TEST_FAIL_FIRST")


TEXTS = [
    f"Ferry {i} left the harbour at {i % 24} hours with {i * 7} passengers." for i in range(150)
]


def test_remote_vectors_equal_local_ones_in_order_through_retries(
    embedding_server: str, embeddings
) -> None:  # type: ignore[no-untyped-def]
    remote = RemoteEmbeddings(embedding_server, LOCAL_MODEL_ID, batch_size=16, concurrency=3)
    got = np.array(remote.embed_documents(TEXTS))  # the first requests meet 503s and retry
    expected = np.array(embeddings.embed_documents(TEXTS))
    assert got.shape == expected.shape == (150, 384)
    assert np.abs(got - expected).max() < 1e-4
    assert remote.embed_query(TEXTS[3]) == pytest.approx(expected[3].tolist(), abs=1e-4)


def test_a_refusal_is_a_clear_error_naming_the_model(embedding_server: str) -> None:
    remote = RemoteEmbeddings(embedding_server, "no-such-model", retries=1)
    with pytest.raises(EmbeddingServerError, match=r"404.*no-such-model"):
        remote.embed_documents(["x"])


def test_ingest_and_search_through_the_server_then_refuse_another_model(
    embedding_server: str, embeddings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path / "data", embeddings_url=embedding_server, mode="extractive"
    )
    service = Assistant(settings)
    assert isinstance(service.embeddings, RemoteEmbeddings)
    service.ingest([SAMPLE])
    hits = service.search("concessions the US offered", k=3)
    assert "SWIFT system" in hits[0].chunk.text
    # The same model served locally is the same model: the collection accepts it.
    assert Assistant(settings.model_copy(update={"embeddings_url": None}), embeddings).store()
    other = settings.model_copy(update={"embeddings_model": "nomic-embed-text"})
    with pytest.raises(EmbeddingMismatch, match=r"all-MiniLM-L6-v2.*nomic-embed-text"):
        Assistant(other).store()
