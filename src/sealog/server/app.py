"""``create_app(settings)``: the HTTP API over one :class:`~sealog.service.Service`.

No module-level state: everything a request needs hangs off ``app.state`` (the service, the
nonce cache, the settings), built by the factory and opened in its lifespan. Routes are thin:
they parse, authenticate and call the service.

Public by design: agent lookups, verification, checkpoints and proofs. Writes are signed
requests (:mod:`sealog.signed_request`) carrying author-signed entries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request, Response

from sealog import __version__
from sealog.ledger import Ledger
from sealog.server import ops, public, writes
from sealog.server._problems import install_problem_handlers, problem
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


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; the ledger is opened when the app starts and closed when it stops."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = settings.ledger is None
        ledger = settings.ledger or _open(settings)
        app.state.service = Service(ledger)
        app.state.nonces = NonceCache()
        try:
            yield
        finally:
            if owned:
                ledger.close()

    app = FastAPI(
        title="sealog",
        version=__version__,
        summary="The flight recorder and circuit breaker for AI agents.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    _limit_body(app, settings.max_body)
    for module in (ops, public, writes):
        app.include_router(module.router)
    return app


def _open(settings: Settings) -> Ledger:
    return Ledger.open(settings.home, db=settings.db)


def _limit_body(app: FastAPI, limit: int) -> None:
    @app.middleware("http")
    async def refuse_large(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdecimal() or int(declared) > limit):
            return problem(413, "too-large", f"request bodies are limited to {limit} bytes")
        return await call_next(request)
