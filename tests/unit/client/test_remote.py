"""What only the remote client has: plain HTTP, retries with idempotency keys, problem mapping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from client_backends import BASE, LoseAnAnswer, Served, SyncASGI, app_over

from sealog import AsyncClient, Client
from sealog.client import AsyncEmbeddedClient, AsyncSealogClient
from sealog.client._http import error_for
from sealog.crypto import SigningKey
from sealog.errors import (
    CanonicalError,
    EntryRejected,
    Error,
    InputError,
    NotFound,
    PolicyError,
    SessionKilled,
    StorageError,
    UnavailableError,
    UsageError,
    VerificationError,
)
from sealog.gate.replay import replay
from sealog.ledger import Ledger
from sealog.signed_request import NONCE

POLICY = """
actions: {allow: [post_reply, transfer]}
aggregates: [{sum: amount, actions: [transfer], window: 24h, max: 1000, unit: "$"}]
violations: {thresholds: {pii_blocked: 2}, on_threshold: kill}
"""


@pytest.fixture
def bridge() -> Iterator[SyncASGI]:
    """The app in process over an in-memory ledger."""
    ledger = Ledger.in_memory()
    app = SyncASGI(ledger)
    yield app
    app.stop()
    ledger.close()


@pytest.mark.loopback
def test_a_plain_http_get_answers_the_seed_fields() -> None:
    """httpx.get(f"{url}/verify/{id}") with no client: signature_valid, chain_intact, policy."""
    ledger = Ledger.in_memory()
    served = Served(ledger)
    try:
        owner = SigningKey.generate()
        with Client(served.url, key=SigningKey.generate()) as client:
            client.register(owner)
            client.set_policy(owner, POLICY)
            logged = client.log_action(action="post_reply", target="forum://t/1")
        body = httpx.get(f"{served.url}/verify/{logged.entry_id}").json()
        assert body["signature_valid"] is True
        assert body["chain_intact"] is True
        assert body["policy_at_time"]["version"] == 1
        assert body["policy_at_time"]["recomputed"] == "matches"
    finally:
        served.stop()
        ledger.close()


def test_a_lost_answer_is_retried_with_its_key_and_stored_once(bridge: SyncASGI) -> None:
    """The retry carries the same Idempotency-Key, a fresh nonce; same receipt, stored once."""
    owner, agent = SigningKey.generate(), SigningKey.generate()
    with Client(BASE, key=agent, transport=bridge) as setup:
        setup.register(owner)
        setup.set_policy(owner, POLICY)
    lossy = LoseAnAnswer(bridge, nth=2)  # the 1st write starts the session, the 2nd is the batch
    client = Client(BASE, key=agent, transport=lossy, backoff=0)
    size = bridge.app.state.service.ledger.size()
    logged = client.log_action(action="post_reply")
    assert logged.policy_match == "allowed"
    assert bridge.app.state.service.ledger.size() == size + 3  # start, decision, action: once
    first, retry = lossy.sent[1], lossy.sent[2]
    assert first.headers["idempotency-key"] == retry.headers["idempotency-key"]
    assert first.headers[NONCE] != retry.headers[NONCE]
    assert first.content == retry.content
    assert lossy.lost is not None
    assert json.loads(lossy.lost.content)["results"][1] == dict(logged.receipt)
    assert client.log_action(action="post_reply").policy_match == "allowed"
    client.close()


class Always(httpx.BaseTransport):
    """Answers every request with one status and problem (reads: 404), counting the attempts."""

    def __init__(self, status: int, code: str, *, reads: bool = False) -> None:
        self.status, self.code, self.reads, self.requests = status, code, reads, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, code = self.status, self.code
        if request.method == "GET" and not self.reads:  # nobody is registered yet
            status, code = 404, "not-found"
        problem = {"type": f"https://sealog.dev/problems/{code}", "detail": "as told"}
        return httpx.Response(status, json=problem)


def test_5xx_is_retried_then_typed() -> None:
    """A 503 is retried ``retries`` times, the same Idempotency-Key each time, then StorageError."""
    always = Always(503, "storage")
    client = Client(BASE, key=SigningKey.generate(), transport=always, retries=2, backoff=0)
    with pytest.raises(StorageError, match="as told"):
        client.register(SigningKey.generate())
    writes = [r for r in always.requests if r.method == "POST"]
    assert len(writes) == 3
    assert len({r.headers["idempotency-key"] for r in writes}) == 1
    assert len({r.headers[NONCE] for r in writes}) == 3


def test_a_write_whose_key_is_in_flight_is_retried_with_the_same_key() -> None:
    """409 idempotency-key-in-flight means "ask again": retried, same key, fresh nonce."""
    always = Always(409, "idempotency-key-in-flight")
    client = Client(BASE, key=SigningKey.generate(), transport=always, retries=2, backoff=0)
    with pytest.raises(EntryRejected):
        client.register(SigningKey.generate())
    writes = [r for r in always.requests if r.method == "POST"]
    assert len(writes) == 3
    assert len({r.headers["idempotency-key"] for r in writes}) == 1


def test_a_4xx_is_not_retried() -> None:
    """A refusal is final: one attempt, the typed error with the server's code."""
    always = Always(409, "decision-mismatch", reads=True)
    client = Client(BASE, key=SigningKey.generate(), transport=always, backoff=0)
    with pytest.raises(EntryRejected) as refused:
        client.verify("0")
    assert (refused.value.code, len(always.requests)) == ("decision-mismatch", 1)


