"""The platform helper and its ASGI middleware: unregistered and low-scoring agents are refused."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sealog import Client
from sealog.client import AsyncEmbeddedClient
from sealog.crypto import SigningKey
from sealog.ledger import Ledger
from sealog.platform import AgentGate, admit
from sealog.service import Service


@pytest.fixture
def world():
    """An agent with a clean record, one with a poor record (killed and denied), an owner."""
    ledger = Ledger.in_memory()
    owner, good, poor = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(good, owner)
    ledger.register_agent(poor, owner)
    client = Client.embedded(ledger, poor)
    client.set_policy(owner, "actions: {allow: [read]}")
    for session in ("a", "b", "c", "d", "e"):
        with client.session(session) as s:
            s.pre_action("wire", estimate=Decimal(0))  # denied: not allowed
            s.kill("misbehaved")
    client.close()
    yield ledger, owner, good, poor
    ledger.close()


def test_admit_answers_for_registered_unknown_owner_and_poor_records(world):
    """Clean agents pass; unknown keys, owner keys and a poor record are refused with a reason."""
    ledger, owner, good, poor = world
    with Client.embedded(ledger, good) as client:
        assert admit(client, good.address).allowed
        nobody = admit(client, SigningKey.generate().address)
        assert (nobody.allowed, nobody.reason) == (False, "not registered with sealog")
        assert admit(client, owner.address).reason == "an owner key, not an agent"
        low = admit(client, poor.address)
        assert not low.allowed
        assert low.info is not None
        assert low.info.reputation < 50
        assert "below 50" in low.reason
        assert admit(client, poor.address, min_score=0).allowed
        assert not admit(client, "not-an-address").allowed


def test_the_middleware_guards_an_asgi_app(world):
    """401 without the header, 403 for unknown or poor agents, 200 with the admission for good."""
    ledger, _, good, poor = world

    async def hello(request: Request) -> JSONResponse:
        admitted = request.scope["state"]["sealog_agent"]
        return JSONResponse({"agent": admitted.address, "reason": admitted.reason})

    async def main() -> list[httpx.Response]:
        async with AsyncEmbeddedClient(Service(ledger), good) as client:
            app = AgentGate(Starlette(routes=[Route("/list", hello)]), client)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
                return [
                    await http.get("/list"),
                    await http.get(
                        "/list", headers={"x-agent-address": SigningKey.generate().address}
                    ),
                    await http.get("/list", headers={"x-agent-address": poor.address}),
                    await http.get("/list", headers={"x-agent-address": good.address}),
                ]

    missing, unknown, low, ok = asyncio.run(main())
    assert missing.status_code == 401
    assert missing.json()["type"].endswith("/agent-address-required")
    assert (unknown.status_code, low.status_code) == (403, 403)
    assert "not registered" in unknown.json()["detail"]
    assert ok.status_code == 200
    assert ok.json()["agent"] == good.address
