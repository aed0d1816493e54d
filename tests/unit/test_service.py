"""The service layer: submissions checked against the gate, drafts to sign, reads with stats."""

from __future__ import annotations

import pytest

from sealog.crypto import SigningKey
from sealog.errors import EntryRejected, NotFound, UsageError
from sealog.gate import Gate
from sealog.gate.replay import replay
from sealog.ledger import Ledger
from sealog.ledger.entry import parse_time
from sealog.policy.store import set_policy
from sealog.service import Service

POLICY = """
actions: {allow: [transfer, quote]}
aggregates: [{sum: amount, actions: [transfer], window: 24h, max: 1000, unit: "$"}]
"""


@pytest.fixture
def world():
    """A ledger with an agent under POLICY, a service over it, and the agent's session s1."""
    ledger = Ledger.in_memory()
    owner, agent = SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(agent, owner)
    set_policy(ledger, owner, agent.address, POLICY)
    service = Service(ledger)
    service.submit([ledger.sign_next(agent, "session", {"session_id": "s1", "event": "start"})])
    return ledger, agent, service


def sign_draft(ledger, agent, draft):
    return ledger.sign_next(agent, "decision", draft.fields, time=parse_time(draft.time))


def test_a_drafted_decision_signed_as_is_is_accepted_with_its_match(world):
    """Draft, sign, submit with the action citing it: both answer policy_match and version."""
    ledger, agent, service = world
    draft = service.draft_decision(agent.address, "s1", "transfer", args={"amount": 400})
    decision = sign_draft(ledger, agent, draft)
    fields = {"action": "transfer", "session_id": "s1", "decision": decision.id, "cost": "0.01"}
    action = ledger.sign_next(agent, "action", fields)
    out = service.submit([decision, action])
    assert [(s.kind, s.policy_match, s.policy_version) for s in out] == [
        ("decision", "allowed", 1),
        ("action", "allowed", 1),
    ]
    assert replay(ledger.entries()).ok


def test_a_decision_the_gate_would_not_make_is_refused_and_nothing_stored(world):
    """A signed decision saying allow where the gate denies is 'decision-mismatch'."""
    ledger, agent, service = world
    draft = service.draft_decision(agent.address, "s1", "transfer", args={"amount": 4000})
    assert draft.outcome == "deny"
    forged = dict(draft.fields, outcome="allow", failed=[], risk=0, decision_class="allowed")
    del forged["blocking_rule"]
    size = ledger.size()
    with pytest.raises(EntryRejected, match="recomputed deny by aggregates") as refused:
        service.submit([ledger.sign_next(agent, "decision", forged, time=parse_time(draft.time))])
    assert refused.value.code == "decision-mismatch"
    assert ledger.size() == size
    honest = sign_draft(ledger, agent, draft)  # the chain continues from the last stored entry
    assert service.submit([honest])[0].policy_match == "denied"


def test_gate_entries_that_do_not_fit_their_session_are_refused(world):
    """A decision in a session never started is refused as 'out-of-place'."""
    ledger, agent, service = world
    draft = service.draft_decision(agent.address, "s1", "quote")
    elsewhere = dict(draft.fields, session_id="ghost")
    with pytest.raises(EntryRejected) as refused:
        service.submit([ledger.sign_next(agent, "decision", elsewhere,
                                         time=parse_time(draft.time))])  # fmt: skip
    assert refused.value.code == "out-of-place"


def test_entries_written_by_another_writer_are_folded_first(world):
    """Decisions sealed by an embedded gate meanwhile count in the next draft."""
    ledger, agent, service = world
    with Gate(ledger, agent).session("s2") as s:
        d = s.pre_action("transfer", args={"amount": 900})
        s.post_action(d)
    s3 = ledger.sign_next(agent, "session", {"session_id": "s3", "event": "start"})
    service.submit([s3])
    assert service.session_info("s2")["status"] == "ended"
    assert service.agent_info(agent.address).entries == 6


def test_agent_info_counts_denials_and_kills(world):
    """A platform sees the registration, the policy version and the agent's track."""
    ledger, agent, service = world
    denied = service.draft_decision(agent.address, "s1", "wire")
    service.submit([sign_draft(ledger, agent, denied)])
    kill = ledger.sign_next(agent, "session", {"session_id": "s1", "event": "kill",
                                               "rule_id": "session.manual_kill"})  # fmt: skip
    service.submit([kill])
    info = service.agent_info(agent.address).to_dict()
    assert info["policy_version"] == 1
    assert info["stats"] == {"entries": 3, "denied_actions": 1, "sessions_killed": 1,
                             "reports_received": 0, "reports_open": 0,
                             "reports_acknowledged": 0, "reports_disputed": 0,
                             "decisions": 1, "reputation": 60}  # fmt: skip
    assert service.session_info("s1")["status"] == "killed"
    with pytest.raises(NotFound):
        service.agent_info("sl1" + "0" * 40)


def test_policy_at_time_says_whether_a_decision_recomputes(world):
    """verify's policy_at_time: the sealed version and 'matches' for an honest decision."""
    ledger, agent, service = world
    draft = service.draft_decision(agent.address, "s1", "quote")
    service.submit([sign_draft(ledger, agent, draft)])
    at = service.policy_at(ledger.get(ledger.size() - 1))
    assert at == {"version": 1, "policy_hash": draft.fields["policy_hash"], "outcome": "allow",
                  "blocking_rule": None, "recomputed": "matches"}  # fmt: skip


def test_drafts_need_a_live_session_of_the_agent(world):
    """Drafting in another agent's or an unknown session is NotFound; an empty batch is usage."""
    _, agent, service = world
    with pytest.raises(NotFound):
        service.draft_decision(agent.address, "nope", "quote")
    with pytest.raises(NotFound):
        service.draft_decision("sl1" + "1" * 40, "s1", "quote")
    with pytest.raises(UsageError):
        service.submit([])
