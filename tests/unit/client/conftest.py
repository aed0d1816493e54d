"""The client suite's marker: tests that listen on a loopback port (a real uvicorn)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``loopback`` marker (``-m 'not loopback'`` skips the real server)."""
    config.addinivalue_line("markers", "loopback: runs a real server on 127.0.0.1 (port 0)")
