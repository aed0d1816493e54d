"""Rate limits: a token bucket per client, answered with ``429 rate-limited`` and Retry-After.

Who a client is depends on what it proved. A signed request is charged to its **author**, but
only once its signature verified (:func:`throttle`, called by the signed-request dependency), so
nobody can drain another author's budget by sending its address. Everything else — unsigned
requests, and signed ones that fail authentication — is charged to the **client IP**: by
:class:`RateLimit` before the app runs when the request carries no ``Sealog-Author`` header,
and after it otherwise, unless the route charged the author. Behind a reverse proxy every
request has the proxy's IP: give the proxy its own limits, or raise these.

The buckets live in the app (``app.state.limiter``), never in the module.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from sealog.server._problems import ApiError, problem

__all__ = ["RateLimit", "TokenBuckets", "throttle"]

_CHARGED = "sealog.rate_charged"
_AUTHOR = b"sealog-author"


class TokenBuckets:
    """One bucket per key: ``burst`` tokens, refilled at ``rate`` per second.

    At most ``max_keys`` buckets are kept; the least recently used goes first (a dropped
    bucket comes back full, so the cap only ever errs towards letting a request through).
    """

    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000) -> None:
        """Allow ``rate`` requests per second per key, ``burst`` at once; 0 turns limits off."""
        self.rate, self.burst, self._max = rate, burst, max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether any limit applies."""
        return self.rate > 0 and self.burst > 0

    def take(self, key: str, now: float | None = None) -> float:
        """Spend a token of ``key``; 0 if there was one, else the seconds until there is."""
        if not self.enabled:
            return 0.0
        clock = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), clock))
            tokens = min(float(self.burst), tokens + (clock - last) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, clock)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return wait


def _client_key(scope: Scope) -> str:
    client = scope.get("client")
    return f"ip {client[0]}" if client else "ip unknown"


def _refusal(wait: float, who: str) -> ApiError:
    seconds = max(1, math.ceil(wait))
    return ApiError(429, "rate-limited", f"too many requests from {who}; retry in {seconds} s",
                    retry_after=seconds)  # fmt: skip


def throttle(request: Request, author: str | None) -> None:
    """Charge a request to its verified ``author``, or to its client IP when None.

    Raises:
        ApiError: 429 ``rate-limited`` when the bucket is empty.
    """
    limiter: TokenBuckets | None = getattr(request.app.state, "limiter", None)
    request.scope[_CHARGED] = True
    if limiter is None:
        return
    key = _client_key(request.scope) if author is None else f"author {author}"
    wait = limiter.take(key)
    if wait > 0:
        raise _refusal(wait, author or "this client")


class RateLimit:
    """Pure ASGI middleware: charge unsigned requests to their client IP before they run."""

    def __init__(self, app: ASGIApp, limiter: TokenBuckets) -> None:
        """Wrap ``app``."""
        self.app, self.limiter = app, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an unsigned request over its client's budget, or pass it on."""
        if scope["type"] != "http" or not self.limiter.enabled:
            await self.app(scope, receive, send)
            return
        key = _client_key(scope)
        if not any(name == _AUTHOR for name, _ in scope.get("headers", ())):
            wait = self.limiter.take(key)
            if wait > 0:
                error = _refusal(wait, "this client")
                response = problem(429, error.code, error.detail, **error.extra)
                await response(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            # A signed-looking request the route never charged (not a signed route, or it
            # failed before authenticating) costs its IP, so the header is no way around limits.
            if not scope.get(_CHARGED):
                self.limiter.take(key)
