"""One ASGI app on one port: the REST API, the OpenAI-compatible routes, health, metrics,
and the Gradio chat page at ``/``. ``serve`` runs it with uvicorn."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi_offline import FastAPIOffline

from qa import api, openai_api
from qa.api import ApiError, Context
from qa.config import Settings, offline_env
from qa.observability import GaugeSample, Metrics, MetricsMiddleware
from qa.service import Assistant

log = logging.getLogger(__name__)
# A failed warm-up (say, an LLM server that was down) is retried at most this often.
RETRY_SECONDS = 15.0


class Readiness:
    """Warms the service in the background so the port opens at once and ``/healthz``
    turns ready when the first question can be answered: the bundled examples are
    ingested, the embedding model and Chroma have served a search, the LLM has loaded."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.state = "starting"
        self.error: str | None = None
        self.seconds: float | None = None
        self._started = time.monotonic()
        self._attempt = 0.0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._attempt = time.monotonic()
            self._thread = threading.Thread(target=self._warm, name="citeqa-warmup", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state == "ready"

    def _warm(self) -> None:
        assistant = self.ctx.assistant
        try:
            with self.ctx.ingest_lock:
                report = assistant.ensure_examples()
            if report is not None:
                self.ctx.metrics.observe_ingest(report)
                log.info("ingested the bundled examples: %d files", len(report.results))
            assistant.search("warm up", k=1)
            llm = assistant.chain().llm
            if llm is not None:
                llm.invoke("Say OK.", stop=["\n"])
            self.state, self.error = "ready", None
            self.seconds = round(time.monotonic() - self._started, 3)
            log.info("ready in %.1f s (mode %s)", self.seconds, self.ctx.settings.mode)
        except Exception as exc:
            log.exception("warm-up failed")
            self.state, self.error = "failed", str(exc)

    def check(self) -> tuple[bool, dict[str, Any]]:
        """(ready, details). Chroma is asked live on every check."""
        if self.state == "failed" and time.monotonic() - self._attempt > RETRY_SECONDS:
            self.start()
        try:
            self.ctx.assistant.client.heartbeat()
            chroma = "ok"
        except Exception as exc:
            chroma = f"unreachable: {exc}"
        ready = self.state == "ready" and chroma == "ok"
        details: dict[str, Any] = {
            "status": "ready" if ready else self.state if self.state != "ready" else "degraded",
            "chroma": chroma,
            "model": self.state if self.error is None else f"failed: {self.error}",
            "mode": self.ctx.settings.mode,
            "startup_seconds": self.seconds,
        }
        return ready, details


def gauges(ctx: Context, readiness: Readiness) -> Iterator[GaugeSample]:
    yield ("citeqa_ready", "1 when /healthz is ready", {}, float(readiness.state == "ready"))
    for name in ctx.assistant.collections():
        docs = ctx.assistant.store(name).documents()
        chunks = sum(int(d.get("n_chunks") or 0) for d in docs.values())
        yield ("citeqa_documents", "documents stored", {"collection": name}, float(len(docs)))
        yield ("citeqa_chunks", "chunks stored", {"collection": name}, float(chunks))


def ui_users(settings: Settings) -> list[tuple[str, str]] | None:
    """``CITEQA_UI_USERS`` ("user:pass,user2:pass2") as Gradio auth pairs."""
    pairs = []
    for item in (settings.ui_users or "").split(","):
        user, sep, password = item.strip().partition(":")
        if item.strip() and (not sep or not user or not password):
            raise ValueError(f"CITEQA_UI_USERS entries must be user:password, got {item!r}")
        if sep:
            pairs.append((user, password))
    return pairs or None


def create_app(settings: Settings, assistant: Assistant | None = None, ui: bool = True) -> FastAPI:
    """The whole server as an ASGI app; ``assistant`` lets tests share a loaded model."""
    offline_env()
    metrics = Metrics()
    ctx = Context(settings, assistant or Assistant(settings), metrics)
    readiness = Readiness(ctx)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        readiness.start()
        yield

    # FastAPIOffline serves the Swagger UI (/docs) and ReDoc assets from the package, not a
    # CDN, so the API docs work offline like everything else.
    app = FastAPIOffline(
        title="citeqa",
        version="0.1.0",
        description="Answers from your documents, citing the exact sentences they rest on.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.readiness = readiness
    api.install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(openai_api.router)

    @app.api_route(
        "/v1/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    def unknown(path: str) -> None:
        raise ApiError(404, f"no such endpoint: /v1/{path}; see /docs")

    @app.get("/healthz", tags=["operations"])
    def healthz() -> JSONResponse:
        """200 once Chroma and the models answer; 503 (with the reason) until then."""
        ready, details = readiness.check()
        return JSONResponse(details, 200 if ready else 503)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        """Prometheus text format: requests, stage latency, answers, LLM calls, corpus size."""
        return PlainTextResponse(
            metrics.render(gauges(ctx, readiness)),
            media_type="text/plain; version=0.0.4; charset=utf-8",
        )

    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if ui:
        import gradio as gr

        from qa.ui import build_ui
        from qa.ui_theme import CSS, THEME

        app = gr.mount_gradio_app(
            app,
            build_ui(ctx),
            path="/",
            auth=ui_users(settings),
            auth_message="Sign in to chat with the documents.",
            max_file_size=f"{int(settings.max_file_mb * 1000)}kb",
            footer_links=["api"],
            theme=THEME,
            css=CSS,
        )
    return app


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve everything on ``host:port`` until interrupted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(settings)
    log.info("citeqa on http://%s:%d (mode %s)", host, port, settings.mode)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
