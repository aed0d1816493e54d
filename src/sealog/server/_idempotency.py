"""Idempotency keys on writes: a retried write answers what the first attempt answered.

A client sends ``Idempotency-Key: <token>`` with a write and the same key on every retry of
it (each retry signed afresh: nonces are single-use). The first answer the service gives to
that author and key is remembered for 24 hours (at most :data:`LIMIT` answers, oldest dropped);
a retry with the same body gets it again without storing anything twice, and the same key
with another body is refused (422 ``idempotency-key-reused``). While the first request with a
key is still being answered, another with the same key is refused at once (409
``idempotency-key-in-flight``, as the IETF Idempotency-Key draft asks); the client retries it
shortly and gets the first answer. Only successful writes are remembered: a refused write may
be retried as it is. Entries are content-addressed besides, so even a retry without a key never
stores an entry twice.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from sealog.server._deps import Author
from sealog.server._problems import ApiError

__all__ = ["LIMIT", "TTL", "Idempotency", "IdempotencyDep", "Remembered"]

LIMIT = 100_000
TTL = 24 * 3600
_KEY_CHARS = 255
T = TypeVar("T")


class Remembered:
    """First answers by (author, key), with the digest of the body they answered."""

    def __init__(self, limit: int = LIMIT, ttl: float = TTL) -> None:
        """Keep at most ``limit`` answers, each for ``ttl`` seconds."""
        self._answers: OrderedDict[tuple[str, str], tuple[float, str, Any]] = OrderedDict()
        self._limit, self._ttl = limit, ttl
        self._lock = threading.Lock()
        self._inflight: set[tuple[str, str]] = set()

    @contextmanager
    def claim(self, key: tuple[str, str]) -> Iterator[None]:
        """Hold ``key`` while its request is answered; refuse a concurrent one with it."""
        with self._lock:
            if key in self._inflight:
                raise ApiError(409, "idempotency-key-in-flight",
                               "a request with this Idempotency-Key is still being answered; "
                               "retry it shortly")  # fmt: skip
            self._inflight.add(key)
        try:
            yield
        finally:
            with self._lock:
                self._inflight.discard(key)

    def recall(self, key: tuple[str, str], digest: str) -> Any:
        """The answer kept for ``key`` (None if none), refusing a different body."""
        now = time.monotonic()
        with self._lock:
            while self._answers and next(iter(self._answers.values()))[0] < now - self._ttl:
                self._answers.popitem(last=False)
            found = self._answers.get(key)
        if found is None:
            return None
        if found[1] != digest:
            raise ApiError(422, "idempotency-key-reused",
                           "this Idempotency-Key was used for another request body")  # fmt: skip
        return found[2]

    def keep(self, key: tuple[str, str], digest: str, answer: Any) -> None:
        """Remember the first answer to ``key``."""
        with self._lock:
            self._answers.setdefault(key, (time.monotonic(), digest, answer))
            while len(self._answers) > self._limit:
                self._answers.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Idempotency:
    """One write's key, body digest and the store (or no key: nothing to remember)."""

    store: Remembered
    key: tuple[str, str] | None
    digest: str

    def run(self, write: Callable[[], T]) -> T:
        """The first answer to this key if this is a retry; else ``write()``, remembered."""
        if self.key is None:
            return write()
        with self.store.claim(self.key):
            found: T | None = self.store.recall(self.key, self.digest)
            if found is not None:
                return found
            answer = write()
            self.store.keep(self.key, self.digest, answer)
            return answer


async def idempotency(request: Request, author: Author) -> Idempotency:
    """The write's idempotency (a dependency; after the request is authenticated)."""
    token = request.headers.get("idempotency-key")
    if token is not None and not 0 < len(token) <= _KEY_CHARS:
        raise ApiError(400, "invalid-request", "Idempotency-Key is 1 to 255 characters")
    digest = hashlib.sha256(await request.body()).hexdigest()
    store: Remembered = request.app.state.idempotency
    return Idempotency(store, None if token is None else (author, token), digest)


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]
