"""What the server tests share: the app in process on a private loop, and entries on the wire."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from sealog.ledger import Ledger, wire_entry
from sealog.server import Settings, create_app

wire = wire_entry
"""An entry as the API carries it (the library's own encoder)."""


class InProcessApp:
    """create_app over ``ledger``, started, behind httpx's ASGI transport on a private loop."""

    def __init__(self, ledger: Ledger, **settings: Any) -> None:
        self.ledger = ledger
        self.app = create_app(Settings(ledger=ledger, **settings))
        self.loop = asyncio.new_event_loop()
        self._life = self.app.router.lifespan_context(self.app)
        self.loop.run_until_complete(self._life.__aenter__())
        transport = httpx.ASGITransport(app=self.app)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://sealog.test")

    def run(self, awaitable: Any) -> Any:
        """Run one request on the app's loop."""
        return self.loop.run_until_complete(awaitable)

    def close(self) -> None:
        """Stop the app and its loop."""
        self.loop.run_until_complete(self.http.aclose())
        self.loop.run_until_complete(self._life.__aexit__(None, None, None))
        self.loop.close()
