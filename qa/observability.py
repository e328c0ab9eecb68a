"""Prometheus metrics through ``prometheus_client``: counters and histograms per server
process, process and GC metrics, and gauges (documents, chunks) read from the store when
``/metrics`` is scraped, so they are never stale.

Several worker processes (``citeqa serve --workers N``) share one count through
prometheus_client's multiprocess mode: ``multiprocess_metrics`` makes a fresh folder under
the data dir and names it in ``PROMETHEUS_MULTIPROC_DIR`` before the workers start; each
worker writes its values there and a scrape of any worker sums them all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.types import Answer

# Seconds; spans a cached lexical lookup up to a slow local generation.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
GaugeSample = tuple[str, str, dict[str, str], float]  # name, help, labels, value
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# A `_created` timestamp beside every series doubles the page and no dashboard of ours uses it.
disable_created_metrics()


def multiprocess() -> bool:
    """Whether prometheus_client runs in multiprocess mode. It decides once, when imported,
    from ``PROMETHEUS_MULTIPROC_DIR``; asking it (not the environment) gives its answer."""
    return values.ValueClass is not values.MutexValue


@contextmanager
def multiprocess_metrics(data_dir: Path) -> Iterator[Path]:
    """For ``serve --workers N`` (call before the workers start; they inherit the
    environment and import prometheus_client fresh): a new folder under the data dir as
    ``PROMETHEUS_MULTIPROC_DIR``, removed with the variable when the block ends, so no
    count of an earlier run is ever added in."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="metrics-", dir=data_dir))
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


class Gauges:
    """A collector for one scrape: the gauge samples given, grouped into families."""

    def __init__(self, samples: Iterable[GaugeSample]) -> None:
        self.samples = list(samples)

    def collect(self) -> Iterator[Metric]:
        families: dict[str, GaugeMetricFamily] = {}
        for name, help_text, labels, value in self.samples:
            if name not in families:
                families[name] = GaugeMetricFamily(name, help_text, labels=list(labels))
            families[name].add_metric([labels[n] for n in labels], value)
        yield from families.values()


class Metrics:
    """Everything ``/metrics`` reports about the server (all its processes, in
    multiprocess mode)."""

    def __init__(self) -> None:
        # One registry per app, so tests (and embedders) can build several apps in one process.
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "citeqa_http_requests", "HTTP requests served", ("route", "method", "status"),
            registry=reg,
        )  # fmt: skip
        self.request_seconds = Histogram(
            "citeqa_http_request_duration_seconds",
            "time until the last byte of the response was sent",
            ("route",), buckets=BUCKETS, registry=reg,
        )  # fmt: skip
        self.stage_seconds = Histogram(
            "citeqa_answer_stage_seconds",
            "seconds per answering stage (condense, retrieve, evidence, generate, verify, total)",
            ("stage",), buckets=BUCKETS, registry=reg,
        )  # fmt: skip
        self.answers = Counter(
            "citeqa_answers", "answers given", ("interface", "mode", "abstained"), registry=reg
        )
        self.llm_calls = Counter("citeqa_llm_calls", "calls to the LLM", ("mode",), registry=reg)
        self.llm_tokens = Counter(
            "citeqa_llm_completion_tokens", "completion tokens generated", ("mode",), registry=reg
        )
        self.ingested = Counter(
            "citeqa_ingested_files", "uploaded files by ingest outcome", ("status",), registry=reg
        )
        if not multiprocess():  # per-process figures would mislead beside summed counts
            for collector in (PROCESS_COLLECTOR, GC_COLLECTOR, PLATFORM_COLLECTOR):
                reg.register(collector)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route=route, method=method, status=str(status)).inc()
        self.request_seconds.labels(route=route).observe(seconds)

    def observe_answer(self, answer: Answer, interface: str) -> None:
        abstained = str(answer.abstained).lower()
        self.answers.labels(interface=interface, mode=answer.mode, abstained=abstained).inc()
        for stage, seconds in answer.timings.items():
            self.stage_seconds.labels(stage=stage).observe(seconds)
        if answer.llm_calls:
            self.llm_calls.labels(mode=answer.mode).inc(answer.llm_calls)
        if answer.tokens:
            self.llm_tokens.labels(mode=answer.mode).inc(answer.tokens)

    def observe_ingest(self, statuses: Iterable[str]) -> None:
        for status in statuses:
            self.ingested.labels(status=status).inc()

    def render(self, gauges: Iterable[GaugeSample] = ()) -> str:
        """The Prometheus text format: this registry, or every process's values in
        multiprocess mode, then the gauges of this scrape."""
        registry = self.registry
        if multiprocess():
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
        text = generate_latest(registry) + generate_latest(Gauges(gauges))
        return text.decode("utf-8")


OWN_PATHS = ("/healthz", "/metrics", "/docs", "/openapi.json")


def route_label(scope: Scope) -> str:
    """The route template (``/v1/documents/{doc_id}``), never the raw path: raw paths would
    make one series per document. Everything the chat page serves counts as ``ui``."""
    path = str(scope.get("path", ""))
    template = getattr(scope.get("route"), "path", None)
    if template and (path.startswith("/v1/") or path in OWN_PATHS):
        return str(template)
    return "ui"


class MetricsMiddleware:
    """Counts requests and times them until the response's last byte (streams included)."""

    def __init__(
        self, app: ASGIApp, metrics: Metrics, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.app, self.metrics, self.clock = app, metrics, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = self.clock(), 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            seconds = self.clock() - started
            self.metrics.observe_request(route_label(scope), scope["method"], status, seconds)
