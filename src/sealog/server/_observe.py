"""Observing the server: Prometheus metrics, one JSON log line per request, request ids.

Everything hangs off the app: :class:`Metrics` owns a private ``CollectorRegistry`` (two apps
in one process never share a counter) and :class:`Observe`, a pure ASGI middleware, feeds it.
For each request it

1. takes the client's ``X-Request-Id`` (if it is 1–128 characters of ``[A-Za-z0-9._:-]``) or
   makes one, and returns it as the ``X-Request-Id`` response header;
2. counts the request by route template, method and status and times it;
3. for a write answered ``201``, counts the entries it stored (from its receipts); for a write
   refused with a problem, counts the refusal by problem code;
4. logs one line to the ``sealog.access`` logger: method, route, path, status, duration, the
   author (when the request was signed and not refused as unauthenticated) and the request id.

The log lines are records with a ``fields`` mapping; :class:`JsonFormatter` renders any record
as one JSON object. ``sealog serve`` installs it (:func:`configure_logging`); importing this
module configures nothing.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sealog.errors import Error
from sealog.ledger import Ledger

__all__ = ["JsonFormatter", "Metrics", "Observe", "configure_logging"]

ACCESS_LOG = "sealog.access"
REQUEST_ID = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
_ADDRESS = re.compile(r"^sl1[0-9a-f]{40}\Z")
_CAPTURE = 1 << 20
"""Largest response body read back for counting (receipts, problems); larger are skipped."""
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class _LedgerCollector(Collector):
    """Figures read at scrape time from the served ledger (nothing while the app is down)."""

    def __init__(self, ledger: Callable[[], Ledger | None]) -> None:
        self._ledger = ledger

    def collect(self) -> Iterator[Metric]:
        ledger = self._ledger()
        if ledger is None:
            return
        try:
            size, stats = ledger.size(), ledger.stats()
        except Error:  # the ledger is closing: leave its figures out of this scrape
            return
        yield GaugeMetricFamily(
            "sealog_ledger_entries", "Entries in the served log (its tree size).", size
        )
        yield CounterMetricFamily(
            "sealog_sequencer_commits", "Group commits (one transaction and checkpoint each).",
            stats.commits,
        )  # fmt: skip
        yield CounterMetricFamily(
            "sealog_sequencer_entries", "Entries committed by the sequencer.", stats.entries
        )
        submissions = CounterMetricFamily(
            "sealog_sequencer_submissions", "Submissions by outcome (committed or refusal code).",
            labels=["outcome"],
        )  # fmt: skip
        submissions.add_metric(["committed"], stats.submissions)
        for code, count in sorted(stats.refused.items()):
            submissions.add_metric([code], count)
        yield submissions
        yield SummaryMetricFamily(
            "sealog_sequencer_commit_seconds", "Time inside the storage write transaction.",
            count_value=stats.commits, sum_value=stats.commit_seconds,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "sealog_sequencer_largest_group", "Most submissions one commit has carried.",
            stats.largest_group,
        )  # fmt: skip


class Metrics:
    """The app's Prometheus metrics, in a registry of its own."""

    def __init__(self, ledger: Callable[[], Ledger | None] = lambda: None) -> None:
        """Create the metrics; ``ledger`` gives the served ledger (if open) at scrape time."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "sealog_http_requests", "HTTP requests answered.",
            ["route", "method", "status"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "sealog_http_request_duration_seconds", "Time to answer an HTTP request.",
            ["route", "method"], buckets=_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.ingested = Counter(
            "sealog_entries_ingested", "Entries stored through this server (receipts issued).",
            registry=self.registry,
        )  # fmt: skip
        self.refused = Counter(
            "sealog_submissions_refused", "Writes refused, by problem code.",
            ["code"], registry=self.registry,
        )  # fmt: skip
        self.registry.register(_LedgerCollector(ledger))
        ProcessCollector(registry=self.registry)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _REQUEST_ID.match(text):
                return text
    return uuid.uuid4().hex


def _author(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"sealog-author":
            text = str(value.decode("latin-1"))
            return text if _ADDRESS.match(text) else None
    return None


def _route(scope: Scope, status: int) -> str:
    """The route template; a route FastAPI does not mark (``/openapi.json``) by its fixed path.

    A path that matched nothing is never a label (its values are the client's to choose).
    """
    template = getattr(scope.get("route"), "path_format", None)
    if isinstance(template, str):
        return template
    return str(scope.get("path", "")) if status < 400 else "<unmatched>"  # noqa: PLR2004


class _Exchange:
    """What the middleware learns of one response as it passes."""

    def __init__(self) -> None:
        self.status = 500
        self.media_type = ""
        self.body = bytearray()
        self.capture = False

    def parsed(self) -> Any:
        try:
            return json.loads(self.body) if self.capture else None
        except ValueError:
            return None


class Observe:
    """Pure ASGI middleware: request id, metrics and one access-log line per request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        """Wrap ``app``, feeding ``metrics``."""
        self.app, self.metrics = app, metrics
        self.log = logging.getLogger(ACCESS_LOG)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request through the app, observing it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        write = scope["method"] not in {"GET", "HEAD", "OPTIONS"}
        seen = _Exchange()

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID] = rid
                seen.media_type = headers.get("content-type", "").split(";")[0].strip()
                seen.capture = write and seen.media_type in {
                    "application/json", "application/problem+json"
                }  # fmt: skip
            elif message["type"] == "http.response.body" and seen.capture:
                seen.body += message.get("body", b"")
                seen.capture = len(seen.body) <= _CAPTURE
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, observed)
        finally:
            self._record(scope, rid, seen, time.perf_counter() - start, write=write)

    def _record(
        self, scope: Scope, rid: str, seen: _Exchange, elapsed: float, *, write: bool
    ) -> None:
        route = _route(scope, seen.status)
        method = scope["method"]
        m = self.metrics
        m.requests.labels(route, method, str(seen.status)).inc()
        m.latency.labels(route, method).observe(elapsed)
        body = seen.parsed() if write else None
        if isinstance(body, dict):
            if seen.status == 201:  # noqa: PLR2004 - created: entries stored
                results = body.get("results")
                m.ingested.inc(len(results) if isinstance(results, list) else 1)
            elif seen.media_type == "application/problem+json":
                code = str(body.get("type", "")).rsplit("/", 1)[-1] or "unknown"
                m.refused.labels(code).inc()
        fields: dict[str, Any] = {
            "request_id": rid,
            "method": method,
            "route": route,
            "path": scope.get("path", ""),
            "status": seen.status,
            "duration_ms": round(elapsed * 1000, 3),
        }
        author = _author(scope)
        if author is not None and seen.status != 401:  # noqa: PLR2004 - unauthenticated
            fields["author"] = author
        client = scope.get("client")
        if client:
            fields["client"] = client[0]
        self.log.info("%s %s %s", method, fields["path"], seen.status, extra={"fields": fields})


class JsonFormatter(logging.Formatter):
    """Render a log record as one JSON object: time, level, logger, message, its fields."""

    def format(self, record: logging.LogRecord) -> str:
        """One line of JSON."""
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            data.update(fields)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(level: str = "info") -> None:
    """Send every log record (sealog's and uvicorn's) to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
