"""A minimal OpenAI-compatible ``/v1/embeddings`` server over the packaged model, for tests.

No well-kept embedding server installs offline here with a local model folder without
pulling its own stack (Infinity brings its own torch and optimum pins), so the tests run
this one as a real process on loopback. ``CITEQA_TEST_FAIL_FIRST=N`` answers the first N
requests with 503, to exercise the client's retries.
"""

from __future__ import annotations

import os
import threading

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from vectorstore.embeddings import LOCAL_MODEL_ID, LocalEmbeddings

app = FastAPI()
model = LocalEmbeddings()
_failures = {"left": int(os.environ.get("CITEQA_TEST_FAIL_FIRST", "0"))}
_lock = threading.Lock()


class EmbeddingRequest(BaseModel):
    model: str
    input: list[str] | str


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/embeddings")
def embeddings(request: EmbeddingRequest) -> dict[str, object]:
    with _lock:
        if _failures["left"] > 0:
            _failures["left"] -= 1
            raise HTTPException(503, "warming up")
    if request.model != LOCAL_MODEL_ID:
        raise HTTPException(404, f"model {request.model!r} not found")
    texts = [request.input] if isinstance(request.input, str) else request.input
    vectors = model.embed_documents(texts)
    return {
        "object": "list",
        "model": request.model,
        "data": [
            {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
        ],
    }
