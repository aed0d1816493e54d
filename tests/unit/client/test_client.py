"""One scenario suite for the client, on every backend: embedded, in-process ASGI, real uvicorn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from client_backends import BASE, Served, SyncASGI

from sealog import Client
from sealog.client import EmbeddedClient, SealogClient
from sealog.crypto import SigningKey
from sealog.errors import EntryRejected, Error, NotFound, PolicyError, SessionKilled, UsageError
from sealog.gate.replay import replay
from sealog.ledger import Ledger

POLICY = """
actions: {allow: [post_reply, transfer]}
aggregates: [{sum: amount, actions: [transfer], window: 24h, max: 1000, unit: "$"}]
violations: {thresholds: {pii_blocked: 2}, on_threshold: kill}
"""
BACKENDS = ["embedded", "asgi", pytest.param("uvicorn", marks=pytest.mark.loopback)]


@dataclass
class World:
    """A client of one backend over ``ledger``, its agent registered under ``owner``."""

    client: SealogClient
    owner: SigningKey
    ledger: Ledger
    url: str | None
    connect: Callable[[SigningKey], SealogClient]

    def other(self, key: SigningKey) -> SealogClient:
        """Another client of the same backend, for another key."""
        return self.connect(key)


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """A client with its agent registered and POLICY sealed, through the backend named."""
    ledger, owner, agent = Ledger.in_memory(), SigningKey.generate(), SigningKey.generate()
    stop, url = (lambda: None), None
    if request.param == "embedded":

        def connect(key: SigningKey) -> SealogClient:
            return Client.embedded(ledger, key)
    elif request.param == "asgi":
        bridge = SyncASGI(ledger)
        stop, url = bridge.stop, BASE

        def connect(key: SigningKey) -> SealogClient:
            return Client(BASE, key=key, transport=bridge)
    else:
        served = Served(ledger)
        stop, url = served.stop, served.url

        def connect(key: SigningKey) -> SealogClient:
            return Client(served.url, key=key)

    client = connect(agent)
    client.register(owner, name="forum-bot")
    client.set_policy(owner, POLICY)
    yield World(client, owner, ledger, url, connect)
    client.close()
    stop()
    ledger.close()


def test_register_and_set_policy(world: World) -> None:
    """register seals the owner then the agent; set_policy seals version 1, then 2."""
    info = world.client.agent(world.client.key.address)
    assert (info.role, info.owner, info.name, info.policy_version) == (
        "agent", world.owner.address, "forum-bot", 1)  # fmt: skip
    assert world.client.agent(world.owner.address).role == "owner"
    world.client.set_policy(world.owner, POLICY.replace("transfer]", "transfer, wipe]"))
    assert world.client.agent(world.client.key.address).policy_version == 2
    assert replay(world.ledger.entries()).ok


def test_the_seed_log_action_answers_policy_match_and_version(world: World) -> None:
    """log_action returns allowed or denied with the policy version; decision and action sealed."""
    client = world.client
    digest = Client.content_hash("hello")
    ok = client.log_action(
        action="post_reply", target="forum://t/1", content_hash=digest, metadata={"model": "m"}
    )
    assert (ok.policy_match, ok.policy_version) == ("allowed", 1)
    assert world.ledger.get(ok.entry_id).entry.fields["content_hash"] == digest
    bad = client.log_action(action="delete_thread", target="forum://t/1")
    assert (bad.policy_match, bad.policy_version) == ("denied", 1)
    stored = world.ledger.get(bad.entry_id)
    assert stored.index == bad.index
    assert stored.entry.fields["decision"] == bad.decision_id
    assert world.ledger.get(bad.decision_id).index == bad.index - 1  # one batch, in order
    assert replay(world.ledger.entries()).ok


def test_a_session_holds_the_daily_aggregate(world: World) -> None:
    """pre_action/post_action: $500 allowed and settled, $600 more denied by the $1,000 a day."""
    with world.client.session(run_id="r1") as s:
        first = s.pre_action("transfer", target="acct:1", args={"amount": 500}, estimate="0.01")
        assert (first.outcome, first.allowed, first.policy_version) == ("allow", True, 1)
        s.post_action(first, cost="0.012")
        second = s.pre_action("transfer", target="acct:1", args={"amount": 600})
        assert (second.outcome, second.blocking_rule) == ("deny", "aggregates[0]")
        assert "over $1,000 daily limit" in second.reason
        with pytest.raises(UsageError, match="no action to record"):
            s.post_action(second)
    assert world.ledger.get(first.entry_id).entry.kind == "decision"
    assert replay(world.ledger.entries()).ok


def test_a_violation_threshold_kills_the_session(world: World) -> None:
    """Two violations reach the threshold: the next action is refused with SessionKilled, sealed."""
    client = world.client
    s = client.session()
    s.record_violation("pii_blocked")
    s.record_violation("pii_blocked")
    with pytest.raises(SessionKilled) as killed:
        s.pre_action("post_reply")
    assert killed.value.decision.blocking_rule == "violations.pii_blocked"
    with pytest.raises(SessionKilled):
        client.log_action("post_reply", session_id=s.id)
    assert client.agent(client.key.address).sessions_killed == 1
    assert replay(world.ledger.entries()).ok
    assert client.log_action("post_reply").policy_match == "allowed"  # another session


def test_the_default_session_stays_killed(world: World) -> None:
    """log_action's own session, killed by a cap, keeps refusing: no new session gets around it."""
    world.client.set_policy(
        world.owner, "actions: {allow: [post_reply]}\nsession: {max_actions: 2}"
    )
    assert [world.client.log_action("post_reply").policy_match for _ in "ab"] == ["allowed"] * 2
    for _ in "ab":
        with pytest.raises(SessionKilled):
            world.client.log_action("post_reply")
    assert world.client.agent(world.client.key.address).sessions_killed == 1
    assert replay(world.ledger.entries()).ok