def test_an_unreachable_service_is_unavailable() -> None:
    """Connection refused, retried, ends as UnavailableError (never an httpx exception)."""
    client = Client("http://127.0.0.1:1", key=SigningKey.generate(), retries=1, backoff=0)
    with pytest.raises(UnavailableError) as failed:
        client.agent("sl1" + "0" * 40)
    assert failed.value.code == "unavailable"
    assert isinstance(failed.value.__cause__, httpx.TransportError)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (404, "not-found", NotFound),
        (401, "bad-request-signature", VerificationError),
        (403, "wrong-tenant", VerificationError),
        (403, "not-your-entry", EntryRejected),
        (409, "decision-mismatch", EntryRejected),
        (422, "bad-signature", EntryRejected),
        (422, "idempotency-key-reused", UsageError),
        (400, "usage", UsageError),
        (400, "invalid-request", UsageError),
        (400, "bad-policy", PolicyError),
        (400, "not-canonical", CanonicalError),
        (400, "bad-input", InputError),
        (413, "too-large", InputError),
        (429, "rate-limited", UnavailableError),
        (500, "internal", UnavailableError),
        (503, "storage", StorageError),
    ],
)
def test_problems_map_to_the_error_tree(status: int, code: str, kind: type[Error]) -> None:
    """Each problem type comes back as its sealog error, with the code and the server's detail."""
    error = error_for(status, {"type": f"https://sealog.dev/problems/{code}", "detail": "d"})
    assert type(error) is kind
    assert (error.code, error.message) == (code, "d")


async def _scenario(client: AsyncSealogClient, owner: SigningKey) -> list[object]:
    """The suite's scenarios through an async client; what each answered."""
    await client.register(owner, name="bot")
    await client.set_policy(owner, POLICY)
    ok = await client.log_action("post_reply", content_hash=AsyncClient.content_hash("hi"))
    bad = await client.log_action("wipe")
    session = await client.session(run_id="r1")
    async with session:
        first = await session.pre_action("transfer", args={"amount": 500})
        await session.post_action(first, cost="0.01")
        second = await session.pre_action("transfer", args={"amount": 600})
    doomed = await client.session()
    await doomed.record_violation("pii_blocked", count=2)
    with pytest.raises(SessionKilled):
        await doomed.pre_action("post_reply")
    found = await client.verify(ok.entry_id)
    with pytest.raises(NotFound):
        await client.agent("sl1" + "0" * 40)
    info = await client.agent(client.key.address)
    chain = await client.verify_chain(client.key.address)
    return [ok.policy_match, ok.policy_version, bad.policy_match, first.outcome, second.outcome,
            second.blocking_rule, found["signature_valid"], found["policy_at_time"]["recomputed"],
            info.policy_version, info.sessions_killed, chain["ok"]]  # fmt: skip


EXPECTED = ["allowed", 1, "denied", "allow", "deny", "aggregates[0]", True, "matches", 1, 1, True]


def test_the_async_clients_answer_as_the_sync_ones() -> None:
    """AsyncClient over ASGI and AsyncEmbeddedClient run the scenarios to the same answers."""

    async def remote(ledger: Ledger) -> list[object]:
        app = app_over(ledger)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with AsyncClient(BASE, key=SigningKey.generate(), transport=transport) as c:
                return await _scenario(c, SigningKey.generate())

    async def embedded(ledger: Ledger) -> list[object]:
        async with AsyncEmbeddedClient(ledger, SigningKey.generate()) as c:
            return await _scenario(c, SigningKey.generate())

    for run in (remote, embedded):
        with Ledger.in_memory() as ledger:
            assert asyncio.run(run(ledger)) == EXPECTED
            assert replay(ledger.entries()).ok
