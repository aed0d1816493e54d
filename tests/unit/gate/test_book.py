"""The session book: sealed gate entries folded into session state, the same live and replayed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from gate_world import AGENT, HELPER, OWNER, Clock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealog.errors import SessionKilled
from sealog.gate import Gate
from sealog.gate._book import Book, BookError
from sealog.gate._record import Sealable, decision_fields
from sealog.ledger import Ledger
from sealog.policy import ProposedAction, SessionState, compile_policy, load_policy
from sealog.policy.store import set_policy

OPEN = "actions: {allow: ['*']}\n"
POLICY = """
actions: {allow: ['*'], deny: [wipe]}
budget: {max_cost_per_session: 3.00, max_cost_per_action: 1.00, on_exceed: kill}
violations: {thresholds: {pii_blocked: 4}, on_threshold: kill}
aggregates:
  - {sum: amount, actions: [transfer], window: 1h, max: 1000}
"""


def fold(ledger: Ledger) -> Book:
    """A fresh book folding every entry of the log, in order."""
    book = Book()
    for stored in ledger.entries():
        book.apply(stored.entry, stored.index)
    return book


def forge_decision(ledger: Ledger, key, session_id: str, outcome: str = "allow") -> str:
    """Seal, signed by ``key`` by hand, a well-formed decision in ``session_id``; its entry id."""
    action = ProposedAction("quote", at=Gate(ledger, key, policy=OPEN).now())
    decision = compile_policy(load_policy(OPEN)).evaluate(
        action, SessionState.empty(), now=action.at
    )
    fields = decision_fields(
        Sealable.of(action),
        decision,
        session_id=session_id,
        policy_version=ledger.policy_version(key.address) or None,
    )
    fields["outcome"] = outcome
    receipt = ledger.append_entry(key, "decision", fields, time=action.at)
    return ledger.get(receipt.index).entry.id


def start(ledger: Ledger, key, session_id: str, **fields) -> None:
    """Seal a session start by hand."""
    ledger.append_entry(key, "session", {"session_id": session_id, "event": "start", **fields})


def test_a_decision_in_a_session_never_started_is_refused(ledger):
    """A decision whose session has no start entry does not fit the book."""
    forge_decision(ledger, AGENT, "ghost")
    with pytest.raises(BookError, match="never started"):
        fold(ledger)


def test_a_session_started_twice_is_refused(ledger):
    """A second start of one session id does not fit the book."""
    start(ledger, AGENT, "s1")
    start(ledger, AGENT, "s1")
    with pytest.raises(BookError, match="started twice"):
        fold(ledger)


def test_a_child_of_a_parent_never_started_is_refused(ledger):
    """A start naming a parent the book has never seen does not fit."""
    start(ledger, AGENT, "child", parent_session="nobody")
    with pytest.raises(BookError, match="names parent"):
        fold(ledger)


@pytest.mark.parametrize("cited", ["unknown", "settled", "denied twice"])
def test_an_action_must_cite_an_open_decision(ledger, cited):
    """An action citing an unknown decision, or one already cited, is refused."""
    start(ledger, AGENT, "s1")
    allowed = forge_decision(ledger, AGENT, "s1")
    denied = forge_decision(ledger, AGENT, "s1", outcome="deny")
    ids = {"unknown": "ab" * 32, "settled": allowed, "denied twice": denied}
    if cited != "unknown":
        ledger.append(AGENT, "quote", extra={"session_id": "s1", "decision": ids[cited]})
    ledger.append(AGENT, "quote", extra={"session_id": "s1", "decision": ids[cited]})
    with pytest.raises(BookError, match="not an open decision"):
        fold(ledger)


def test_an_action_against_a_denied_decision_adds_its_cost(ledger):
    """An action logged after the gate denied it is kept as evidence and its cost counts."""
    start(ledger, AGENT, "s1")
    denied = forge_decision(ledger, AGENT, "s1", outcome="deny")
    ledger.append(AGENT, "quote", extra={"session_id": "s1", "decision": denied, "cost": "0.25"})
    assert fold(ledger).get("s1").state.total_cost == Decimal("0.25")


def test_another_agents_entry_in_a_session_is_refused(ledger):
    """A decision by another agent in a session it did not start does not fit."""
    start(ledger, AGENT, "s1")
    forge_decision(ledger, HELPER, "s1")
    with pytest.raises(BookError, match="belongs to"):
        fold(ledger)


def test_a_decision_after_the_end_is_refused(ledger):
    """A decision sealed after its session's end does not fit."""
    start(ledger, AGENT, "s1")
    ledger.append_entry(AGENT, "session", {"session_id": "s1", "event": "end"})
    forge_decision(ledger, AGENT, "s1")
    with pytest.raises(BookError, match="after it ended"):
        fold(ledger)


def test_entries_outside_the_gate_change_nothing(ledger):
    """Plain actions, policies, registrations and stray actions leave the book as it was."""
    ledger.append(AGENT, "post_reply", target="x")
    ledger.append(AGENT, "quote", extra={"session_id": "nowhere", "cost": "5"})
    set_policy(ledger, OWNER, AGENT.address, OPEN)
    assert "nowhere" not in fold(ledger)
    with pytest.raises(BookError, match="never started"):
        fold(ledger).get("nowhere")