def test_a_manual_kill_refuses_later_actions(world: World) -> None:
    """kill() seals the kill; later pre_actions raise SessionKilled; end() still seals."""
    with world.client.session() as s:
        s.kill("operator pressed stop")
        with pytest.raises(SessionKilled):
            s.pre_action("post_reply")
    assert replay(world.ledger.entries()).ok


def test_the_owner_kills_a_running_session_from_elsewhere(world: World) -> None:
    """An operator with only the owner's key kills the session: the agent's next action is a
    sealed kill, the session counts as killed, and the replay agrees."""
    s = world.client.session()
    assert s.pre_action("post_reply").allowed
    operator = world.other(world.owner)
    receipt = operator.kill_session(world.owner, s.id, "runaway", agent=world.client.key.address)
    operator.close()
    assert receipt["kind"] == "session"
    with pytest.raises(SessionKilled):
        s.pre_action("post_reply")
    assert world.client.agent(world.client.key.address).sessions_killed == 1
    assert replay(world.ledger.entries()).ok
    doomed = "not-started-yet"
    world.client.kill_session(world.owner, doomed, "pre-emptive")
    with pytest.raises(SessionKilled):
        world.client.session(doomed).pre_action("post_reply")
    assert replay(world.ledger.entries()).ok


def test_only_the_owner_kills_a_session(world: World) -> None:
    """Another owner's kill is refused before anything is sealed."""
    s = world.client.session()
    size = world.ledger.size()
    stranger = SigningKey.generate()
    other = world.other(SigningKey.generate())
    other.register(stranger)  # the stranger owns another agent
    other.close()
    with pytest.raises(UsageError, match="not the owner"):
        world.client.kill_session(stranger, s.id, "mine now")
    assert world.ledger.size() == size + 2  # the stranger's registrations only
    assert s.pre_action("post_reply").allowed


