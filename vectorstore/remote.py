"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` server (text-embeddings-inference,
vLLM, Infinity, Ollama): batched, a bounded number of requests in flight, retried.

Only the URL the operator configured is contacted: proxy variables from the environment
are ignored (``trust_env=False``), so no setting outside ``CITEQA_`` decides where text goes.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from vectorstore.embeddings import CachedEmbeddings, shared_embeddings

# Worth retrying: the server is starting, overloaded or briefly unreachable.
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class EmbeddingServerError(RuntimeError):
    """The embedding server refused a request or kept failing."""


class RemoteEmbeddings(CachedEmbeddings):
    """Vectors from ``{base_url}/embeddings`` for ``model``, L2-normalised like the local ones."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        batch_size: int = 64,
        concurrency: int = 4,
        retries: int = 4,
        timeout: float = 60.0,
        cache_size: int = 20000,
    ) -> None:
        super().__init__(cache_size)
        self.url = base_url.rstrip("/") + "/embeddings"
        self.model_id = model
        self.batch_size = max(1, batch_size)
        self.concurrency = max(1, concurrency)
        self.retries = retries
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=timeout, headers=headers, trust_env=False)

    def _encode(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        batches = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        with self._lock:
            self.texts_embedded += len(texts)
        if len(batches) == 1:
            return self._post(batches[0])
        with ThreadPoolExecutor(min(self.concurrency, len(batches))) as pool:
            return [v for batch in pool.map(self._post, batches) for v in batch]

    def _post(self, texts: list[str]) -> list[list[float]]:
        """One request, retried with exponential backoff on transient failures."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self.client.post(self.url, json={"model": self.model_id, "input": texts})
            except httpx.TransportError as exc:
                if last:
                    raise EmbeddingServerError(f"embedding server {self.url}: {exc}") from exc
            else:
                if response.status_code == 200:
                    return self._vectors(response.json(), len(texts))
                if response.status_code not in RETRY_STATUS or last:
                    raise EmbeddingServerError(
                        f"embedding server {self.url} answered {response.status_code} "
                        f"for model {self.model_id!r}: {response.text[:300]}"
                    )
            time.sleep(min(8.0, 0.25 * 2**attempt))
        raise AssertionError("unreachable")

    def _vectors(self, payload: dict[str, object], n: int) -> list[list[float]]:
        data = payload.get("data")
        if not isinstance(data, list) or len(data) != n:
            raise EmbeddingServerError(f"embedding server {self.url} returned a malformed body")
        rows = sorted(data, key=lambda item: int(item.get("index", 0)))
        out = []
        for row in rows:
            vector = [float(x) for x in row["embedding"]]
            norm = math.sqrt(sum(x * x for x in vector)) or 1.0
            out.append([x / norm for x in vector])
        return out


def make_embeddings(
    url: str | None,
    model: str,
    api_key: str | None,
    batch_size: int,
    concurrency: int,
) -> CachedEmbeddings:
    """The remote model when a URL is configured, else the shared packaged model."""
    if url:
        return RemoteEmbeddings(url, model, api_key, batch_size, concurrency)
    return shared_embeddings(batch_size)
