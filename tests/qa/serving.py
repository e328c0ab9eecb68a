"""Run a citeqa app on a free loopback port in a background thread, for tests that need a
real HTTP server (the ``openai`` client, ``gradio_client``, a browser). In-process, so the
session's embedding model is shared instead of loaded again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from tests.conftest import free_port, wait_http


@contextmanager
def running(app: FastAPI, timeout: float = 120.0) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL once ``/healthz`` is ready."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthz", timeout)  # answers 503 until warm, then 200
        yield url
    finally:
        server.should_exit = True
        thread.join(15)