def test_a_killed_ancestor_kills_the_effective_state(ledger):
    """effective() reports a session killed by its parent; its own state stays unkilled."""
    with Gate(ledger, AGENT, policy=OPEN) as gate:
        parent = gate.session("p")
        child = parent.child(session_id="c")
        parent.kill("stop")
    book = fold(ledger)
    assert book.get("c").state.killed_by is None
    assert book.effective("c").killed_by == "parent session p"
    assert [t.session_id for t in book.ancestors("c")] == ["p"]
    assert child.killed


OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("decide"),
            st.sampled_from(["quote", "transfer", "wipe"]),
            st.sampled_from(["0", "0.2", "0.7", "1.5"]),
            st.integers(0, 800),
        ),
        st.tuples(
            st.just("settle"),
            st.integers(0, 5),
            st.sampled_from([None, "0", "0.3", "2"]),
            st.just(0),
        ),
        st.tuples(st.just("violate"), st.just(""), st.just(None), st.integers(1, 2)),
        st.tuples(st.just("charge"), st.just(""), st.sampled_from(["0.1", "0.4"]), st.just(0)),
        st.tuples(st.just("tick"), st.just(""), st.just(None), st.sampled_from([60, 4000])),
        st.tuples(
            st.just("child"),
            st.sampled_from(["quote", "wipe"]),
            st.sampled_from(["0.1", "0.9"]),
            st.just(0),
        ),
    ),
    max_size=20,
)


def run(ops, session, child, clock) -> None:
    """Play ``ops`` on a live session (and its child), swallowing the refusals they meet."""
    open_decisions = []
    for op, name, amount, n in ops:
        try:
            if op == "decide":
                d = session.pre_action(name, args={"amount": n}, estimate=amount)
                if d.allowed:
                    open_decisions.append((session, d))
            elif op == "child":
                d = child.pre_action(name, estimate=amount)
                if d.allowed:
                    open_decisions.append((child, d))
            elif op == "settle" and open_decisions:
                owner, d = open_decisions.pop(n % len(open_decisions))
                owner.post_action(d, cost=amount)
            elif op == "violate":
                session.record_violation("pii_blocked", count=n)
            elif op == "charge":
                session.charge(amount)
            elif op == "tick":
                clock.tick(n)
        except SessionKilled:
            pass


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, end=st.booleans())
def test_folding_the_log_reproduces_the_live_sessions(ops, end):
    """A fresh Book folding the sealed entries in order has the live sessions' state exactly."""
    with Ledger.in_memory() as ledger:
        ledger.register_agent(AGENT, OWNER)
        set_policy(ledger, OWNER, AGENT.address, POLICY)
        clock = Clock()
        with Gate(ledger, AGENT, clock=clock) as gate:
            session = gate.session("root")
            child = session.child(session_id="kid")
            run(ops, session, child, clock)
            if end:
                session.end()
            book = fold(ledger)
        for live in (session, child):
            ours, theirs = live.book.get(live.id), book.get(live.id)
            assert theirs.state.total_cost == ours.state.total_cost == live.total_cost
            assert theirs.state.action_count == ours.state.action_count
            assert theirs.state.history == ours.state.history
            assert theirs.state.violations == ours.state.violations
            assert theirs.state.killed_by == ours.state.killed_by
            assert theirs.reserved == ours.reserved
            assert theirs.ended == ours.ended
            assert book.effective(live.id).killed_by == live.state.killed_by
        assert book.get("root").state.total_cost >= book.get("kid").state.total_cost >= 0


def test_the_fold_counts_costs_once_per_level(ledger):
    """A child's estimate and its settlement move the child and each ancestor by the same amount."""
    with Gate(ledger, AGENT, policy=OPEN) as gate:
        root = gate.session("r")
        mid = root.child(session_id="m")
        leaf = mid.child(session_id="l")
        d = leaf.pre_action("quote", estimate="0.5")
        leaf.post_action(d, cost="0.2")
        leaf.charge("0.1")
        root.charge("1")
    book = fold(ledger)
    totals = {sid: book.get(sid).state.total_cost for sid in ("r", "m", "l")}
    assert totals == {"r": Decimal("1.3"), "m": Decimal("0.3"), "l": Decimal("0.3")}
    assert book.get("l").state.action_count == 1
    assert book.get("r").state.action_count == 0


def test_a_fork_leaves_its_base_unchanged_until_absorbed(ledger):
    """Entries applied to a fork change the base only when the fork is absorbed."""
    start(ledger, AGENT, "s1")
    base = fold(ledger)
    trial = base.fork()
    receipt = ledger.append(AGENT, "q", extra={"session_id": "s1", "cost": "1.5"})
    trial.apply(ledger.get(receipt.index).entry, receipt.index)
    assert trial.get("s1").state.total_cost == Decimal("1.5")
    assert base.get("s1").state.total_cost == 0
    base.absorb(trial)
    assert base.get("s1").state.total_cost == Decimal("1.5")
    with pytest.raises(ValueError, match="fork of this very book"):
        base.absorb(Book().fork())
