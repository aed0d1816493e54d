"""Webhook configuration, retry bounds and delivery records: the data of the notifier.

Kept apart from the worker so the session layer can build and seal these without threads.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx

from sealog.errors import UsageError

__all__ = ["GRACED_EVENTS", "Delivery", "RetryPolicy", "Webhook"]

GRACED_EVENTS = frozenset({"session_killed"})
"""Events a webhook's grace period holds back; alerts are always sent at once."""


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where to post, the HMAC secret to sign with, and the kill grace period in seconds.

    ``grace_period`` (the policy's ``kill_switch.grace_period``) holds a ``session_killed``
    notification until that many seconds after the kill's time: the window the agent has to
    stop on its own. Alerts are never held. ``Notifier.close`` sends held kills at once, so a
    kill is never lost to a shutdown.
    """

    url: str = field(repr=False)
    secret: str | bytes = field(repr=False)
    grace_period: float = 0.0

    def __post_init__(self) -> None:
        """Refuse URLs that are not http(s), empty secrets and negative grace periods."""
        if not self.url.startswith(("http://", "https://")):
            raise UsageError("a webhook URL must start with http:// or https://")
        if not self.secret:
            raise UsageError("a webhook secret must not be empty")
        if self.grace_period < 0:
            raise UsageError("a webhook grace period cannot be negative")

    @property
    def endpoint(self) -> str:
        """Scheme, host and port only: safe to log and to seal (no path, no token)."""
        url = httpx.URL(self.url)
        port = f":{url.port}" if url.port is not None else ""
        return f"{url.scheme}://{url.host}{port}"

    @property
    def webhook_id(self) -> str:
        """A short stable id of the full URL (16 hex digits of its SHA-256)."""
        return hashlib.sha256(self.url.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds of delivery: attempts, backoff, per-request timeout and total time per delivery.

    Attempt ``n`` (1-based) that fails transiently waits a random time in
    ``[0, min(max_delay, base_delay * 2**(n-1))]`` ("full jitter"), or ``Retry-After`` when the
    receiver sent one; a wait that would end past ``total_timeout`` from the first attempt ends
    the delivery as failed instead.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    timeout: float = 5.0
    total_timeout: float = 120.0

    def __post_init__(self) -> None:
        """Refuse bounds that would never send or never stop."""
        if self.max_attempts < 1 or self.timeout <= 0 or self.total_timeout <= 0:
            raise UsageError("retry policy needs max_attempts >= 1 and positive timeouts")
        if self.base_delay < 0 or self.max_delay < 0:
            raise UsageError("retry delays cannot be negative")

    def backoff(self, attempt: int) -> float:
        """The jittered wait after failed attempt ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one notification to one webhook, ready to be sealed into the ledger."""

    delivery_id: str
    event: str
    session_id: str
    endpoint: str
    webhook_id: str
    status: Literal["delivered", "failed", "dropped"]
    attempts: int
    http_status: int | None
    error: str | None
    queued_at: datetime
    finished_at: datetime
    first_attempt_at: datetime | None = None

    def record(self) -> dict[str, Any]:
        """A JSON-ready dict (times as RFC 3339 UTC) for sealing or logging."""
        return {
            "delivery_id": self.delivery_id,
            "event": self.event,
            "session_id": self.session_id,
            "endpoint": self.endpoint,
            "webhook_id": self.webhook_id,
            "status": self.status,
            "attempts": self.attempts,
            "http_status": self.http_status,
            "error": self.error,
            "queued_at": _stamp(self.queued_at),
            "first_attempt_at": _stamp(self.first_attempt_at),
            "finished_at": _stamp(self.finished_at),
        }


def _stamp(moment: datetime | None) -> str | None:
    """RFC 3339 UTC with a ``Z``, or None."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
