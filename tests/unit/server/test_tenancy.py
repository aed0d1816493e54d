"""Tenants route by route: API keys, isolation (404, never 403), filters, stable pagination."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_world import InProcessApp, wire

from sealog.crypto import SigningKey
from sealog.errors import UsageError, VerificationError
from sealog.gate import Gate
from sealog.governance import trace_fields
from sealog.ledger import Ledger
from sealog.ledger.entry import parse_time
from sealog.policy import load_policy
from sealog.server import _listing
from sealog.server._listing import Filters, read_page
from sealog.signed_request import sign_request
from sealog.tenancy import Tenants

POLICY = "actions: {allow: [transfer, wire]}\nask: [{actions: [wire]}]\n"
PRIVATE = ("/entries", "/apps/me", "/sessions/a-s1", "/agents/{agent}/logs")


class Api(InProcessApp):
    """The in-process app with this file's request helpers."""

    def get(self, path: str, key: str | None = None, **params: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return self.loop.run_until_complete(self.http.get(path, params=params, headers=headers))

    def post(self, path: str, signer: SigningKey, body: Any, key: str | None = None):
        raw = json.dumps(body).encode()
        headers = {"content-type": "application/json", **sign_request(signer, "POST", path, raw)}
        if key:
            headers["authorization"] = f"Bearer {key}"
        return self.loop.run_until_complete(self.http.post(path, content=raw, headers=headers))


@dataclass
class Side:
    """One tenant: its app's key, an owner bound to it, and the owner's agent."""

    prefix: str
    key: str
    owner: SigningKey
    agent: SigningKey
    denied: str = ""


@dataclass
class World:
    api: Api
    ledger: Ledger
    store: Path
    a: Side
    b: Side


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"https://sealog.dev/problems/{code}"
    assert body["status"] == status
    assert body["detail"]
    return body


def registrations(ledger: Ledger, owner: SigningKey, agent: SigningKey) -> list[dict[str, str]]:
    own = {"subject": owner.address, "public_key": owner.public_key.b64, "role": "owner"}
    its = {"subject": agent.address, "public_key": agent.public_key.b64, "role": "agent"}
    return [wire(ledger.sign_next(owner, "register", own)),
            wire(ledger.sign_next(owner, "register", its))]  # fmt: skip


def enrol(api: Api, side: Side) -> None:
    """Register the side's owner and agent over HTTP with its API key, and seal the policy."""
    body = {"entries": registrations(api.ledger, side.owner, side.agent)}
    assert api.post("/agents", side.owner, body, side.key).status_code == 201
    fields = {"agent": side.agent.address, "version": 1, "document": POLICY, "format": "yaml",
              "policy_hash": load_policy(POLICY).hash()}  # fmt: skip
    policy = api.ledger.sign_next(side.owner, "policy", fields)
    assert api.post("/policies", side.owner, wire(policy), side.key).status_code == 201


def act(ledger: Ledger, side: Side) -> None:
    """A session through the real gate: allowed, failed, denied, asked; then a denied act."""
    p = side.prefix
    with Gate(ledger, side.agent) as gate:
        s = gate.session(f"{p}-s1", run_id=f"{p}-run1")
        ok = s.pre_action("transfer", target=f"acct://{p}/1", args={"amount": 5})
        s.post_action(ok, metadata={"note": "paid"})
        flop = s.pre_action("transfer", target=f"bank://{p}/2")
        s.post_action(flop, status="failed")
        denied = s.pre_action("delete", target=f"acct://{p}/3")
        asked = s.pre_action("wire", target=f"bank://{p}/4")
        assert (denied.outcome, asked.outcome) == ("deny", "ask")
        s2 = gate.session(f"{p}-s2", run_id=f"{p}-run2")
        s2.post_action(s2.pre_action("transfer", target=f"acct://{p}/5"))
    side.denied = denied.entry_id
    ledger.append(side.agent, "delete", target=f"acct://{p}/3",
                  extra={"session_id": f"{p}-s1", "decision": denied.entry_id})  # fmt: skip


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    """Tenants alpha and beta, each with an owner and agent enrolled under its key and a
    gated session holding allowed, failed, denied and asked decisions."""
    store = tmp_path / "tenants.db"
    with Tenants(store) as tenants:
        _, key_a = tenants.create("alpha")
        _, key_b = tenants.create("beta")
    ledger = Ledger.in_memory()
    api = Api(ledger, tenants=store, rate=0)
    a = Side("a", key_a, SigningKey.generate(), SigningKey.generate())
    b = Side("b", key_b, SigningKey.generate(), SigningKey.generate())
    for side in (a, b):
        enrol(api, side)
    for side in (a, b):
        act(ledger, side)
    yield World(api, ledger, store, a, b)
    api.close()
    ledger.close()


def walk(api: Api, key: str, path: str = "/entries", **params: Any) -> list[dict[str, Any]]:
    """Every page of a listing, following next_cursor."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = api.get(path, key, **params, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        found += r.json()["entries"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return found


def authored(ledger: Ledger, *sides: Side) -> list[int]:
    mine = {s.owner.address for s in sides} | {s.agent.address for s in sides}
    return [s.index for s in ledger.entries() if s.entry.author in mine]


# -- authentication ---------------------------------------------------------------------------


def private_paths(world: World) -> list[str]:
    return [p.replace("{agent}", world.a.agent.address) for p in PRIVATE]


def test_every_private_route_needs_a_key(world):
    """No Authorization header: 401 unauthorized problem+json with a Bearer challenge."""
    for path in private_paths(world):
        r = world.api.get(path)
        problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "key",
    ["garbage", "slk_", "slk_0123456789abcdef_" + "A" * 43, "Basic abc", "slk_" + "x" * 5000],
)
def test_garbage_and_unknown_keys_are_401(world, key):
    """Malformed or unknown keys get the same 401 unauthorized problem on every private route."""
    for path in private_paths(world):
        r = world.api.get(path, key)
        problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_key_is_refused_on_the_next_request(world):
    """Revoking a key (from another connection, as the CLI does) takes effect at once."""
    assert world.api.get("/apps/me", world.a.key).status_code == 200
    key_id = world.a.key.split("_")[1]
    with Tenants(world.store) as tenants:
        tenants.revoke(key_id)
    problem(world.api.get("/apps/me", world.a.key), 401, "unauthorized")
    problem(world.api.get("/entries", world.a.key), 401, "unauthorized")


def test_the_secret_is_never_stored_and_the_file_is_private(world):
    """tenants.db is mode 0600 and holds the key's hash and prefix, never the secret."""
    assert stat.S_IMODE(world.store.stat().st_mode) == 0o600
    secret = world.a.key.split("_", 2)[2]
    for path in world.store.parent.iterdir():
        assert secret.encode() not in path.read_bytes()


# -- isolation, route by route ----------------------------------------------------------------


def test_entries_list_only_the_tenants_authors(world):
    """GET /entries under A's key lists exactly A's owner's and agent's entries, none of B's."""
    for side, other in ((world.a, world.b), (world.b, world.a)):
        listed = walk(world.api, side.key, limit=1000)
        assert [e["index"] for e in listed] == authored(world.ledger, side)
        theirs = {other.owner.address, other.agent.address}
        assert not theirs & {e["author"] for e in listed}


def test_another_tenants_agent_filter_is_404_like_an_unknown_one(world):
    """?agent= naming B's agent under A's key answers 404, the same as a never-registered one."""
    foreign = problem(world.api.get("/entries", world.a.key, agent=world.b.agent.address),
                      404, "not-found")  # fmt: skip
    nobody = "sl1" + "0" * 40
    unknown = problem(world.api.get("/entries", world.a.key, agent=nobody), 404, "not-found")
    assert foreign["detail"].replace(world.b.agent.address, nobody) == unknown["detail"]


def test_another_tenants_agent_logs_are_404(world):
    """GET /agents/{B's agent}/logs under A's key is 404; under B's key it lists B's entries."""
    path = f"/agents/{world.b.agent.address}/logs"
    problem(world.api.get(path, world.a.key), 404, "not-found")
    problem(world.api.get(f"/agents/{world.b.owner.address}/logs", world.a.key), 404, "not-found")
    own = world.api.get(path, world.b.key, limit=1000).json()["entries"]
    assert own
    assert {e["author"] for e in own} == {world.b.agent.address}


def test_another_tenants_session_is_404_like_an_unknown_one(world):
    """GET /sessions/{B's session} under A's key is 404 with the detail an unknown id gets."""
    theirs = problem(world.api.get("/sessions/b-s1", world.a.key), 404, "not-found")
    nothing = problem(world.api.get("/sessions/zz-s1", world.a.key), 404, "not-found")
    assert theirs["detail"].replace("b-s1", "zz-s1") == nothing["detail"]
    mine = world.api.get("/sessions/b-s1", world.b.key)
    assert mine.status_code == 200
    assert mine.json()["agent"] == world.b.agent.address


def test_sessions_are_no_longer_public(world):
    """GET /sessions/{id} without a key is a 401, not the session."""
    problem(world.api.get("/sessions/a-s1"), 401, "unauthorized")


def test_apps_me_shows_only_the_tenants_owners_and_agents(world):
    """GET /apps/me: A's name, its owner (bound by registering with A's key), its agent only."""
    body = world.api.get("/apps/me", world.a.key).json()
    assert body["name"] == "alpha"
    assert body["key_id"] == world.a.key.split("_")[1]
    assert body["owners"] == [world.a.owner.address]
    assert {m["address"] for m in body["members"]} == {world.a.owner.address,
                                                       world.a.agent.address}  # fmt: skip


# -- writes and binding -----------------------------------------------------------------------


def session_start(world: World, side: Side, sid: str) -> dict[str, str]:
    return wire(world.ledger.sign_next(side.agent, "session", {"session_id": sid,
                                                               "event": "start"}))  # fmt: skip


def test_a_write_with_another_apps_key_is_403_wrong_tenant(world):
    """B's agent writing with A's key is refused 403 wrong-tenant, and nothing is stored."""
    size = world.ledger.size()
    r = world.api.post("/logs", world.b.agent, session_start(world, world.b, "x"), world.a.key)
    problem(r, 403, "wrong-tenant")
    assert world.ledger.size() == size
    policy = {"agent": world.b.agent.address, "version": 2, "document": POLICY,
              "format": "yaml", "policy_hash": load_policy(POLICY).hash()}  # fmt: skip
    entry = wire(world.ledger.sign_next(world.b.owner, "policy", policy))
    problem(world.api.post("/policies", world.b.owner, entry, world.a.key), 403, "wrong-tenant")
    assert world.ledger.size() == size


def test_writes_without_a_key_stay_open_and_own_key_writes_pass(world):
    """A signed write needs no API key; with its own app's key it is accepted as well."""
    r = world.api.post("/logs", world.a.agent, session_start(world, world.a, "free"))
    assert r.status_code == 201, r.text
    r = world.api.post("/logs", world.a.agent, session_start(world, world.a, "keyed"), world.a.key)
    assert r.status_code == 201, r.text


def test_a_write_with_a_bad_key_is_401(world):
    """A signed write carrying an unknown bearer key is 401 unauthorized (Bearer challenge)."""
    r = world.api.post("/logs", world.a.agent, session_start(world, world.a, "k"), "slk_nope")
    problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_a_new_owner_registering_with_a_key_is_bound_to_that_app(world):
    """An owner's self-registration carrying B's key binds it to B: B's listings show it."""
    owner, agent = SigningKey.generate(), SigningKey.generate()
    body = {"entries": registrations(world.ledger, owner, agent)}
    assert world.api.post("/agents", owner, body, world.b.key).status_code == 201
    assert owner.address in world.api.get("/apps/me", world.b.key).json()["owners"]
    problem(world.api.get(f"/agents/{agent.address}/logs", world.a.key), 404, "not-found")
    assert world.api.get(f"/agents/{agent.address}/logs", world.b.key).status_code == 200


def test_an_unbound_owner_is_not_bound_by_its_agents_write(tmp_path):
    """An agent's write with a key binds nothing: only the owner's own signature can bind it."""
    store = tmp_path / "t.db"
    with Tenants(store) as tenants:
        _, key = tenants.create("solo")
    ledger = Ledger.in_memory()
    api = Api(ledger, tenants=store, rate=0)
    try:
        owner, agent = SigningKey.generate(), SigningKey.generate()
        body = {"entries": registrations(ledger, owner, agent)}
        assert api.post("/agents", owner, body).status_code == 201
        start = wire(ledger.sign_next(agent, "session", {"session_id": "s", "event": "start"}))
        assert api.post("/logs", agent, start, key).status_code == 201
        assert api.get("/apps/me", key).json()["owners"] == []
    finally:
        api.close()
        ledger.close()


# -- filters ----------------------------------------------------------------------------------


def test_policy_match_denied_is_exactly_denied_decisions_and_actions_citing_them(world):
    """?policy_match=denied: every denied decision of A, every action citing one, nothing else."""
    listed = walk(world.api, world.a.key, policy_match="denied")
    mine = {world.a.agent.address}
    expected = []
    for s in world.ledger.entries():
        f = s.entry.fields
        if s.entry.author not in mine:
            continue
        if (s.entry.kind == "decision" and f["outcome"] == "deny") or (
            s.entry.kind == "action" and f.get("decision") == world.a.denied
        ):
            expected.append(s.index)
    assert [e["index"] for e in listed] == expected
    assert [e["kind"] for e in listed] == ["decision", "action"]
    assert all(e["policy_match"] == "denied" for e in listed)
    seed = world.api.get(f"/agents/{world.a.agent.address}/logs", world.a.key,
                         policy_match="denied")  # fmt: skip
    assert [e["index"] for e in seed.json()["entries"]] == expected


@pytest.mark.parametrize(
    ("params", "expect"),
    [
        ({"policy_match": "allowed"}, lambda e: e["policy_match"] == "allowed"),
        ({"policy_match": "pending_approval"}, lambda e: e["fields"].get("outcome") == "ask"),
        ({"kind": "decision"}, lambda e: e["kind"] == "decision"),
        ({"action": "transfer"}, lambda e: e["fields"].get("action") == "transfer"),
        ({"target_prefix": "bank://"}, lambda e: str(e["fields"].get("target", "")).startswith(
            "bank://")),
        ({"status": "failed"}, lambda e: e["kind"] == "action"
         and e["fields"]["metadata"].get("status") == "failed"),
        ({"run": "a-run2"}, lambda e: e["fields"].get("run_id") == "a-run2"),
        ({"session": "a-s2"}, lambda e: e["fields"].get("session_id") == "a-s2"),
        ({"kind": "action", "status": "ok", "run": "a-run1"},
         lambda e: e["kind"] == "action" and e["fields"]["metadata"].get("status") == "ok"
         and e["fields"].get("run_id") == "a-run1"),
    ],
)  # fmt: skip
def test_each_filter_keeps_exactly_what_it_names(world, params, expect):
    """Each filter (and a combination) keeps exactly the matching entries of the tenant."""
    everything = walk(world.api, world.a.key, limit=1000)
    listed = walk(world.api, world.a.key, limit=2, **params)
    assert listed
    assert listed == [e for e in everything if expect(e)]


def test_since_and_until_bound_entry_time(world):
    """since is inclusive and until exclusive, on the entry's own time (RFC 3339 with offset)."""
    everything = walk(world.api, world.a.key, limit=1000)
    middle = parse_time(everything[len(everything) // 2]["time"])
    as_text = middle.astimezone(UTC).isoformat()
    later = walk(world.api, world.a.key, since=as_text)
    earlier = walk(world.api, world.a.key, until=as_text)
    assert later == [e for e in everything if parse_time(e["time"]) >= middle]
    assert earlier == [e for e in everything if parse_time(e["time"]) < middle]
    offset = (middle + timedelta(hours=2)).astimezone().isoformat()
    assert walk(world.api, world.a.key, until=offset) == everything


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"cursor": "not-a-cursor"}, "invalid-cursor"),
        ({"cursor": base64.urlsafe_b64encode(b"other:12").decode()}, "invalid-cursor"),
        ({"policy_match": "maybe"}, "invalid-request"),
        ({"limit": 0}, "invalid-request"),
        ({"limit": 1001}, "invalid-request"),
        ({"since": "2025-01-01T00:00:00"}, "invalid-request"),
        ({"agent": "bob"}, "invalid-request"),
        ({"nonsense": "1"}, "invalid-request"),
    ],
)
def test_bad_listing_parameters_are_400_problems(world, params, code):
    """Malformed filters and cursors are 400 problems, never a 500."""
    problem(world.api.get("/entries", world.a.key, **params), 400, code)


