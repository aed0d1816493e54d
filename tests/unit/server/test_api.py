"""The HTTP API route by route, in process: signed writes, public reads, problem+json errors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from server_world import InProcessApp, wire

from sealog.crypto import SigningKey
from sealog.gate.session import owner_kill_fields
from sealog.ledger import Ledger, SignedEntry
from sealog.ledger.entry import parse_time
from sealog.policy import load_policy
from sealog.signed_request import sign_request

POLICY = """
actions: {allow: [transfer, post_reply]}
aggregates: [{sum: amount, actions: [transfer], window: 24h, max: 1000, unit: "$"}]
"""


class Api(InProcessApp):
    """The in-process app with this file's request helpers."""

    def get(self, path: str) -> httpx.Response:
        return self.loop.run_until_complete(self.http.get(path))

    def post(self, path: str, key: SigningKey | None, body: Any, **headers: str) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        signed = sign_request(key, "POST", path, raw) if key is not None else {}
        merged = {"content-type": "application/json", **signed, **headers}
        return self.loop.run_until_complete(self.http.post(path, content=raw, headers=merged))


@pytest.fixture
def api() -> Iterator[Api]:
    """The app over a fresh in-memory ledger."""
    served = Api(Ledger.in_memory())
    yield served
    served.close()


@pytest.fixture
def keys() -> tuple[SigningKey, SigningKey]:
    return SigningKey.generate(), SigningKey.generate()


def registrations(ledger: Ledger, owner: SigningKey, agent: SigningKey) -> list[SignedEntry]:
    own = {"subject": owner.address, "public_key": owner.public_key.b64, "role": "owner"}
    its = {"subject": agent.address, "public_key": agent.public_key.b64, "role": "agent"}
    return [ledger.sign_next(owner, "register", own), ledger.sign_next(owner, "register", its)]


@pytest.fixture
def registered(api, keys):
    """An owner and its agent registered over HTTP, the policy sealed, session s1 started."""
    owner, agent = keys
    assert (
        api.post(
            "/agents",
            owner,
            {"entries": [wire(e) for e in registrations(api.ledger, owner, agent)]},
        ).status_code
        == 201
    )
    fields = {
        "agent": agent.address,
        "version": 1,
        "document": POLICY,
        "format": "yaml",
        "policy_hash": load_policy(POLICY).hash(),
    }
    policy = api.ledger.sign_next(owner, "policy", fields)
    assert api.post("/policies", owner, wire(policy)).status_code == 201
    start = api.ledger.sign_next(agent, "session", {"session_id": "s1", "event": "start"})
    assert api.post("/logs", agent, wire(start)).status_code == 201
    return owner, agent


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"https://sealog.dev/problems/{code}"
    assert body["status"] == status
    assert body["detail"]
    return body


def test_an_unregistered_agent_is_a_404_problem(api):
    """GET /agents/{address} answers 404 problem+json for an unknown address (the seed check)."""
    problem(api.get("/agents/sl1" + "0" * 40), 404, "not-found")


def test_registration_then_lookup_with_stats(api, registered):
    """A registered agent answers its registration, policy version and track."""
    _, agent = registered
    body = api.get(f"/agents/{agent.address}").json()
    assert body["role"] == "agent"
    assert body["policy_version"] == 1
    assert body["stats"] == {
        "entries": 1,
        "denied_actions": 0,
        "sessions_killed": 0,
        "reports_received": 0,
        "reports_open": 0,
        "reports_acknowledged": 0,
        "reports_disputed": 0,
        "decisions": 0,
        "reputation": 100,
    }


def test_a_decision_drafted_signed_and_logged_answers_its_policy_match(api, registered):
    """Draft → sign → submit decision and action together: policy_match and policy_version."""
    _, agent = registered
    draft = api.post("/sessions/s1/draft", agent, {"action": "transfer", "args": {"amount": 1500}})
    assert draft.status_code == 200
    d = draft.json()
    assert d["outcome"] == "deny"
    decision = api.ledger.sign_next(agent, "decision", d["fields"], time=parse_time(d["time"]))
    action = api.ledger.sign_next(
        agent, "action", {"action": "transfer", "session_id": "s1", "decision": decision.id}
    )
    out = api.post("/entries", agent, {"entries": [wire(decision), wire(action)]})
    assert out.status_code == 201
    assert [(r["kind"], r["policy_match"], r["policy_version"]) for r in out.json()["results"]] == [
        ("decision", "denied", 1),
        ("action", "denied", 1),
    ]
    assert api.get(f"/agents/{agent.address}").json()["stats"]["denied_actions"] == 1


