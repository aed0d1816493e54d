"""Transparency over HTTP: the C2SP checkpoint and tiles, proofs, and evidence bundles."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator

import pytest
from server_world import InProcessApp

from sealog.crypto import SigningKey
from sealog.ledger import Ledger, verify_bundle


@pytest.fixture
def served() -> Iterator[tuple[InProcessApp, SigningKey]]:
    """An app over a ledger holding an agent's 300 actions (one full tile and a partial)."""
    ledger = Ledger.in_memory()
    owner, agent = SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(agent, owner)
    ledger.submit([ledger.sign_next(agent, "action", {"action": f"a{i}"}) for i in range(300)])
    app = InProcessApp(ledger, max_bundle_entries=500)
    yield app, agent
    app.close()


def get(app: InProcessApp, path: str):
    return app.run(app.http.get(path))


def test_the_checkpoint_is_a_short_lived_text_note(served):
    """/checkpoint is the signed note as text/plain; charset=utf-8, cached a second at most."""
    app, _ = served
    answer = get(app, "/checkpoint")
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["cache-control"] == "public, max-age=1"
    assert answer.text == app.ledger.checkpoint()


def test_tiles_are_immutable_octets_and_entries_hash_to_them(served):
    """A full level-0 tile is 8,192 bytes; the entry bundle's leaves hash to it exactly."""
    app, _ = served
    full = get(app, "/tile/0/000")
    assert full.status_code == 200
    assert full.headers["content-type"] == "application/octet-stream"
    assert "immutable" in full.headers["cache-control"]
    assert len(full.content) == 8192
    bundle, at, leaves = get(app, "/tile/entries/000").content, 0, []
    while at < len(bundle):
        (n,) = struct.unpack_from(">H", bundle, at)
        leaves.append(hashlib.sha256(b"\x00" + bundle[at + 2 : at + 2 + n]).digest())
        at += 2 + n
    assert b"".join(leaves) == full.content
    width = app.ledger.size() - 256
    assert len(get(app, f"/tile/0/001.p/{width}").content) == 32 * width


@pytest.mark.parametrize(
    ("path", "status"),
    [("/tile/0/001", 404), ("/tile/1/000", 404), ("/tile/0/002.p/1", 404),
     ("/tile/0/1", 400), ("/tile/99/000", 400), ("/tile/entries/000.p/300", 400)],
)  # fmt: skip
def test_missing_or_malformed_tiles_are_problems(served, path, status):
    """A tile beyond the tree is 404; a path not in C2SP's shape is 400; both problem+json."""
    app, _ = served
    answer = get(app, path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_an_agents_bundle_over_http_verifies_offline(served):
    """GET /bundle?agent= is a partial bundle with proofs that verify_bundle accepts."""
    app, agent = served
    bundle = get(app, f"/bundle?agent={agent.address}").json()
    assert bundle["scope"]["agent"] == agent.address
    report = verify_bundle(bundle, log_vkey=app.ledger.vkey)
    assert report.ok
    assert sum(1 for e in bundle["entries"] if "proof" in e) == len(bundle["entries"])


def test_a_full_bundle_is_the_whole_log(served):
    """GET /bundle with no scope holds every entry, index i at place i."""
    app, _ = served
    bundle = get(app, "/bundle").json()
    assert [e["index"] for e in bundle["entries"]] == list(range(app.ledger.size()))
    assert verify_bundle(bundle, log_vkey=app.ledger.vkey).ok


def test_bundles_past_the_limit_or_with_bad_filters_are_refused(served):
    """Over max_bundle_entries is a 400 bundle-too-large; a bad time or address is a 400."""
    app, _ = served
    too_big = InProcessApp(app.ledger, max_bundle_entries=10)
    try:
        answer = too_big.run(too_big.http.get("/bundle"))
        assert answer.status_code == 400
        assert answer.json()["type"].endswith("/bundle-too-large")
    finally:
        too_big.close()
    assert get(app, "/bundle?since=yesterday").status_code == 400
    assert get(app, "/bundle?agent=nobody").status_code == 400
    unknown = "sl1" + "0" * 40
    assert get(app, f"/bundle?agent={unknown}").status_code == 404
