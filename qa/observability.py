"""Prometheus metrics in the text exposition format, kept in process memory.

The format is a few lines of text, so a client library would buy nothing; counters and
histograms here are thread-safe and label-aware, and gauges (documents, chunks) are read
from the store when ``/metrics`` is scraped, so they are never stale.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.types import Answer

# Seconds; spans a cached lexical lookup up to a slow local generation.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
GaugeSample = tuple[str, str, dict[str, str], float]  # name, help, labels, value


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Counter:
    """A monotonically increasing count per label set."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.labels = name, help_text, labels
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(str(labels[n]) for n in self.labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            for key, value in sorted(self._values.items()):
                lines.append(f"{self.name}{_labels(self.labels, key)} {_number(value)}")
        return lines


class Histogram:
    """Observations in cumulative buckets, with their sum and count, per label set."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.labels = name, help_text, labels
        self._series: dict[tuple[str, ...], list[float]] = {}  # bucket counts + [sum, count]
        self._lock = threading.Lock()

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(str(labels[n]) for n in self.labels)
        with self._lock:
            series = self._series.setdefault(key, [0.0] * (len(BUCKETS) + 2))
            for i, bound in enumerate(BUCKETS):
                if value <= bound:
                    series[i] += 1
            series[-2] += value
            series[-1] += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            for key, series in sorted(self._series.items()):
                for bound, count in zip(BUCKETS, series, strict=False):
                    le = _labels(self.labels, key, f'le="{_number(bound)}"')
                    lines.append(f"{self.name}_bucket{le} {_number(count)}")
                inf = _labels(self.labels, key, 'le="+Inf"')
                lines.append(f"{self.name}_bucket{inf} {_number(series[-1])}")
                lines.append(f"{self.name}_sum{_labels(self.labels, key)} {series[-2]:.6f}")
                lines.append(f"{self.name}_count{_labels(self.labels, key)} {_number(series[-1])}")
        return lines


class Metrics:
    """Everything ``/metrics`` reports about one server process."""

    def __init__(self) -> None:
        self.requests = Counter(
            "citeqa_http_requests_total", "HTTP requests served", ("route", "method", "status")
        )
        self.request_seconds = Histogram(
            "citeqa_http_request_duration_seconds",
            "time until the last byte of the response was sent",
            ("route",),
        )
        self.stage_seconds = Histogram(
            "citeqa_answer_stage_seconds",
            "seconds per answering stage (condense, retrieve, evidence, generate, verify, total)",
            ("stage",),
        )
        self.answers = Counter(
            "citeqa_answers_total", "answers given", ("interface", "mode", "abstained")
        )
        self.llm_calls = Counter("citeqa_llm_calls_total", "calls to the LLM", ("mode",))
        self.llm_tokens = Counter(
            "citeqa_llm_completion_tokens_total", "completion tokens generated", ("mode",)
        )
        self.ingested = Counter(
            "citeqa_ingested_files_total", "uploaded files by ingest outcome", ("status",)
        )

    def observe_answer(self, answer: Answer, interface: str) -> None:
        self.answers.inc(
            interface=interface, mode=answer.mode, abstained=str(answer.abstained).lower()
        )
        for stage, seconds in answer.timings.items():
            self.stage_seconds.observe(seconds, stage=stage)
        if answer.llm_calls:
            self.llm_calls.inc(answer.llm_calls, mode=answer.mode)
        if answer.tokens:
            self.llm_tokens.inc(answer.tokens, mode=answer.mode)

    def observe_ingest(self, statuses: Iterable[str]) -> None:
        for status in statuses:
            self.ingested.inc(status=status)

    def render(self, gauges: Iterable[GaugeSample] = ()) -> str:
        lines: list[str] = []
        for metric in (
            self.requests,
            self.request_seconds,
            self.stage_seconds,
            self.answers,
            self.llm_calls,
            self.llm_tokens,
            self.ingested,
        ):
            lines.extend(metric.render())
        described: set[str] = set()
        for name, help_text, labels, value in gauges:
            if name not in described:
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
                described.add(name)
            names = tuple(labels)
            lines.append(f"{name}{_labels(names, tuple(labels[n] for n in names))} {value:g}")
        return "\n".join(lines) + "\n"


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
            route = route_label(scope)
            self.metrics.requests.inc(route=route, method=scope["method"], status=str(status))
            self.metrics.request_seconds.observe(self.clock() - started, route=route)