def test_a_forged_decision_is_a_409_and_nothing_is_stored(api, registered):
    """A decision the gate would not make is refused: 409 decision-mismatch, log unchanged."""
    _, agent = registered
    d = api.post(
        "/sessions/s1/draft", agent, {"action": "transfer", "args": {"amount": 1500}}
    ).json()
    forged = dict(d["fields"], outcome="allow", failed=[], risk=0, decision_class="allowed")
    del forged["blocking_rule"]
    size = api.ledger.size()
    entry = api.ledger.sign_next(agent, "decision", forged, time=parse_time(d["time"]))
    problem(api.post("/logs", agent, wire(entry)), 409, "decision-mismatch")
    api.ledger.release([entry])
    assert api.ledger.size() == size


def test_verify_answers_the_seed_fields(api, registered):
    """GET /verify/{id}: signature_valid, chain_intact, included with proof, policy_at_time."""
    _, agent = registered
    d = api.post("/sessions/s1/draft", agent, {"action": "post_reply"}).json()
    decision = api.ledger.sign_next(agent, "decision", d["fields"], time=parse_time(d["time"]))
    receipt = api.post("/logs", agent, wire(decision)).json()
    body = api.get(f"/verify/{receipt['id']}").json()
    assert body["signature_valid"] is body["chain_intact"] is body["included"] is True
    assert body["proof"]["index"] == receipt["index"]
    assert body["policy_at_time"]["version"] == 1
    assert body["policy_at_time"]["recomputed"] == "matches"
    chain = api.get(f"/verify/chain/{agent.address}").json()
    assert (chain["total_entries"], chain["chain_intact"], chain["complete"]) == (2, True, True)


def test_checkpoint_and_proofs_are_public(api, registered):
    """The checkpoint is the signed note; proofs come as RFC 9162 hashes."""
    note = api.get("/checkpoint").text
    assert note.splitlines()[1] == str(api.ledger.size())
    assert api.get("/proofs/inclusion/0").json()["index"] == 0
    assert api.get("/proofs/consistency?old=1").json()["old_size"] == 1
    problem(api.get(f"/proofs/inclusion/{api.ledger.size() + 5}"), 400, "usage")


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ("no headers", "unauthorized"),
        ("bad signature", "bad-request-signature"),
        ("stale", "stale-request"),
        ("replayed", "replayed-request"),
    ],
)
def test_writes_need_a_fresh_valid_signature(api, registered, tamper, code):
    """Unsigned, mis-signed, stale and replayed writes are 401 problems; nothing is stored."""
    _, agent = registered
    entry = api.ledger.sign_next(agent, "action", {"action": "post_reply"})
    raw = json.dumps(wire(entry)).encode()
    size = api.ledger.size()
    headers = sign_request(
        agent, "POST", "/logs", raw, now=time.time() - 3600 if tamper == "stale" else None
    )
    if tamper == "no headers":
        headers = {}
    if tamper == "bad signature":
        headers = sign_request(agent, "POST", "/logs", raw + b" ")
    if tamper == "replayed":
        assert api.post("/logs", None, raw, **headers).status_code == 201
        size = api.ledger.size()
    problem(api.post("/logs", None, raw, **headers), 401, code)
    assert api.ledger.size() == size


def test_a_request_may_not_carry_someone_elses_entries(api, registered):
    """Another registered author cannot deliver the agent's signed entries as its own."""
    owner, agent = registered
    stranger = SigningKey.generate()
    reg = api.ledger.sign_next(
        stranger,
        "register",
        {"subject": stranger.address, "public_key": stranger.public_key.b64, "role": "owner"},
    )
    assert api.post("/agents", stranger, {"entries": [wire(reg)]}).status_code == 201
    entry = api.ledger.sign_next(agent, "action", {"action": "post_reply"})
    problem(api.post("/logs", stranger, wire(entry)), 403, "not-your-entry")
    assert api.post("/logs", owner, wire(entry)).status_code == 201  # its owner may relay it


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"entries": []}, 400, "invalid-request"),
        ({"entries": [{"entry": "!!", "sig": "AA=="}]}, 422, "bad-field"),
        ({"entry": "e30=", "sig": "A" * 88}, 400, "invalid-request"),
        (b"{not json", 400, "invalid-request"),
    ],
)
def test_malformed_bodies_are_4xx_problems(api, registered, body, status, code):
    """Malformed submissions get a specific 4xx problem, never a 500."""
    _, agent = registered
    problem(api.post("/entries", agent, body), status, code)


def test_an_oversized_body_is_413(api, registered):
    """A body past the limit is refused before it is read."""
    _, agent = registered
    problem(api.post("/entries", agent, b"x" * (32 * 1024 * 1024 + 1)), 413, "too-large")


