"""Schemathesis against /openapi.json, in process: no 5xx, every response as the schema says.

The app serves a real in-memory ledger holding an owner, its agent, a sealed policy, a session
and a decided action. Every generated request is signed (so writes get past authentication into body
checks and the ledger), and half the positive cases are built on values the ledger knows
(addresses, the session, entry ids, one valid body per write), so reads find things and writes
land; examples are bounded and derandomized, so
the run is the same every time and takes seconds.

Schemathesis's own pytest plugin (``schema.parametrize()``) fails under pytest 9 (it reads
``Function._nodeid``), so the operations are parametrized here and driven through its Python API:
``APIOperation.as_strategy(mode)`` and ``Case.call_and_validate``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient, shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from sealog.crypto import SigningKey
from sealog.ledger import Ledger, SignedEntry
from sealog.ledger.entry import parse_time
from sealog.policy import load_policy
from sealog.server import Settings, create_app
from sealog.service import Service
from sealog.signed_request import sign_request

EXAMPLES = 25
"""Generated requests per operation and mode (positive and negative)."""
POLICY = "actions: {allow: [transfer]}\n"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _wire(entry: SignedEntry) -> dict[str, str]:
    return {"entry": base64.b64encode(entry.data).decode(),
            "sig": base64.b64encode(entry.signature).decode()}  # fmt: skip


@dataclass
class World:
    """The served app, its keys, and known-good values to seed requests with."""

    app: Any
    owner: SigningKey
    agent: SigningKey
    path_seeds: dict[str, list[Any]]
    bodies: dict[str, Any]
    """A valid body per write, by operation ("POST /logs")."""


def _fill(ledger: Ledger, owner: SigningKey, agent: SigningKey) -> dict[str, list[Any]]:
    """Owner, agent, policy, session s1 and one decided action, stored through the service."""
    svc = Service(ledger)
    own = {"subject": owner.address, "public_key": owner.public_key.b64, "role": "owner"}
    its = {"subject": agent.address, "public_key": agent.public_key.b64, "role": "agent"}
    svc.submit([ledger.sign_next(owner, "register", own),
                ledger.sign_next(owner, "register", its)])  # fmt: skip
    fields = {"agent": agent.address, "version": 1, "document": POLICY, "format": "yaml",
              "policy_hash": load_policy(POLICY).hash()}  # fmt: skip
    svc.submit([ledger.sign_next(owner, "policy", fields)])
    svc.submit([ledger.sign_next(agent, "session", {"session_id": "s1", "event": "start"})])
    draft = svc.draft_decision(agent.address, "s1", "transfer", estimate=Decimal(1))
    decision = ledger.sign_next(agent, "decision", draft.fields, time=parse_time(draft.time))
    action = ledger.sign_next(agent, "action", {"action": "transfer", "session_id": "s1",
                                                "decision": decision.id})  # fmt: skip
    svc.submit([decision, action])
    platform = SigningKey.generate()
    platform_reg = {"subject": platform.address, "public_key": platform.public_key.b64,
                    "role": "owner"}  # fmt: skip
    joined = ledger.sign_next(platform, "register", platform_reg)
    report = ledger.sign_next(platform, "report", _report(agent.address))
    svc.submit([joined, report])
    return {
        "address": [owner.address, agent.address],
        "session_id": ["s1"],
        "entry_id": ["0", "5", decision.id, action.id],
        "index": [0, 3, 5],
        "path": ["0/000.p/5", "entries/000.p/3", "0/000", "1/000.p/1"],
        "report_id": [report.id],
    }


def _report(subject: str) -> dict[str, Any]:
    return {"subject": subject, "category": "spam", "severity": "low",
            "action_observed": "post_reply",
            "observed_at": "2026-11-21T09:00:00.000000Z"}  # fmt: skip


def _bodies(ledger: Ledger, owner: SigningKey, agent: SigningKey) -> dict[str, Any]:
    """One valid body per write (each succeeds once, then conflicts with the log)."""
    newcomer = SigningKey.generate()
    fields = {"agent": agent.address, "version": 2, "document": POLICY, "format": "yaml",
              "policy_hash": load_policy(POLICY).hash()}  # fmt: skip
    reg = {"subject": newcomer.address, "public_key": newcomer.public_key.b64, "role": "agent"}
    # Signed in the order the operations run (schema order), so each lands on its chain.
    batch = {
        "entries": [
            _wire(ledger.sign_next(agent, "session", {"session_id": "s2", "event": "start"}))
        ]
    }
    one = _wire(ledger.sign_next(agent, "session", {"session_id": "s3", "event": "start"}))
    return {
        "POST /entries": batch,
        "POST /logs": one,
        "POST /agents": {"entries": [_wire(ledger.sign_next(owner, "register", reg))]},
        "POST /policies": _wire(ledger.sign_next(owner, "policy", fields)),
        "POST /sessions/{session_id}/draft": {"action": "transfer", "args": {"amount": 1}},
        "POST /reports": _wire(ledger.sign_next(owner, "report", _report(agent.address))),
    }  # fmt: skip


class SigningClient(ASGIClient):
    """Schemathesis's in-process client, signing every request: drafts as the agent (whose
    session s1 is), everything else as its owner."""

    def __init__(self, world: World) -> None:
        super().__init__(world.app)
        self.world = world

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = urlsplit(str(request.url))
        target = url.path + (f"?{url.query}" if url.query else "")  # as sent, still encoded
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else body
        assert isinstance(raw, bytes)
        key = self.world.agent if url.path.endswith("/draft") else self.world.owner
        request.headers.update(sign_request(key, str(request.method), target, raw))
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """The app over the filled ledger (no rate limit)."""
    owner, agent = SigningKey.generate(), SigningKey.generate()
    ledger = Ledger.in_memory()
    seeds = _fill(ledger, owner, agent)
    app = create_app(Settings(ledger=ledger, rate=0))
    yield World(app, owner, agent, seeds, _bodies(ledger, owner, agent))
    shutdown_lifespans()
    ledger.close()


@pytest.fixture(scope="module")
def api_schema(world):
    return schemathesis.openapi.from_asgi("/openapi.json", world.app)


@pytest.fixture(scope="module")
def client(world) -> Iterator[SigningClient]:
    with SigningClient(world) as session:
        yield session


def _seeded(operation: Any, world: World, label: str) -> st.SearchStrategy[Any]:
    """Positive cases built on values the ledger knows, so reads find things and writes land."""
    names = [p.name for p in operation.path_parameters]
    options: dict[str, Any] = {}
    if names and all(n in world.path_seeds for n in names):
        options["path_parameters"] = st.fixed_dictionaries(
            {n: st.sampled_from(world.path_seeds[n]) for n in names}
        )
    if label == "GET /proofs/consistency":
        options["query"] = st.fixed_dictionaries({"old": st.integers(0, 6)})
    if label in world.bodies:
        options["body"] = st.just(world.bodies[label])
    if not options:
        return operation.as_strategy(GenerationMode.POSITIVE)
    return st.fixed_dictionaries(options).flatmap(
        lambda chosen: operation.as_strategy(GenerationMode.POSITIVE, **chosen)
    )


def _cases() -> list[tuple[str, GenerationMode]]:
    """Every documented operation with each mode that can make requests for it.

    Read from a fresh app's schema (no ledger is opened); an operation without parameters or
    body has no invalid request to make, so it runs in positive mode only.
    """
    spec = create_app(Settings()).openapi()
    return [
        (f"{method.upper()} {path}", mode)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        for mode in GenerationMode
        if mode is GenerationMode.POSITIVE or op.get("parameters") or op.get("requestBody")
    ]


@pytest.mark.parametrize(("operation", "mode"), _cases(), ids=lambda v: getattr(v, "value", v))
def test_every_operation_conforms(api_schema, client, world, operation, mode):
    """Every operation answers generated requests without 5xx and exactly as its schema says."""
    method, path = operation.split(" ", 1)

    found = api_schema[path][method]
    generated = found.as_strategy(mode)
    if mode is GenerationMode.POSITIVE:
        generated = st.one_of(generated, _seeded(found, world, operation))

    @given(case=generated)
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case):
        case.call_and_validate(session=client, checks=CHECKS)

    run()


def test_the_schema_is_openapi_3_1_with_problem_errors(api_schema):
    """/openapi.json is OpenAPI 3.1 and every operation declares its problem+json errors."""
    raw = api_schema.raw_schema
    assert raw["openapi"].startswith("3.1")
    for path, item in raw["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert {"413", "429"} <= codes, (method, path)
            if method == "post":
                assert {"400", "401", "403", "409"} <= codes, (method, path)
            problem = operation["responses"]["429"]["content"]["application/problem+json"]
            assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in raw["components"]["schemas"]
