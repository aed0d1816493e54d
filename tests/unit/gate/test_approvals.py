"""Approvals: an ask waits for the owner; approved it counts as allowed, late or foreign refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from gate_world import HELPER, OWNER

from sealog.approvals import decide
from sealog.errors import EntryRejected, UsageError
from sealog.gate.replay import replay
from sealog.service import Service

POLICY = """
actions: {allow: [transfer, quote]}
ask:
  - actions: [transfer]
    when: "args.amount > 500"
session: {max_actions: 2, on_exceed: deny}
"""


@pytest.fixture
def now(clock):
    """The gate's clock set to the real time, so the owner's verdicts can be dated after it."""
    clock.now = datetime.now(UTC) + timedelta(minutes=1)
    return clock


def test_an_approved_ask_lets_the_agent_act_and_counts(open_gate, ledger, now):
    """Approved in time: wait_approval says so, post_action seals it, it counts towards limits."""
    s = open_gate(POLICY).session()
    asked = s.pre_action("transfer", args={"amount": 800})
    assert asked.outcome == "ask"
    now.tick(60)
    decide(ledger, OWNER, asked.entry_id, approve=True, reason="known payee", time=now.now)
    assert s.wait_approval(asked, poll=0.01) == "approved"
    s.post_action(asked)
    assert s.state.action_count == 1
    assert s.pre_action("quote").allowed
    assert s.pre_action("quote").outcome == "deny"  # the approved transfer counted: 2 of 2
    assert replay(ledger.entries()).ok
    listed = Service(ledger).asks()
    assert [(a["decision"], a["status"]) for a in listed] == [(asked.entry_id, "approved")]


def test_a_denied_ask_leaves_nothing_to_record(open_gate, ledger, now):
    """Denied: the agent is refused, post_action is refused, nothing counts."""
    s = open_gate(POLICY).session()
    asked = s.pre_action("transfer", args={"amount": 900})
    decide(ledger, OWNER, asked.entry_id, approve=False, time=now.now)
    assert s.wait_approval(asked, poll=0.01) == "denied"
    with pytest.raises(UsageError, match="no action to record"):
        s.post_action(asked)
    assert s.state.action_count == 0


@pytest.mark.parametrize(
    ("case", "code"),
    [("a stranger", "not-allowed"), ("an allow", "not-pending"), ("twice", "already-decided"),
     ("too late", "expired")],
)  # fmt: skip
def test_verdicts_the_log_refuses(open_gate, ledger, now, case, code):
    """Only the owner, only on a pending ask, once, within 15 minutes."""
    s = open_gate(POLICY).session()
    amount = 100 if case == "an allow" else 700
    target = s.pre_action("transfer", args={"amount": amount})
    if case == "twice":
        decide(ledger, OWNER, target.entry_id, approve=True, time=now.now)
    when = now.now + timedelta(minutes=16 if case == "too late" else 1)
    size = ledger.size()
    key = HELPER if case == "a stranger" else OWNER
    with pytest.raises(EntryRejected) as refused:
        decide(ledger, key, target.entry_id, approve=True, time=when)
    assert refused.value.code == code
    assert ledger.size() == size


def test_an_ask_no_one_decides_expires(open_gate, ledger, now):
    """Past its deadline an undecided ask is listed expired, and waiting for it says so."""
    s = open_gate(POLICY).session()
    asked = s.pre_action("transfer", args={"amount": 650})
    later = now.now + timedelta(minutes=20)
    assert Service(ledger).asks(status="expired", now=later)[0]["decision"] == asked.entry_id
    assert Service(ledger).asks(status="pending", now=later) == []
    assert s.wait_approval(asked, poll=0.01, until=datetime.now(UTC)) == "expired"


def test_an_approver_the_owner_names_decides_until_withdrawn(open_gate, ledger, now):
    """A named approver's verdict counts; once withdrawn it is not-allowed; names need owners."""
    from sealog.approvals import name_approver  # noqa: PLC0415 - only this test
    from sealog.crypto import SigningKey  # noqa: PLC0415

    reviewer = SigningKey.generate()
    ledger.register_owner(reviewer)
    name_approver(ledger, OWNER, reviewer.address)
    s = open_gate(POLICY).session()
    first = s.pre_action("transfer", args={"amount": 800})
    decide(ledger, reviewer, first.entry_id, approve=True, time=now.now)
    assert s.wait_approval(first, poll=0.01) == "approved"
    with pytest.raises(EntryRejected) as twice:
        decide(ledger, OWNER, first.entry_id, approve=False, time=now.now)
    assert twice.value.code == "already-decided"
    name_approver(ledger, OWNER, reviewer.address, active=False)
    second = s.pre_action("transfer", args={"amount": 900})
    with pytest.raises(EntryRejected) as withdrawn:
        decide(ledger, reviewer, second.entry_id, approve=True, time=now.now)
    assert withdrawn.value.code == "not-allowed"
    with pytest.raises(EntryRejected) as by_agent:
        name_approver(ledger, HELPER, reviewer.address)
    assert by_agent.value.code == "not-allowed"
    with pytest.raises(EntryRejected) as nobody:
        name_approver(ledger, OWNER, SigningKey.generate().address)
    assert nobody.value.code == "unknown-subject"
