"""One scenario suite for the client, run embedded and against a real server on loopback."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from sealog import AsyncClient, Client
from sealog.client._transport import HttpTransport
from sealog.crypto import SigningKey
from sealog.errors import NotFound, SessionKilled, UsageError
from sealog.gate.replay import replay
from sealog.ledger import Ledger
from sealog.server import Settings, create_app

POLICY = """
actions: {allow: [post_reply, transfer]}
aggregates: [{sum: amount, actions: [transfer], window: 24h, max: 1000, unit: "$"}]
violations: {thresholds: {pii_blocked: 2}, on_threshold: kill}
"""


class Served:
    """create_app under uvicorn on 127.0.0.1 (a port it binds itself), over ``ledger``."""

    def __init__(self, ledger: Ledger) -> None:
        app = create_app(Settings(ledger=ledger, rate=1e6, burst=10**6))
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                lifespan="on")  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(params=["embedded", "remote"])
def world(request) -> Iterator[tuple[Client, SigningKey, Ledger, str | None]]:
    """A registered agent with POLICY, through the backend named by the parameter."""
    ledger, owner, agent = Ledger.in_memory(), SigningKey.generate(), SigningKey.generate()
    served = None
    if request.param == "remote":
        served = Served(ledger)
        client = Client(served.url, key=agent)
    else:
        client = Client.embedded(ledger, agent)
    client.register(owner, name="forum-bot")
    client.set_policy(owner, POLICY)
    yield client, owner, ledger, None if served is None else served.url
    client.close()
    if served is not None:
        served.close()
    ledger.close()


def test_the_seed_log_action_answers_policy_match_and_version(world):
    """log_action returns allowed or denied with the policy version, both sealed."""
    client, _, ledger, _ = world
    digest = Client.content_hash("hello")
    ok = client.log_action(
        action="post_reply", target="forum://t/1", content_hash=digest, metadata={"model": "m"}
    )
    assert (ok.policy_match, ok.policy_version) == ("allowed", 1)
    bad = client.log_action(action="delete_thread", target="forum://t/1")
    assert (bad.policy_match, bad.policy_version) == ("denied", 1)
    assert ledger.get(bad.entry_id).entry.fields["decision"] == bad.decision_id
    assert replay(ledger.entries()).ok


def test_a_session_holds_the_daily_limit(world):
    """pre_action/post_action through the client: $500 allowed, $600 more denied with reasons."""
    client, _, _, _ = world
    with client.session(run_id="r1") as s:
        first = s.pre_action("transfer", target="acct:1", args={"amount": 500})
        assert first.allowed
        s.post_action(first, cost="0.01")
        second = s.pre_action("transfer", target="acct:1", args={"amount": 600})
        assert (second.outcome, second.blocking_rule) == ("deny", "aggregates[0]")
        assert "over $1,000 daily limit" in second.failed[0]["detail"]


def test_violations_kill_the_session(world):
    """Two recorded violations reach the threshold; the next decision raises SessionKilled."""
    client, _, ledger, _ = world
    s = client.session()
    s.record_violation("pii_blocked")
    s.record_violation("pii_blocked")
    with pytest.raises(SessionKilled):
        s.pre_action("post_reply")
    assert replay(ledger.entries()).ok


def test_verify_and_chain(world):
    """verify answers the seed fields and the decision recomputes; the chain is complete."""
    client, _, _, _ = world
    logged = client.log_action(action="post_reply")
    found = client.verify(logged.entry_id)
    assert (found["signature_valid"], found["chain_intact"], found["included"]) == (True,) * 3
    assert found["policy_at_time"]["recomputed"] == "matches"
    chain = client.verify_chain(client.key.address)
    assert (chain["chain_intact"], chain["complete"]) == (True, True)


def test_bad_input_is_typed(world):
    """Unregistered lookups are NotFound; non-JSON args are a UsageError before any write."""
    client, _, ledger, _ = world
    with pytest.raises(NotFound):
        client.agent("sl1" + "0" * 40)
    s = client.session()
    size = ledger.size()
    with pytest.raises(UsageError):
        s.pre_action("transfer", args={"amount": {1, 2}})
    assert ledger.size() == size


@pytest.mark.parametrize("world", ["remote"], indirect=True)
def test_plain_http_get_answers_the_seed_fields(world):
    """requests.get(f"{url}/verify/{id}") as the seeds do: signature_valid, chain_intact, …"""
    client, _, _, url = world
    logged = client.log_action(action="post_reply")
    body = httpx.get(f"{url}/verify/{logged.entry_id}").json()
    assert body["signature_valid"] is True
    assert body["chain_intact"] is True
    assert body["policy_at_time"]["version"] == 1


class LoseFirstAnswer(httpx.HTTPTransport):
    """Delivers the first POST /entries, then loses its answer (a dropped connection)."""

    lost = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path == "/entries" and not self.lost:
            self.lost = True
            response.read()
            raise httpx.ReadError("connection lost", request=request)
        return response


def test_a_retried_write_is_stored_once_and_answered():
    """A write whose answer was lost is retried; the entries are stored once, receipts return."""
    ledger, owner, agent = Ledger.in_memory(), SigningKey.generate(), SigningKey.generate()
    served = Served(ledger)
    try:
        setup = Client(served.url, key=agent)
        setup.register(owner)
        setup.set_policy(owner, POLICY)
        lossy = httpx.Client(base_url=served.url, transport=LoseFirstAnswer())
        client = Client(key=agent, transport=HttpTransport(served.url, http=lossy))
        size = ledger.size()
        logged = client.log_action(action="post_reply")
        assert logged.policy_match == "allowed"
        assert ledger.size() == size + 3  # the session start, the decision, the action: once
        client.close()
        setup.close()
    finally:
        served.close()


def test_the_async_client_gives_the_same_answers():
    """AsyncClient.log_action answers as the sync client does."""
    ledger, owner, agent = Ledger.in_memory(), SigningKey.generate(), SigningKey.generate()

    async def scenario() -> tuple[str, str]:
        client = AsyncClient.embedded(ledger, agent)
        await client.register(owner)
        await client.set_policy(owner, POLICY)
        ok = await client.log_action("post_reply")
        bad = await client.log_action("wipe")
        await client.aclose()
        return ok.policy_match, bad.policy_match

    assert asyncio.run(scenario()) == ("allowed", "denied")