def test_a_platform_reports_the_agent_and_the_agent_answers(world: World) -> None:
    """report → reports (open) → respond → get_report (acknowledged, corroborated), any backend."""
    platform = SigningKey.generate()
    world.ledger.register_owner(platform)
    world.client.log_action("post_reply", target="forum://t/9")
    reporter = world.other(platform)
    try:
        seen = world.ledger.get(world.ledger.size() - 1).entry.time
        receipt = reporter.report(world.client.key.address, "unlogged_action", "post_reply",
                                  seen, target="forum://t/9", severity="high")  # fmt: skip
        report_id = receipt["id"]
        listed = reporter.reports(world.client.key.address)
        assert (listed["received"], listed["open"]) == (1, 1)
        world.client.respond(report_id, acknowledged=True, note="yes, it was us")
        found = reporter.get_report(report_id)
    finally:
        reporter.close()
    assert found["status"] == "acknowledged"
    assert found["corroboration"]["verdict"] == "logged"
    assert world.client.agent(world.client.key.address).reports_acknowledged == 1


def test_report_mistakes_are_typed_errors_and_store_nothing(world: World) -> None:
    """A report about nobody, a dispute without evidence, an unknown report: EntryRejected."""
    size = world.ledger.size()
    with pytest.raises(EntryRejected) as nobody:
        world.client.report(SigningKey.generate().address, "spam", "post", "2026-11-21T09:00:00Z")
    assert nobody.value.code == "unknown-subject"
    with pytest.raises(EntryRejected) as unknown:
        world.client.respond("ab" * 32, acknowledged=True)
    assert unknown.value.code == "unknown-report"
    with pytest.raises(EntryRejected) as bare:
        world.client.respond("ab" * 32, acknowledged=False)
    assert bare.value.code == "bad-field"
    assert world.ledger.size() == size


def test_provenance_reads_the_same_on_every_backend(world: World) -> None:
    """The lineage of content the agent sealed, as any client reads it."""
    from sealog.content import content_hash  # noqa: PLC0415 - only this test

    source = content_hash("notes")
    world.client.log_action("research", content_hash="sha256:" + "1" * 64)
    world.client.log_action("draft", content_hash=content_hash("draft"),
                            sources=["sha256:" + "1" * 64, source])  # fmt: skip
    found = world.client.provenance(content_hash("draft"))
    assert [s["action"] for s in found["stages"]] == ["draft", "research"]
    assert found["unknown_sources"] == [source]
    with pytest.raises(NotFound):
        world.client.provenance(content_hash("nothing"))


def test_the_owner_approves_an_ask_through_any_backend(world: World) -> None:
    """An ask is listed pending; the owner approves it; it is listed approved; twice is refused."""
    world.client.set_policy(
        world.owner, "actions: {allow: [transfer]}\nask: [{actions: [transfer]}]"
    )
    session = world.client.session()
    asked = session.pre_action("transfer")
    assert asked.outcome == "ask"
    pending = world.client.approvals(agent=world.client.key.address, status="pending")
    assert [a["decision"] for a in pending] == [asked.entry_id]
    world.client.approve(asked.entry_id, world.owner, reason="fine")
    assert world.client.approvals(status="approved")[0]["decided_by"] == world.owner.address
    assert session.wait_approval(asked, poll=0.01) == "approved"
    assert session.post_action(asked)["kind"] == "action"
    with pytest.raises(EntryRejected) as again:
        world.client.deny(asked.entry_id, world.owner)
    assert again.value.code == "already-decided"
    reviewer = SigningKey.generate()
    world.ledger.register_owner(reviewer)
    world.client.name_approver(world.owner, reviewer.address)
    second = session.pre_action("transfer")
    world.client.deny(second.entry_id, reviewer, reason="not today")
    assert session.wait_approval(second, poll=0.01) == "denied"
    assert replay(world.ledger.entries()).ok


def test_a_governance_trace_is_sealed_by_hash_on_every_backend(world: World) -> None:
    """log_trace seals the record as the agent; its traceHash verifies like any entry."""
    record = {"proposedAction": {"action": "swap", "amount": 3}, "status": "blocked",
              "riskScore": 80, "blockedBy": "limits", "reasoning": "too large a swap"}  # fmt: skip
    receipt = world.client.log_trace(record)
    sealed = world.ledger.get(receipt["traceHash"]).entry
    assert (sealed.kind, sealed.author, sealed.fields["status"]) == (
        "trace", world.client.key.address, "blocked")  # fmt: skip
    assert "reasoning" not in sealed.fields
    assert world.client.verify(receipt["traceHash"])["signature_valid"]
    if world.url is None:
        kept = world.client.log_trace(record, keep_reasoning=True)
        assert kept["traceHash"] != receipt["traceHash"]
    else:
        size = world.ledger.size()
        with pytest.raises(UsageError, match="API key"):
            world.client.log_trace(record, keep_reasoning=True)
        assert world.ledger.size() == size  # refused before anything was sealed
    with pytest.raises(Error):
        world.client.log_trace({"status": "blocked", "proposedAction": {}, "mood": "odd"})


