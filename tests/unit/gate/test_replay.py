"""verify --replay: every sealed decision recomputed from the log alone, every lie located."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealog.content import content_hash
from sealog.crypto import SigningKey
from sealog.errors import SessionKilled
from sealog.gate import Gate
from sealog.gate._record import Sealable, decision_fields
from sealog.gate.replay import replay
from sealog.ledger import Ledger, StoredEntry
from sealog.policy import ProposedAction, SessionState, compile_policy, load_policy
from sealog.policy.store import set_policy

POLICY = """
actions: {allow: [transfer, quote, search, "read_*"]}
budget: {max_cost_per_session: 2.00, on_exceed: kill}
violations: {thresholds: {pii_blocked: 3}, on_threshold: kill}
rate_limits: {per_action: {quote: 4}}
aggregates:
  - {sum: amount, actions: [transfer], window: 24h, max: 1000, unit: "$"}
conditions:
  - require: "args.amount <= 700"
    actions: [transfer]
ask:
  - actions: [search]
    when: "args.q == 'secret'"
"""


class Clock:
    """A clock that moves only when told, so windows are exercised deterministically."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def world():
    """An in-memory ledger with an owner, an agent under POLICY, a gate and its clock."""
    ledger = Ledger.in_memory()
    owner, agent = SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(agent, owner)
    set_policy(ledger, owner, agent.address, POLICY)
    clock = Clock()
    gate = Gate(ledger, agent, clock=clock)
    yield ledger, owner, agent, gate, clock
    gate.close()
    ledger.close()


def forge(ledger: Ledger, agent: SigningKey, **changes) -> None:
    """Seal a decision entry the agent signed by hand (well-formed, citing the version in force)."""
    action = ProposedAction("transfer", at=datetime.now(UTC), target="acct:9",
                            args={"amount": 5000})  # fmt: skip
    decision = compile_policy(load_policy(POLICY)).evaluate(
        action, SessionState.empty(), now=action.at
    )
    fields = decision_fields(Sealable.of(action), decision, session_id=changes.pop("session"),
                             policy_version=ledger.policy_version(agent.address))  # fmt: skip
    fields.update(changes)
    ledger.append_entry(agent, "decision", fields, time=action.at)


def test_an_honest_log_replays_identically(world):
    """Allow, deny, ask, kill, settled costs, windows and a child session all recompute equal."""
    ledger, _, _, gate, clock = world
    with gate.session(run_id="r1") as s:
        for amount in (500, 300, 400, 800, 200):
            d = s.pre_action("transfer", target="acct:1", args={"amount": amount}, estimate="0.1")
            if d.allowed:
                s.post_action(d, cost="0.15")
            clock.tick(3600)
        s.pre_action("search", args={"q": "secret"})
        s.pre_action("delete_all")
        child = s.child()
        c = child.pre_action("quote", estimate="0.5")
        child.post_action(c, cost="0.7")
        s.record_violation("pii_blocked", count=2)
        clock.tick(86_400)
        s.pre_action("transfer", args={"amount": 650})
        s.record_violation("pii_blocked")
        with pytest.raises(SessionKilled):
            s.pre_action("quote")
    report = replay(ledger.entries())
    assert report.ok, report.findings
    assert report.decisions == 10
    assert report.matched == 10
    assert report.kills == 1


def test_a_forged_allow_is_reported_as_differing(world):
    """A decision the agent sealed as allow where its policy denies is 'differs', located."""
    ledger, _, agent, gate, _ = world
    gate.session("s1")
    forge(ledger, agent, session="s1", outcome="allow", risk=0, decision_class="allowed",
          failed=[])  # fmt: skip
    report = replay(ledger.entries())
    assert not report.ok
    (finding,) = report.differences
    assert finding.kind == "differs"
    assert finding.index == ledger.size() - 1
    assert "sealed allow" in finding.detail
    assert "recomputed deny" in finding.detail


def test_arguments_that_do_not_match_their_digest_are_reported(world):
    """Sealed args altered by their author after digesting are an 'args-mismatch'."""
    ledger, _, agent, gate, _ = world
    gate.session("s1")
    forge(ledger, agent, session="s1", args='{"amount":5}')
    (finding,) = replay(ledger.entries()).differences
    assert finding.kind == "args-mismatch"


def test_a_decision_under_a_superseded_version_is_stale(world):
    """A decision citing v1 after v2 was sealed is 'stale-policy' (the ledger refuses it too)."""
    ledger, owner, agent, gate, _ = world
    with gate.session("s1") as s:
        d = s.pre_action("quote")
    entries = list(ledger.entries())
    set_policy(ledger, owner, agent.address, POLICY + "\n# v2\n")
    policy_v2 = ledger.get(ledger.size() - 1)
    moved = [*entries[:-2], StoredEntry(len(entries) - 2, policy_v2.entry)]
    moved.append(StoredEntry(len(entries) - 1, ledger.get(d.index).entry))
    kinds = [f.kind for f in replay(moved).differences]
    assert "stale-policy" in kinds


