"""What the fake model APIs share: a threaded HTTP server on an OS-chosen loopback port."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackServer(ABC):
    """Serve :meth:`handler` on ``host``:0 in a daemon thread; a context manager."""

    name = "fake-api"

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class, bound to this fake."""

    @property
    def port(self) -> int:
        """The port the OS chose (after :meth:`start`)."""
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    def start(self) -> Self:
        """Bind an OS-chosen port on loopback and serve in a daemon thread."""
        self._server = ThreadingHTTPServer((self.host, 0), self.handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        """Start on entry."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on exit."""
        self.stop()