def test_receipts_and_their_join_read_the_same_on_every_backend(world: World) -> None:
    """A run's receipts, and a scanner's artifact joined: match, then digest mismatch."""
    with world.client.session(run_id="run-j") as s:
        s.pre_action("post_reply")
    found = world.client.receipts("run-j")
    assert [r["action"] for r in found] == ["post_reply"]
    artifact = {"tool_call_id": None, "args_digest": found[0]["args_digest"]}
    with pytest.raises(Error):
        world.client.join_receipt("run-j", artifact)
    with pytest.raises(NotFound):
        world.client.receipts("no-run")


def test_verify_an_entry_and_the_chain(world: World) -> None:
    """verify answers signature_valid, chain_intact, included and the decision recomputes."""
    client = world.client
    logged = client.log_action(action="post_reply")
    found = client.verify(logged.entry_id)
    assert (found["signature_valid"], found["chain_intact"], found["included"]) == (True,) * 3
    assert found["policy_at_time"]["recomputed"] == "matches"
    assert found["policy_at_time"]["version"] == 1
    chain = client.verify_chain(client.key.address)
    assert (chain["chain_intact"], chain["complete"], chain["ok"]) == (True, True, True)


def test_bad_inputs_are_typed_errors(world: World) -> None:
    """Unknown agent → NotFound; non-JSON args → UsageError, nothing stored; bad policy typed."""
    client = world.client
    with pytest.raises(NotFound):
        client.agent("sl1" + "0" * 40)
    with pytest.raises(UsageError):
        client.agent("not-an-address")
    s = client.session()
    size = world.ledger.size()
    with pytest.raises(UsageError):
        s.pre_action("transfer", args={"amount": {1, 2}})
    with pytest.raises(UsageError):
        client.log_action("post_reply", metadata={"x": object()})
    with pytest.raises(PolicyError):
        client.set_policy(world.owner, "actions: {allow: 3}")
    with pytest.raises(UsageError, match="not the owner"):
        client.set_policy(SigningKey.generate(), POLICY)
    assert world.ledger.size() == size
    assert client.log_action("post_reply").policy_match == "allowed"  # the chain is unharmed


def test_an_unregistered_key_writing_is_refused(world: World) -> None:
    """A key nobody registered cannot write: EntryRejected ``unknown-author``, nothing stored."""
    stranger = world.other(SigningKey.generate())
    size = world.ledger.size()
    with pytest.raises(EntryRejected) as refused:
        stranger.log_action("post_reply")
    assert refused.value.code == "unknown-author"
    assert world.ledger.size() == size
    stranger.close()


def test_registering_twice_is_refused(world: World) -> None:
    """Registering a registered agent again is EntryRejected ``already-registered``."""
    with pytest.raises(EntryRejected) as refused:
        world.client.register(world.owner)
    assert refused.value.code == "already-registered"


def test_two_clients_of_one_key_follow_each_others_chain(world: World) -> None:
    """A second client of the same key moves the chain; the first re-reads its head and goes on."""
    first = world.client
    first.log_action("post_reply")
    second = world.other(first.key)
    second.log_action("post_reply")
    assert first.log_action("post_reply").policy_match == "allowed"
    second.close()
    assert replay(world.ledger.entries()).ok


def test_the_embedded_client_is_a_client() -> None:
    """Client.embedded gives an EmbeddedClient: the same class tree, the same interface."""
    with Ledger.in_memory() as ledger:
        client = Client.embedded(ledger, SigningKey.generate())
        assert isinstance(client, EmbeddedClient)
        assert isinstance(client, Client)
        assert Client.content_hash("x") == EmbeddedClient.content_hash("x")
