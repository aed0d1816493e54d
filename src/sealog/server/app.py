"""``create_app(settings)``: the HTTP API over one :class:`~sealog.service.Service`.

No module-level state: everything a request needs hangs off ``app.state`` (the service, the
nonce cache, the settings), built by the factory and opened in its lifespan. Routes are thin:
they parse, authenticate and call the service.

Public by design: agent lookups, verification, checkpoints and proofs. Writes are signed
requests (:mod:`sealog.signed_request`) carrying author-signed entries.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sealog import __version__
from sealog.governance import REASONING_FILE, Blobs
from sealog.ledger import Ledger
from sealog.server import ops, private, public, transparency, writes
from sealog.server._idempotency import Remembered
from sealog.server._limits import RateLimit, TokenBuckets
from sealog.server._observe import Metrics, Observe
from sealog.server._openapi import install_openapi
from sealog.server._problems import install_problem_handlers, problem
from sealog.server._tenancy import beside_home
from sealog.service import Service
from sealog.signed_request import NonceCache

__all__ = ["Settings", "create_app"]

MAX_BODY = 32 * 1024 * 1024
"""Largest request body accepted, in bytes (a full batch of large entries fits)."""


@dataclass(slots=True)
class Settings:
    """How to build the app: where the ledger lives and the request limits."""

    home: Path | None = None
    """The ledger home (its log key, and the SQLite ledger unless ``db`` is given)."""
    db: str | None = None
    """A storage URL (``postgresql://…``) overriding the home's SQLite file."""
    max_body: int = MAX_BODY
    ledger: Ledger | None = field(default=None, repr=False)
    """An open ledger to serve instead (tests, embedding); the app does not close it."""
    rate: float = 50.0
    """Requests per second each client may make (per author when signed, else per IP); 0: off."""
    burst: int = 200
    """Requests a client may make at once before ``rate`` applies."""
    max_bundle_entries: int = 100_000
    """Most entries ``GET /bundle`` selects; larger exports are made with ``sealog export``."""
    gc_freeze: bool = False
    """Move everything alive at startup out of the garbage collector's sight (``gc.freeze``):
    halves the HTTP tail latency. Process-wide, so ``sealog serve`` sets it, an app embedded in
    another program does not by default."""
    tenants: Path | None = None
    """The apps-and-keys store (default: the home's tenants.db; in memory if only ``ledger``)."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; the ledger is opened when the app starts and closed when it stops."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = settings.ledger is None
        ledger = settings.ledger or _open(settings)
        app.state.service = Service(ledger, Blobs(beside_home(settings, REASONING_FILE)))
        app.state.nonces = NonceCache()
        app.state.idempotency = Remembered()
        if settings.gc_freeze:
            gc.collect()
            gc.freeze()  # the folded log and the app live as long as the server: never rescanned
        try:
            yield
        finally:
            if settings.gc_freeze:
                gc.unfreeze()
            if owned:
                ledger.close()

    app = FastAPI(
        title="sealog",
        version=__version__,
        summary="The flight recorder and circuit breaker for AI agents.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load from a CDN; install_openapi serves /docs
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.limiter = TokenBuckets(settings.rate, settings.burst)
    app.state.metrics = Metrics(lambda: _ledger(app))
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_body)
    app.add_middleware(RateLimit, limiter=app.state.limiter)
    app.add_middleware(Observe, metrics=app.state.metrics)
    for module in (ops, public, transparency, writes):
        app.include_router(module.router)
    private.install(app)  # API-key routes, and the tenants store beside the ledger
    install_openapi(app)
    return app


def _ledger(app: FastAPI) -> Ledger | None:
    service: Service | None = getattr(app.state, "service", None)
    return None if service is None else service.ledger


def _open(settings: Settings) -> Ledger:
    return Ledger.open(settings.home, db=settings.db)


class BodyLimit:
    """Refuse request bodies over the limit with a 413 problem (pure ASGI: no task, no thread).

    A declared Content-Length past the limit is answered before anything is read. A streamed
    body is counted as it arrives: past the limit the 413 is sent at once, the app is told the
    client went away, and whatever it still tries to send is dropped — a huge body is never
    held whole, and never half-processed into the ledger (a submission is read in full before
    it is parsed).
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        """Wrap ``app``."""
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse, or pass the request on with its body counted."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        seen, refused = 0, False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, guarded)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"request bodies are limited to {self.limit} bytes"
        await problem(413, "too-large", detail)(scope, receive, send)
