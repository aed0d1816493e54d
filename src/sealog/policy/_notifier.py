"""Webhook delivery off the decision path: one background thread, retries, recorded outcomes.

``Notifier.notify`` only appends to an in-memory schedule and returns; a worker thread (started on
first use) posts each notification to each webhook with httpx. Transient failures (connection
errors, timeouts, 408, 429, 5xx) are retried with full-jitter exponential backoff, bounded in
attempts and in total time; a 429 or 503 waits at least its ``Retry-After``. Everything else
(other 4xx, redirects, which are never followed so a signed body is not re-sent elsewhere) fails at
once. Each outcome becomes a :class:`Delivery` handed to ``on_delivery`` and kept in a bounded list.
Webhook URLs (Slack's carry a token) and secrets never appear in a Delivery: only the scheme, host
and port, and a short hash of the URL.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Literal, Self

import httpx

from sealog.policy._delivery import GRACED_EVENTS, Delivery, RetryPolicy, Webhook
from sealog.policy._signing import sign_webhook

if TYPE_CHECKING:
    from sealog.policy.notify import Notification

__all__ = ["Notifier"]

_LOG = logging.getLogger("sealog.notify")
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(slots=True)
class _Job:
    """One notification on its way to one webhook, with its retry state."""

    webhook: Webhook
    notification: Notification
    body: bytes
    delivery_id: str
    queued_at: datetime
    attempts: int = 0
    started: float | None = None
    first_attempt_at: datetime | None = None
    http_status: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one HTTP attempt gave: success, or an error and whether to try again (and when)."""

    ok: bool
    retry: bool = False
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), if it parses."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


