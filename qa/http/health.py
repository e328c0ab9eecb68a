"""Readiness (``/healthz``) and Prometheus metrics (``/metrics``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from qa.http.context import Context, Ctx
from qa.http.errors import ApiError
from qa.observability import GaugeSample

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
        self.failed = False
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
            with assistant.ingest_lock:
                report = assistant.ensure_examples()
            if report is not None:
                self.ctx.metrics.observe_ingest(r.status for r in report.results)
                log.info("ingested the bundled examples: %d files", len(report.results))
            assistant.search("warm up", k=1)
            llm = assistant.chain().llm
            if llm is not None:
                llm.invoke("Say OK.", stop=["\n"])
            self.state = "ready"
            self.seconds = round(time.monotonic() - self._started, 3)
            log.info("ready in %.1f s (mode %s)", self.seconds, self.ctx.settings.mode)
        except Exception:
            log.exception(
                "warm-up failed; retried on the next /healthz after %.0f s", RETRY_SECONDS
            )
            self.state = "failed"

    def check(self) -> tuple[bool, dict[str, Any]]:
        """(ready, details). Chroma is asked live on every check. Details say what is not
        ready, never why in words that could leak data or paths (that is in the log)."""
        if self.state == "failed" and time.monotonic() - self._attempt > RETRY_SECONDS:
            self.start()
        try:
            self.ctx.assistant.client.heartbeat()
            chroma = "ok"
        except Exception:
            log.exception("chroma heartbeat failed")
            chroma = "unreachable"
        ready = self.state == "ready" and chroma == "ok"
        details: dict[str, Any] = {
            "status": "ready" if ready else self.state if self.state != "ready" else "degraded",
            "chroma": chroma,
            "model": self.state,
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


router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """200 once Chroma and the models answer; 503 (with what is not ready) until then."""
    ready, details = request.app.state.readiness.check()
    return JSONResponse(details, 200 if ready else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus(request: Request, ctx: Ctx) -> PlainTextResponse:
    """Prometheus text format: requests, stage latency, answers, LLM calls, corpus size.
    Under ``CITEQA_ACCESS`` only admins (and the metrics key) see it: it counts every
    collection's documents."""
    user = request.scope.get("state", {}).get("user")
    if user is not None and not ctx.assistant.policy.is_admin(user):
        raise ApiError(403, "metrics are for admins and the metrics key")
    return PlainTextResponse(
        ctx.metrics.render(gauges(ctx, request.app.state.readiness)),
        media_type="text/plain; version=0.0.4; charset=utf-8",
    )
