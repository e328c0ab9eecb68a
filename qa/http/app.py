"""One ASGI app on one port: the REST API, the OpenAI-compatible routes, health, metrics,
the login page and the Gradio chat page at ``/``, all behind one auth gate."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from qa.config import Settings, get_settings, offline_env
from qa.http import conversations, health, insights, login, openai, routes
from qa.http.auth import AuthGate
from qa.http.context import Context
from qa.http.errors import ApiError, ErrorBoundary, install_error_handlers
from qa.http.limits import BodyLimit
from qa.http.session import Sessions, load_secret
from qa.observability import Metrics, MetricsMiddleware, multiprocess_metrics
from qa.people.service import People
from qa.service import Assistant

log = logging.getLogger(__name__)
UPLOAD_PATHS = ("/v1/documents", "/gradio_api/upload")
# Multipart framing around a file of the largest allowed size.
MULTIPART_SLACK = 64 * 1024


def create_app(
    settings: Settings,
    assistant: Assistant | None = None,
    ui: bool = True,
    people: People | None = None,
) -> FastAPI:
    """The whole server as an ASGI app; ``assistant`` lets tests share a loaded model.

    The people database is opened (and migrated) here, so a bad ``CITEQA_ACCESS``, key list
    or database URL stops the server before it takes a request.
    """
    offline_env()
    own_people = people is None
    people = people or People(settings)
    if assistant is None:
        assistant = Assistant(settings, policy=people.policy)
    elif assistant.settings.access != settings.access:
        raise ValueError("the assistant's CITEQA_ACCESS differs from the server's")
    ctx = Context(settings, assistant, Metrics(), people)
    readiness = health.Readiness(ctx)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        readiness.start()
        yield
        if own_people:
            people.close()

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
    app.state.identity = people.identity
    app.state.sessions = Sessions(load_secret(settings.session_secret, settings.data_dir))
    install_error_handlers(app)
    routers = (routes, conversations, insights, openai, health, login)
    for module in routers:
        app.include_router(module.router)

    @app.api_route(
        "/v1/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    def unknown(path: str) -> None:
        raise ApiError(404, f"no such endpoint: /v1/{path}; see /docs")

    if ui:
        app = mount_page(app, ctx)
    # Added last = outermost: errors wrap everything, then the auth gate, then limits.
    upload_bytes = int(settings.max_file_mb * 1_000_000) + MULTIPART_SLACK
    app.add_middleware(MetricsMiddleware, metrics=ctx.metrics)
    app.add_middleware(
        BodyLimit,
        default=settings.max_request_kb * 1024,
        upload=upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    app.add_middleware(
        AuthGate,
        identity=app.state.identity,
        sessions=app.state.sessions,
        metrics_key=settings.metrics_key,
    )
    app.add_middleware(ErrorBoundary)
    if not app.state.identity.enabled and settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving on %s with no API keys or page users: anyone can read", settings.host)
    return app


def mount_page(app: FastAPI, ctx: Context) -> FastAPI:
    import gradio as gr

    from qa.ui import build_ui
    from qa.ui.theme import CSS, HISTORY_CSS, THEME

    return gr.mount_gradio_app(
        app,
        build_ui(ctx),
        path="/",
        max_file_size=f"{int(ctx.settings.max_file_mb * 1000)}kb",
        footer_links=["api"],
        theme=THEME,
        css=CSS + HISTORY_CSS,
    )


def factory() -> FastAPI:
    """For ``uvicorn --factory`` worker processes: settings from the environment."""
    return create_app(get_settings())


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve everything on ``host:port`` until interrupted; ``workers`` > 1 runs that many
    processes (they share a Chroma server, the data dir and the session secret)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log.info("citeqa on http://%s:%d (mode %s, %d worker(s))", host, port, settings.mode, workers)
    if workers > 1:
        if not settings.chroma_url:
            raise SystemExit(
                "--workers > 1 needs a Chroma server (CITEQA_CHROMA_URL): "
                "an embedded store takes one process"
            )
        # Workers are processes: their metrics add up through files in the data dir.
        with multiprocess_metrics(settings.data_dir):
            uvicorn.run(
                "qa.http.app:factory",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                timeout_graceful_shutdown=5,
            )
        return
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="info", timeout_graceful_shutdown=5
    )