def test_a_kill_no_rule_justifies_is_reported(world):
    """A kill entry naming a rule that does not fail on the session's state is unjustified."""
    ledger, _, agent, gate, _ = world
    with gate.session("s1"):
        pass
    ledger.append_entry(agent, "session", {"session_id": "s1", "event": "kill",
                                           "rule_id": "violations.pii_blocked"})  # fmt: skip
    (finding,) = replay(ledger.entries()).differences
    assert finding.kind == "unjustified-kill"


def test_a_manual_kill_needs_no_rule(world):
    """Session.kill by hand replays clean: an operator's kill is not a policy claim."""
    ledger, _, _, gate, _ = world
    with gate.session() as s:
        s.kill("operator pressed the button")
    assert replay(ledger.entries()).ok


def test_a_decision_in_a_session_never_started_is_out_of_place(world):
    """A decision whose session has no start entry is 'out-of-place'."""
    ledger, _, agent, _, _ = world
    forge(ledger, agent, session="ghost")
    (finding,) = replay(ledger.entries()).differences
    assert finding.kind == "out-of-place"
    assert "never started" in finding.detail


def test_digest_only_arguments_are_unverifiable_not_matched(world):
    """With seal_args=False decisions are counted unverifiable, never as matching."""
    ledger, _, agent, _, _ = world
    private = Gate(ledger, agent, seal_args=False)
    with private.session() as s:
        s.pre_action("transfer", args={"amount": 5, "iban": "DE00 1234"})
    entry = ledger.get(ledger.size() - 2).entry
    assert "args" not in entry.fields
    assert entry.fields["args_digest"] == content_hash(b'{"amount":5,"iban":"DE00 1234"}')
    report = replay(ledger.entries())
    assert report.ok
    assert report.matched == 0
    assert [f.kind for f in report.unverifiable] == ["unverifiable"]


def test_an_unsealed_policy_makes_decisions_unverifiable(tmp_path):
    """A gate run on a policy never sealed leaves decisions the log alone cannot recompute."""
    ledger = Ledger.in_memory()
    owner, agent = SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(agent, owner)
    with Gate(ledger, agent, policy=POLICY) as gate, gate.session() as s:
        s.pre_action("quote")
    report = replay(ledger.entries())
    assert report.ok
    assert "unsealed policy" in report.unverifiable[0].detail


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("transfer"), st.integers(0, 900), st.sampled_from(["0", "0.3", "1"])),
        st.tuples(st.just("quote"), st.just(0), st.sampled_from(["0.1", "0.5"])),
        st.tuples(st.just("search"), st.sampled_from([0, 1]), st.just("0")),
        st.tuples(st.just("violation"), st.integers(1, 2), st.just("0")),
        st.tuples(st.just("tick"), st.sampled_from([60, 3600, 40_000]), st.just("0")),
        st.tuples(st.just("settle"), st.integers(0, 3), st.sampled_from(["0", "0.2", "0.9"])),
    ),
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
def test_replay_equals_the_live_decisions(ops):
    """Any sequence of decisions, settlements, violations and time replays identically."""
    ledger = Ledger.in_memory()
    owner, agent = SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(agent, owner)
    set_policy(ledger, owner, agent.address, POLICY)
    clock = Clock()
    live: list[tuple[str, str]] = []
    open_decisions = []
    with Gate(ledger, agent, clock=clock) as gate, gate.session() as s:
        for op, n, cost in ops:
            try:
                if op in ("transfer", "quote", "search"):
                    args = {"amount": n} if op == "transfer" else {"q": ["x", "secret"][n]}
                    d = s.pre_action(op, args=args, estimate=cost)
                    live.append((d.entry_id, d.outcome))
                    if d.allowed:
                        open_decisions.append(d)
                elif op == "violation":
                    s.record_violation("pii_blocked", count=n)
                elif op == "tick":
                    clock.tick(n)
                elif open_decisions:
                    s.post_action(open_decisions.pop(n % len(open_decisions)), cost=cost)
            except SessionKilled as exc:
                live.append((exc.decision.entry_id, "kill"))
    report = replay(ledger.entries())
    assert report.ok, report.findings
    assert report.matched == report.decisions == len(live)
    sealed = {e.entry.id: e.entry.fields["outcome"] for e in ledger.entries()
              if e.entry.kind == "decision"}  # fmt: skip
    assert sealed == dict(live)
    assert json.dumps(report.to_dict())
    assert Decimal(0) <= s.total_cost


def test_a_child_breaking_a_kill_mode_parent_budget_kills_the_run(world):
    """The parent's kill-mode budget, broken by a child's estimate, kills parent and child; both
    kills cite the child's decision and replay clean."""
    ledger, _, _, gate, _ = world
    parent = gate.session()
    parent.charge("1.90")
    child = parent.child()
    with pytest.raises(SessionKilled) as refused:
        child.pre_action("quote", estimate="0.50")
    assert refused.value.decision.blocking_rule == "parent.budget.max_cost_per_session"
    assert parent.killed
    assert child.killed
    kills = [e.entry.fields for e in ledger.entries() if e.entry.fields.get("event") == "kill"]
    assert {k["session_id"] for k in kills} == {parent.id, child.id}
    assert {k["decision"] for k in kills} == {refused.value.decision.entry_id}
    report = replay(ledger.entries())
    assert report.ok, report.findings
    assert report.kills == 2
