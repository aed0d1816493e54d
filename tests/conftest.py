"""Shared test fixtures: files under tests/assets and the vendored conformance vectors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ASSETS = Path(__file__).parent / "assets"


def asset(name: str) -> Path:
    """Return the path of ``name`` under tests/assets; fail loudly if it is missing."""
    path = ASSETS / name
    if not path.exists():
        msg = f"no test asset {name!r} under {ASSETS}"
        raise FileNotFoundError(msg)
    return path


@pytest.fixture(name="asset")
def asset_fixture() -> Callable[[str], Path]:
    """The :func:`asset` helper, for tests that take it as a fixture."""
    return asset


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """The conformance vectors of tests/assets/vectors/vectors.json, parsed once."""
    return json.loads(asset("vectors/vectors.json").read_text(encoding="utf-8"))
