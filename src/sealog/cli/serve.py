"""``sealog serve``: the HTTP API (see docs/api.md) under uvicorn, over the home's ledger.

The ledger is opened before the socket is bound (a missing home is one error line, not a
traceback) and closed only after uvicorn has stopped: on SIGTERM or SIGINT uvicorn stops
accepting connections, lets the requests in flight finish, runs the app's shutdown, and only
then does this command close the ledger. A receipt is sent only once its entry is durable, so
nothing a client was told is stored can be lost by stopping the server.

Logs go to stderr as JSON lines (one per request from ``sealog.access``, uvicorn's own lines
too).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import typer

from sealog.cli._common import state
from sealog.home import Home
from sealog.ledger import Ledger

MAX_BODY = 32 * 1024 * 1024
"""The server's default body limit (``sealog.server.app.MAX_BODY``; a test keeps them equal)."""

_LEVELS = ("critical", "error", "warning", "info", "debug")


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the app."""
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="Port (0: any free one)."),
    home: Path | None = typer.Option(
        None, "--home", help="Ledger home (default: the global --home, or the nearest .sealog)."
    ),
    db: str | None = typer.Option(
        None, "--db", help="Storage URL overriding the home's SQLite file (postgresql://…)."
    ),
    log_level: str = typer.Option(
        "info", "--log-level", help=f"One of {', '.join(_LEVELS)}.", case_sensitive=False
    ),
    max_body: int = typer.Option(
        MAX_BODY, "--max-body", min=1, help="Largest request body accepted, in bytes."
    ),
    rate: float = typer.Option(
        50.0, "--rate", min=0, help="Requests per second per client (author or IP); 0: no limit."
    ),
    burst: int = typer.Option(200, "--burst", min=1, help="Requests per client at once."),
) -> None:
    """Serve the HTTP API over the ledger until SIGTERM or Ctrl-C."""
    level = log_level.lower()
    if level not in _LEVELS:
        raise typer.BadParameter(f"choose one of {', '.join(_LEVELS)}", param_hint="--log-level")
    # The server stack (FastAPI, uvicorn) loads only for this command, not for every other.
    import uvicorn  # noqa: PLC0415

    from sealog.server import Settings, create_app  # noqa: PLC0415
    from sealog.server._observe import configure_logging  # noqa: PLC0415

    found = Home.find(home or state(ctx).home)
    ledger = Ledger.open(found.path, db=db)
    try:
        configure_logging(level)
        settings = Settings(home=found.path, db=db, max_body=max_body, ledger=ledger,
                            rate=rate, burst=burst, gc_freeze=True)  # fmt: skip
        config = uvicorn.Config(
            create_app(settings), host=host, port=port, log_config=None, log_level=level,
            access_log=False, server_header=False, lifespan="on",
        )  # fmt: skip
        with _stopped_by_sigterm():
            uvicorn.Server(config).run()
    finally:
        ledger.close()
        logging.getLogger("sealog.server").info("ledger closed; stopped")


class _Stopped(Exception):
    """SIGTERM, re-raised by uvicorn once it has shut down gracefully."""


def _stop(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise _Stopped


@contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """Turn the SIGTERM uvicorn re-raises after its graceful shutdown into a normal return.

    uvicorn restores the handler it found and raises the signal again; left at the default,
    that would kill the process before the ledger is closed. SIGINT needs nothing: its
    default handler raises KeyboardInterrupt, which unwinds through ``finally`` as well.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    except _Stopped:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