class Notifier:
    """Posts notifications to webhooks in the background; ``notify`` never blocks nor raises."""

    def __init__(
        self,
        webhooks: Sequence[Webhook],
        *,
        retry: RetryPolicy | None = None,
        on_delivery: Callable[[Delivery], None] | None = None,
        history: int = 1000,
        max_pending: int = 10_000,
    ) -> None:
        """Configure the notifier; no thread or connection exists until the first ``notify``.

        Args:
            webhooks: Every notification goes to each of these.
            retry: Attempt, backoff and timeout bounds (defaults: 5 attempts, 2 minutes).
            on_delivery: Called on the worker thread with each outcome; its errors are logged.
            history: How many recent deliveries ``deliveries`` keeps.
            max_pending: Jobs held at most; past it a notification is recorded as dropped.
        """
        self._webhooks = tuple(webhooks)
        self._retry = retry or RetryPolicy()
        self._on_delivery = on_delivery
        self._max_pending = max_pending
        self._history: deque[Delivery] = deque(maxlen=history)
        self._heap: list[tuple[float, int, _Job]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._deadline = float("inf")
        self._busy = False

    @property
    def deliveries(self) -> tuple[Delivery, ...]:
        """The most recent outcomes, oldest first."""
        with self._cond:
            return tuple(self._history)

    def notify(self, notification: Notification) -> None:
        """Schedule ``notification`` for every webhook and return at once."""
        error: str | None = None
        try:
            body = notification.body()
        except Exception as exc:  # noqa: BLE001 - never raise into the decision path
            _LOG.exception("notification could not be encoded")
            body, error = b"", f"not encodable: {exc}"
        now_wall, now = datetime.now(UTC), time.monotonic()
        dropped: list[_Job] = []
        with self._cond:
            for hook in self._webhooks:
                job = _Job(hook, notification, body, uuid.uuid4().hex, now_wall)
                if error or self._closing or len(self._heap) >= self._max_pending:
                    job.error = error or ("notifier closed" if self._closing else "queue full")
                    dropped.append(job)
                    continue
                due = now
                if notification.event in GRACED_EVENTS and hook.grace_period:
                    held = hook.grace_period - (now_wall - notification.time).total_seconds()
                    due += max(0.0, held)
                heapq.heappush(self._heap, (due, next(self._seq), job))
            if self._thread is None and self._heap and not self._closing:
                self._thread = threading.Thread(
                    target=self._run, name="sealog-notifier", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
        for job in dropped:
            self._finish(job, "dropped")

    def close(self, timeout: float = 10.0) -> bool:
        """Stop accepting, send what is pending (held kills at once), wait up to ``timeout``.

        Returns True when everything pending was attempted to the end; jobs still pending at
        the deadline are recorded as dropped.
        """
        with self._cond:
            if not self._closing:
                self._closing = True
                self._deadline = time.monotonic() + timeout
                now = time.monotonic()
                self._heap = [
                    (min(due, now) if job.attempts == 0 else due, seq, job)
                    for due, seq, job in self._heap
                ]
                heapq.heapify(self._heap)
                self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout + self._retry.timeout + 1.0)
        with self._cond:
            return not self._heap and not self._busy

    def __enter__(self) -> Self:
        """Use as a context manager: ``close()`` on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close, draining pending deliveries."""
        self.close()

    def _next_job(self) -> _Job | None:
        """Wait for the next due job; None when closing and nothing more may be sent."""
        with self._cond:
            self._busy = False
            while True:
                now = time.monotonic()
                if self._closing and (not self._heap or now >= self._deadline):
                    return None
                if self._heap and self._heap[0][0] <= now:
                    self._busy = True
                    return heapq.heappop(self._heap)[2]
                wait = self._heap[0][0] - now if self._heap else None
                if self._closing:
                    wait = min(wait if wait is not None else 1e9, self._deadline - now)
                self._cond.wait(wait)

    def _run(self) -> None:
        """The worker: send due jobs until closed, then record what was left as dropped."""
        direct = httpx.HTTPTransport()
        loopback = {f"all://{host}": direct for host in ("127.0.0.1", "localhost", "[::1]")}
        with httpx.Client(
            timeout=self._retry.timeout, follow_redirects=False, mounts=loopback
        ) as client:
            while (job := self._next_job()) is not None:
                try:
                    self._attempt(client, job)
                except Exception:  # noqa: BLE001 - a bug here must not kill the worker
                    _LOG.exception("webhook delivery failed unexpectedly")
                    self._finish(job, "failed")
        with self._cond:
            leftovers = [job for _, _, job in self._heap]
            self._heap.clear()
        for job in leftovers:
            job.error = job.error or "notifier closed before delivery"
            self._finish(job, "dropped")

    def _attempt(self, client: httpx.Client, job: _Job) -> None:
        """One POST; then record success, give up, or schedule the retry."""
        if job.started is None:
            job.started = time.monotonic()
            job.first_attempt_at = datetime.now(UTC)
        job.attempts += 1
        outcome = self._post(client, job)
        job.http_status, job.error = outcome.http_status, outcome.error
        if outcome.ok:
            self._finish(job, "delivered")
            return
        if not outcome.retry or job.attempts >= self._retry.max_attempts:
            self._finish(job, "failed")
            return
        delay = self._retry.backoff(job.attempts)
        if outcome.retry_after is not None:
            delay = max(delay, outcome.retry_after)
        if time.monotonic() + delay - job.started > self._retry.total_timeout:
            job.error = f"{job.error}; retry budget of {self._retry.total_timeout}s exhausted"
            self._finish(job, "failed")
            return
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), job))

    def _post(self, client: httpx.Client, job: _Job) -> _Outcome:
        """Sign (fresh timestamp per attempt) and send; classify the result."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "sealog-webhook/1",
            "X-Sealog-Event": job.notification.event,
            "X-Sealog-Delivery": job.delivery_id,
            **sign_webhook(job.webhook.secret, job.body, timestamp=int(time.time())),
        }
        try:
            response = client.post(job.webhook.url, content=job.body, headers=headers)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            return _Outcome(ok=False, retry=True, error=self._describe(job, exc))
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return _Outcome(ok=False, error=self._describe(job, exc))
        status = response.status_code
        if 200 <= status < 300:  # noqa: PLR2004 - the 2xx range
            return _Outcome(ok=True, http_status=status)
        return _Outcome(
            ok=False,
            retry=status in _RETRY_STATUS,
            http_status=status,
            error=f"HTTP {status}",
            retry_after=_retry_after(response.headers.get("Retry-After")),
        )

    @staticmethod
    def _describe(job: _Job, exc: Exception) -> str:
        """An error message with the URL (which may hold a token) replaced by its endpoint."""
        text = f"{type(exc).__name__}: {exc}".replace(job.webhook.url, job.webhook.endpoint)
        return text[:500]

    def _finish(self, job: _Job, status: Literal["delivered", "failed", "dropped"]) -> None:
        """Record the outcome and hand it to ``on_delivery``."""
        delivery = Delivery(
            delivery_id=job.delivery_id,
            event=job.notification.event,
            session_id=job.notification.session_id,
            endpoint=job.webhook.endpoint,
            webhook_id=job.webhook.webhook_id,
            status=status,
            attempts=job.attempts,
            http_status=job.http_status,
            error=None if status == "delivered" else job.error,
            queued_at=job.queued_at,
            first_attempt_at=job.first_attempt_at,
            finished_at=datetime.now(UTC),
        )
        with self._cond:
            self._history.append(delivery)
        if self._on_delivery is not None:
            try:
                self._on_delivery(delivery)
            except Exception:  # noqa: BLE001 - a receiver's bug must not stop deliveries
                _LOG.exception("on_delivery callback failed")