def test_an_oversized_chunked_body_is_cut_off_with_413(ledger_limit_api):
    """A body with no Content-Length is counted as it streams and refused past the limit."""

    async def chunks():
        for _ in range(8):
            yield b"x" * 1024

    api = ledger_limit_api
    response = api.loop.run_until_complete(api.http.post("/entries", content=chunks()))
    problem(response, 413, "too-large")


@pytest.fixture
def ledger_limit_api() -> Iterator[Api]:
    """The app with a 4 KiB body limit."""
    served = Api(Ledger.in_memory(), max_body=4096)
    yield served
    served.close()


def test_a_retried_write_with_its_idempotency_key_is_answered_once(api, registered):
    """The same Idempotency-Key and body, signed afresh, answers the first receipt; stored once."""
    _, agent = registered
    body = wire(api.ledger.sign_next(agent, "action", {"action": "post_reply"}))
    first = api.post("/logs", agent, body, **{"idempotency-key": "k1"})
    size = api.ledger.size()
    again = api.post("/logs", agent, body, **{"idempotency-key": "k1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert api.ledger.size() == size
    other = wire(api.ledger.sign_next(agent, "action", {"action": "post_reply"}))
    problem(
        api.post("/logs", agent, other, **{"idempotency-key": "k1"}), 422, "idempotency-key-reused"
    )


def test_a_request_whose_key_is_still_in_flight_is_a_409_and_stores_nothing(api, registered):
    """While a write with a key is being answered, another with that key is refused at once."""
    _, agent = registered
    body = wire(api.ledger.sign_next(agent, "action", {"action": "post_reply"}))
    size = api.ledger.size()
    with api.app.state.idempotency.claim((agent.address, "k2")):
        problem(
            api.post("/logs", agent, body, **{"idempotency-key": "k2"}),
            409,
            "idempotency-key-in-flight",
        )
    assert api.ledger.size() == size
    assert api.post("/logs", agent, body, **{"idempotency-key": "k2"}).status_code == 201


@pytest.mark.parametrize("route", ["/agents", "/policies"])
def test_registrations_and_policies_take_idempotency_keys_too(api, keys, route):
    """A retried registration or policy with its key gets its first answer, not a conflict."""
    owner, agent = keys
    entries = registrations(api.ledger, owner, agent)
    first = api.post(
        "/agents", owner, {"entries": [wire(e) for e in entries]}, **{"idempotency-key": "r"}
    )
    if route == "/policies":
        fields = {
            "agent": agent.address,
            "version": 1,
            "document": POLICY,
            "format": "yaml",
            "policy_hash": load_policy(POLICY).hash(),
        }
        body = wire(api.ledger.sign_next(owner, "policy", fields))
        first = api.post(route, owner, body, **{"idempotency-key": "p"})
        again = api.post(route, owner, body, **{"idempotency-key": "p"})
    else:
        again = api.post(
            route, owner, {"entries": [wire(e) for e in entries]}, **{"idempotency-key": "r"}
        )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()


def test_the_owner_kills_a_session_over_http(api, registered):
    """POST /sessions/{id}/kill with the owner's signed kill: 201; the next draft is a kill."""
    owner, agent = registered
    kill = wire(api.ledger.sign_next(owner, "session", owner_kill_fields(agent.address, "s1", "x")))
    problem(api.post("/sessions/s2/kill", owner, kill), 400, "usage")
    answer = api.post("/sessions/s1/kill", owner, kill)
    assert answer.status_code == 201, answer.text
    draft = api.post("/sessions/s1/draft", agent, {"action": "post_reply"})
    assert draft.json()["outcome"] == "kill"
    assert api.get(f"/agents/{agent.address}").json()["stats"]["sessions_killed"] == 1


def test_a_stranger_cannot_kill_an_agents_session_over_http(api, registered):
    """A kill signed by another owner is refused (409 not-allowed); nothing is stored."""
    _, agent = registered
    stranger = SigningKey.generate()
    own = {"subject": stranger.address, "public_key": stranger.public_key.b64, "role": "owner"}
    assert (
        api.post(
            "/agents",
            stranger,
            {"entries": [wire(api.ledger.sign_next(stranger, "register", own))]},
        ).status_code
        == 201
    )
    kill = wire(
        api.ledger.sign_next(stranger, "session", owner_kill_fields(agent.address, "s1", "x"))
    )
    size = api.ledger.size()
    problem(api.post("/sessions/s1/kill", stranger, kill), 409, "not-allowed")
    assert api.ledger.size() == size


def report_of(subject: str, **extra: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "category": "unlogged_action",
        "severity": "high",
        "action_observed": "post_reply",
        "target": "forum://t/1",
        "observed_at": "2026-11-21T09:00:00.000000Z",
        **extra,
    }


def joined(api: Api, key: SigningKey) -> SigningKey:
    own = {"subject": key.address, "public_key": key.public_key.b64, "role": "owner"}
    entry = api.ledger.sign_next(key, "register", own)
    assert api.post("/agents", key, {"entries": [wire(entry)]}).status_code == 201
    return key


def test_a_platform_reports_an_agent_which_answers_over_http(api, registered):
    """POST /reports, GET the agent's reports, POST a response, GET the report: all signed."""
    _, agent = registered
    platform = joined(api, SigningKey.generate())
    entry = api.ledger.sign_next(platform, "report", report_of(agent.address))
    filed = api.post("/reports", platform, wire(entry))
    assert filed.status_code == 201, filed.text
    report_id = filed.json()["id"]
    listed = api.get(f"/agents/{agent.address}/reports").json()
    assert [(r["id"], r["status"]) for r in listed["reports"]] == [(report_id, "open")]
    assert (listed["received"], listed["open"]) == (1, 1)
    answer = {"report": report_id, "acknowledged": True}
    body = wire(api.ledger.sign_next(agent, "response", answer))
    assert api.post(f"/reports/{report_id}/responses", agent, body).status_code == 201
    one = api.get(f"/reports/{report_id}").json()
    assert one["status"] == "acknowledged"
    assert one["corroboration"]["verdict"] in {"not-logged", "undetermined"}
    stats = api.get(f"/agents/{agent.address}").json()["stats"]
    assert (stats["reports_received"], stats["reports_acknowledged"]) == (1, 1)


def test_bad_reports_and_answers_over_http_store_nothing(api, registered):
    """An unknown subject, a stranger's answer and a mismatched route are refused."""
    _, agent = registered
    platform = joined(api, SigningKey.generate())
    size = api.ledger.size()
    unknown = report_of(SigningKey.generate().address)
    problem(
        api.post("/reports", platform, wire(api.ledger.sign_next(platform, "report", unknown))),
        422,
        "unknown-subject",
    )
    entry = api.ledger.sign_next(platform, "report", report_of(agent.address))
    filed = api.post("/reports", platform, wire(entry))
    report_id = filed.json()["id"]
    size = api.ledger.size()
    stranger = wire(
        api.ledger.sign_next(platform, "response", {"report": report_id, "acknowledged": True})
    )
    problem(api.post(f"/reports/{report_id}/responses", platform, stranger), 409, "not-allowed")
    problem(api.post(f"/reports/{'0' * 64}/responses", platform, stranger), 400, "usage")
    problem(api.get(f"/reports/{'ab' * 32}"), 404, "not-found")
    assert api.ledger.size() == size


def test_an_owner_approves_an_ask_over_http(api, registered):
    """A pending ask is listed; POST /approvals by the owner approves it; a stranger is refused."""
    owner, agent = registered
    document = POLICY + "ask: [{actions: [post_reply]}]\n"
    fields = {
        "agent": agent.address,
        "version": 2,
        "document": document,
        "format": "yaml",
        "policy_hash": load_policy(document).hash(),
    }
    assert (
        api.post(
            "/policies", owner, wire(api.ledger.sign_next(owner, "policy", fields))
        ).status_code
        == 201
    )
    d = api.post("/sessions/s1/draft", agent, {"action": "post_reply"}).json()
    assert d["outcome"] == "ask"
    decision = api.ledger.sign_next(agent, "decision", d["fields"], time=parse_time(d["time"]))
    assert api.post("/logs", agent, wire(decision)).status_code == 201
    pending = api.get(f"/approvals?agent={agent.address}&status=pending").json()["approvals"]
    assert [a["decision"] for a in pending] == [decision.id]
    verdict = {"decision": decision.id, "verdict": "approve"}
    stranger = joined(api, SigningKey.generate())
    problem(
        api.post("/approvals", stranger, wire(api.ledger.sign_next(stranger, "approval", verdict))),
        409,
        "not-allowed",
    )
    assert (
        api.post(
            "/approvals", owner, wire(api.ledger.sign_next(owner, "approval", verdict))
        ).status_code
        == 201
    )
    assert api.get("/approvals?status=approved").json()["approvals"][0]["decision"] == decision.id
    problem(api.get("/approvals?status=maybe"), 400, "invalid-request")


def test_unknown_routes_are_problems_too(api):
    """Even a wrong URL answers problem+json."""
    problem(api.get("/nope"), 404, "not-found")