def test_the_entry_shape_carries_the_signed_bytes(world):
    """A listed entry carries E and S as submitted, so a client can check the signature."""
    first = world.api.get("/entries", world.a.key, limit=1).json()["entries"][0]
    stored = world.ledger.get(first["index"]).entry
    assert base64.b64decode(first["entry"]) == stored.data
    assert base64.b64decode(first["sig"]) == stored.signature
    assert first["id"] == stored.id


# -- pagination -------------------------------------------------------------------------------


def test_pages_are_stable_while_the_log_grows(world):
    """Walking with limit=3 while both tenants append between pages: no duplicates, no skips."""
    seen: list[int] = []
    cursor = None
    n = 0
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = world.api.get("/entries", world.a.key, **params).json()
        seen += [e["index"] for e in body["entries"]]
        if n < 6:  # grow the log under the walk: A's and B's entries
            for side in (world.a, world.b):
                world.ledger.append(side.agent, "note", metadata={"n": n})
            n += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(set(seen))
    assert seen == authored(world.ledger, world.a)


def test_a_scan_budget_gives_short_pages_that_still_walk_everything(world):
    """A bounded scan gives short (even empty) pages with a cursor; walking them misses nothing."""
    authors = {world.a.agent.address, world.a.owner.address}
    denied = Filters(policy_match="denied")
    found, after, pages = [], None, 0
    while True:
        page = read_page(world.ledger, authors, denied, after=after, limit=10, budget=2)
        found += [s.index for s, _ in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        after = _listing.decode_cursor(page.next_cursor)
    assert pages > 3
    everything = read_page(world.ledger, authors, denied, after=None, limit=1000)
    assert found == [s.index for s, _ in everything.items]


def test_many_authors_are_read_in_one_pass_with_the_same_result(world, monkeypatch):
    """Past MERGE_AUTHORS the one-pass scan answers exactly what the per-author merge does."""
    merged = walk(world.api, world.a.key, limit=4)
    monkeypatch.setattr(_listing, "MERGE_AUTHORS", 0)
    assert walk(world.api, world.a.key, limit=4) == merged


# -- the store --------------------------------------------------------------------------------


def test_an_owner_belongs_to_one_app(tmp_path):
    """Binding an owner to a second app is refused (wrong-tenant); binding again is a no-op."""
    owner = SigningKey.generate().address
    with Tenants(tmp_path / "t.db") as tenants:
        tenants.create("one")
        tenants.create("two")
        assert tenants.bind("one", owner).name == "one"
        assert tenants.bind("one", owner).name == "one"
        with pytest.raises(UsageError) as caught:
            tenants.bind("two", owner)
        assert caught.value.code == "wrong-tenant"
        assert tenants.owners("two") == []


def test_keys_authenticate_until_revoked(tmp_path):
    """A key authenticates to its app (last_used set), never after revocation; secrets differ."""
    with Tenants(tmp_path / "t.db") as tenants:
        app, first = tenants.create("one")
        key, second = tenants.new_key("one")
        assert first != second
        assert second.startswith(f"slk_{key.id}_")
        assert key.prefix == second[: len(key.prefix)]
        found, used = tenants.authenticate(second)
        assert (found, used.id) == (app, key.id)
        assert tenants.keys("one")[1].last_used is not None
        tenants.revoke(key.id)
        with pytest.raises(VerificationError):
            tenants.authenticate(second)
        assert tenants.authenticate(first)[0] == app
        tampered = second[:-1] + ("A" if second[-1] != "A" else "B")
        with pytest.raises(VerificationError):
            tenants.authenticate(tampered)


def test_the_default_store_follows_the_settings(tmp_path):
    """Without a tenants path a handed-over ledger gets an empty in-memory store (every key 401)."""
    ledger = Ledger.in_memory()
    api = Api(ledger)
    try:
        assert api.app.state.tenants.path == ":memory:"
        problem(api.get("/apps/me", "slk_0123456789abcdef_" + "A" * 43), 401, "unauthorized")
    finally:
        api.close()
        ledger.close()


def trace_body(ledger: Ledger, agent: SigningKey, status: str, reasoning: str | None,
               keep: bool) -> dict[str, Any]:  # fmt: skip
    record: dict[str, Any] = {"proposedAction": {"action": "transfer", "amount": 5},
                              "status": status, "riskScore": 70, "blockedBy": "aggregates[0]",
                              "durationMs": 12, "sessionKeyHash": "session-key-1"}  # fmt: skip
    if reasoning is not None:
        record["reasoning"] = reasoning
    fields, text = trace_fields(record)
    body = wire(ledger.sign_next(agent, "trace", fields))
    return {**body, "reasoning": text} if keep else body


def test_governance_traces_are_sealed_listed_read_and_their_reasoning_erased(world):
    """POST keeps the reasoning only when sent; GET lists by status; DELETE erases the text."""
    api, a = world.api, world.a
    app_id = api.get("/apps/me", a.key).json()["id"]
    kept = trace_body(world.ledger, a.agent, "blocked", "the amount looked off", keep=True)
    sealed = api.post(f"/apps/{app_id}/traces", a.agent, kept, a.key)
    assert sealed.status_code == 201, sealed.text
    trace = sealed.json()
    assert (trace["status"], trace["reasoning"]) == ("blocked", "the amount looked off")
    assert trace["sessionKeyHash"].startswith("sha256:")
    hashed = trace_body(world.ledger, a.agent, "executed", "not kept", keep=False)
    assert api.post(f"/apps/{app_id}/traces", a.agent, hashed, a.key).status_code == 201
    blocked = api.get(f"/apps/{app_id}/traces", a.key, status="blocked", limit=50).json()
    assert [t["traceHash"] for t in blocked["traces"]] == [trace["traceHash"]]
    listed = api.get(f"/apps/{app_id}/traces", a.key).json()["traces"]
    assert [t["status"] for t in listed] == ["executed", "blocked"]  # newest first
    one = f"/apps/{app_id}/traces/{trace['traceHash']}"
    assert api.get(one, a.key).json()["reasoning"] == "the amount looked off"
    gone = api.loop.run_until_complete(api.http.delete(
        one + "/reasoning", headers={"authorization": f"Bearer {a.key}"}))  # fmt: skip
    assert gone.status_code == 204
    after = api.get(one, a.key).json()
    assert (after["reasoning"], after["reasoningHash"]) == (None, trace["reasoningHash"])
    assert world.ledger.verify().ok


def test_another_apps_traces_and_agents_are_404(world):
    """B's key reads none of A's traces and seals none for A's agent; A's app id is unknown to B."""
    api, a, b = world.api, world.a, world.b
    app_a = api.get("/apps/me", a.key).json()["id"]
    app_b = api.get("/apps/me", b.key).json()["id"]
    body = trace_body(world.ledger, a.agent, "executed", None, keep=False)
    sealed = api.post(f"/apps/{app_a}/traces", a.agent, body, a.key).json()
    problem(api.get(f"/apps/{app_a}/traces", b.key), 404, "not-found")
    problem(api.get(f"/apps/{app_b}/traces/{sealed['traceHash']}", b.key), 404, "not-found")
    foreign = trace_body(world.ledger, a.agent, "executed", None, keep=False)
    problem(api.post(f"/apps/{app_b}/traces", a.agent, foreign, b.key), 404, "not-found")


def test_reasoning_that_does_not_match_its_hash_is_refused(world):
    """Text sent with a trace must hash to its reasoning_hash: 400, nothing stored."""
    api, a = world.api, world.a
    app_id = api.get("/apps/me", a.key).json()["id"]
    body = trace_body(world.ledger, a.agent, "executed", "what was said", keep=True)
    body["reasoning"] = "something else"
    size = world.ledger.size()
    problem(api.post(f"/apps/{app_id}/traces", a.agent, body, a.key), 400, "usage")
    assert world.ledger.size() == size
