"""The backends the client suite runs on: the app in process (ASGI) and under uvicorn."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import uvicorn
from fastapi import FastAPI

from sealog.ledger import Ledger
from sealog.server import Settings, create_app

BASE = "http://sealog.test"


def app_over(ledger: Ledger) -> FastAPI:
    """create_app over ``ledger``, without rate limits (the suite writes quickly)."""
    return create_app(Settings(ledger=ledger, rate=0))


class SyncASGI(httpx.BaseTransport):
    """httpx.ASGITransport for a blocking httpx.Client: the app, started, on a private loop."""

    def __init__(self, ledger: Ledger) -> None:
        self.app = app_over(ledger)
        self.loop = asyncio.new_event_loop()
        self._life = self.app.router.lifespan_context(self.app)
        self.loop.run_until_complete(self._life.__aenter__())
        self.asgi = httpx.ASGITransport(app=self.app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            response = await self.asgi.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return self.loop.run_until_complete(send())

    def stop(self) -> None:
        """Stop the app and its loop."""
        self.loop.run_until_complete(self._life.__aexit__(None, None, None))
        self.loop.close()


class Served:
    """create_app under uvicorn on 127.0.0.1, on a port it binds itself, in a thread."""

    def __init__(self, ledger: Ledger) -> None:
        config = uvicorn.Config(app_over(ledger), host="127.0.0.1", port=0, log_level="warning",
                                lifespan="on")  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn stopped before it started"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(10)
        assert not self.thread.is_alive(), "uvicorn did not stop"


class LoseAnAnswer(httpx.BaseTransport):
    """Delivers the ``nth`` POST /entries, then loses its answer as a dropped connection would."""

    def __init__(self, inner: httpx.BaseTransport, nth: int = 1) -> None:
        self.inner, self.nth = inner, nth
        self.lost: httpx.Response | None = None
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path == "/entries":
            self.sent.append(request)
            if len(self.sent) == self.nth:
                response.read()
                self.lost = response
                raise httpx.ReadError("connection lost", request=request)
        return response
