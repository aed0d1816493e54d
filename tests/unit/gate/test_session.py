"""The live gate: decide and seal before the act, seal the act after, hold budgets, kill."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from gate_world import AGENT, HELPER, OWNER, STRANGER

from sealog.errors import (
    ApprovalRequired,
    EntryRejected,
    NotFound,
    PolicyViolation,
    SessionKilled,
    UsageError,
)
from sealog.gate import WEBHOOK_SECRET_ENV, Gate
from sealog.gate._record import Sealable, decision_fields
from sealog.gate.replay import replay
from sealog.policy import ProposedAction, SessionState, compile_policy, load_policy
from sealog.policy.cost import PriceOverrides
from sealog.policy.store import set_policy

POLICY = """
actions: {allow: [quote, transfer, search, read, fetch], deny: [delete_account]}
budget: {max_cost_per_session: 1.00, on_exceed: kill}
violations: {thresholds: {pii_blocked: 3}, on_threshold: kill}
aggregates:
  - {sum: amount, actions: [transfer], window: 24h, max: 1000, unit: "$"}
conditions:
  - require: "args.amount <= 700"
    actions: [transfer]
ask:
  - actions: [search]
    when: "args.q == 'secret'"
"""
OPEN = "actions: {allow: ['*']}\n"


def last(ledger):
    """The newest entry of the log."""
    return ledger.get(ledger.size() - 1).entry


# -- the flow -------------------------------------------------------------------------------------


def test_pre_action_seals_the_decision_before_it_returns(open_gate, ledger):
    """The decision returned is already the newest entry of the log, with its outcome."""
    with open_gate(POLICY).session() as s:
        d = s.pre_action("quote", target="ticker:ACME", args={"n": 1})
        assert d.index == ledger.size() - 1
        entry = last(ledger)
        assert entry.kind == "decision"
        assert entry.id == d.entry_id
        assert entry.fields["outcome"] == "allow"
        assert entry.fields["policy_version"] == d.policy_version == 1
        assert entry.fields["session_id"] == s.id


def test_post_action_seals_the_action_after_citing_the_decision(open_gate, ledger):
    """The action entry comes after its decision and cites it by id."""
    with open_gate(POLICY).session(run_id="r1") as s:
        d = s.pre_action("quote", target="ticker:ACME")
        receipt = s.post_action(d, cost="0.01", metadata={"fill": "ok"})
        assert receipt.index > d.index
        action = ledger.get(receipt.index).entry
        assert action.kind == "action"
        assert action.fields["decision"] == d.entry_id
        assert action.fields["target"] == "ticker:ACME"
        assert action.fields["run_id"] == "r1"
        assert action.fields["metadata"] == {"fill": "ok", "status": "ok"}


def test_the_estimate_is_reserved_then_replaced_by_the_actual_cost(open_gate):
    """pre_action reserves the estimate; post_action swaps it for what was really spent."""
    with open_gate(POLICY).session() as s:
        d = s.pre_action("quote", estimate="0.30")
        assert (s.total_cost, s.reserved) == (Decimal("0.30"), Decimal("0.30"))
        s.post_action(d, cost="0.12")
        assert (s.total_cost, s.reserved) == (Decimal("0.12"), Decimal(0))


def test_without_an_actual_cost_the_estimate_stands(open_gate):
    """post_action with no cost settles the reservation at the estimate."""
    with open_gate(POLICY).session() as s:
        s.post_action(s.pre_action("quote", estimate="0.25"))
        assert (s.total_cost, s.reserved) == (Decimal("0.25"), Decimal(0))


def test_only_an_open_allowed_decision_of_the_session_has_an_action(open_gate, ledger):
    """Denied, already settled, or another session's decision: post_action is a UsageError."""
    gate = open_gate(POLICY)
    with gate.session() as s, gate.session() as other:
        denied = s.pre_action("delete_account")
        with pytest.raises(UsageError, match="no action to record"):
            s.post_action(denied)
        allowed = s.pre_action("quote")
        s.post_action(allowed)
        size = ledger.size()
        with pytest.raises(UsageError, match="settled already"):
            s.post_action(allowed)
        with pytest.raises(UsageError, match="is not of session"):
            other.post_action(s.pre_action("quote"))
        assert ledger.size() == size + 1  # the last pre_action only


def test_a_session_seals_its_start_and_its_end_with_totals(open_gate, ledger):
    """The with block seals start and end; the end carries the cost and action count."""
    with open_gate(POLICY).session("s1", run_id="r1") as s:
        start = last(ledger)
        s.post_action(s.pre_action("quote"), cost="0.5")
    assert start.fields["event"] == "start"
    assert start.fields["run_id"] == "r1"
    end = last(ledger)
    assert end.fields == {**end.fields, "event": "end", "session_id": "s1"}
    assert end.fields["figures"] == {"cost_usd": "0.5", "actions": "1"}


# -- every outcome --------------------------------------------------------------------------------

REFUSALS = [
    pytest.param("actions: {allow: [quote]}", "transfer", {}, "actions.allowed", id="allow-list"),
    pytest.param(
        "actions: {deny: [delete_account]}", "delete_account", {}, "actions.denied", id="deny-list"
    ),
    pytest.param(POLICY, "transfer", {"amount": 800}, "conditions[0]", id="cel-condition"),
]


@pytest.mark.parametrize(("policy", "action", "args", "rule"), REFUSALS)
def test_a_failed_deny_rule_denies(open_gate, ledger, policy, action, args, rule):  # noqa: PLR0917
    """Allow list, deny list and CEL condition each deny, naming the rule, sealed as deny."""
    with open_gate(policy).session() as s:
        d = s.pre_action(action, args=args)
        assert (d.outcome, d.allowed, d.blocking_rule) == ("deny", False, rule)
        assert last(ledger).fields["outcome"] == "deny"
        assert last(ledger).fields["blocking_rule"] == rule
        assert s.state.action_count == 0


def test_an_aggregate_denies_what_would_pass_its_window_sum(open_gate):
    """Transfers sum to at most $1,000 a day: the one that would pass it is denied."""
    with open_gate(POLICY).session() as s:
        assert s.pre_action("transfer", args={"amount": 600}).allowed
        d = s.pre_action("transfer", args={"amount": 500})
        assert (d.outcome, d.blocking_rule) == ("deny", "aggregates[0]")
        assert "$600 already used" in d.reason


def test_an_allowed_action_passes_every_rule(open_gate):
    """An action no rule refuses is allowed, with a verdict per rule that applied."""
    with open_gate(POLICY).session() as s:
        d = s.pre_action("transfer", args={"amount": 100})
    assert (d.outcome, d.blocking_rule, d.reason) == ("allow", None, "every rule passed")
    assert all(v.passed for v in d.verdicts)
    assert d.to_dict()["entry_id"] == d.entry_id


def test_an_ask_rule_asks(open_gate, ledger):
    """A matching ask rule seals outcome ask and enforce raises ApprovalRequired."""
    with open_gate(POLICY).session() as s:
        assert s.pre_action("search", args={"q": "weather"}).allowed
        d = s.pre_action("search", args={"q": "secret"})
        assert (d.outcome, d.blocking_rule) == ("ask", "ask[0]")
        assert last(ledger).fields["outcome"] == "ask"
        with pytest.raises(ApprovalRequired) as info:
            s.enforce(d)
        assert info.value.decision is d


def test_enforce_raises_the_typed_refusal(open_gate):
    """enforce returns allow and raises PolicyViolation for deny, SessionKilled for kill."""
    with open_gate(POLICY).session() as s:
        ok = s.pre_action("quote")
        assert s.enforce(ok) is ok
        with pytest.raises(PolicyViolation) as info:
            s.enforce(s.pre_action("delete_account"))
        assert type(info.value) is PolicyViolation
        with pytest.raises(SessionKilled) as killed:
            s.pre_action("quote", estimate="5")
        with pytest.raises(SessionKilled):
            s.enforce(killed.value.decision)


def test_a_violation_threshold_kills_the_session(open_gate, ledger, notes):
    """The third pii_blocked kills at once; the kill is sealed and the kill switch told."""
    with open_gate(POLICY).session() as s:
        assert s.record_violation("pii_blocked", detail="ssn in reply") is False
        assert s.record_violation("pii_blocked") is False
        assert s.state.violations == (("pii_blocked", 2),)
        assert s.record_violation("pii_blocked") is True
        kill = last(ledger)
        assert (kill.kind, kill.fields["event"]) == ("session", "kill")
        assert kill.fields["rule_id"] == "violations.pii_blocked"
        assert s.state.killed_by == "violations.pii_blocked"
        assert notes.events() == [("session_killed", "violations.pii_blocked")]


def test_a_budget_overrun_by_the_actual_cost_kills_at_once(open_gate, ledger, notes):
    """A cheap estimate whose actual cost breaks the session budget kills at post_action."""
    with open_gate(POLICY).session() as s:
        d = s.pre_action("quote", estimate="0.10")
        s.post_action(d, cost="1.50")
        assert s.killed
        assert last(ledger).fields["rule_id"] == "budget.max_cost_per_session"
        assert notes.events() == [("session_killed", "budget.max_cost_per_session")]
        assert notes.sent[0].figures["cost_usd"] == "1.50"


def test_a_kill_mode_rule_failing_at_pre_action_kills(open_gate, ledger):
    """An estimate past a kill-mode budget is a kill: raised, sealed, the session killed."""
    with open_gate(POLICY).session() as s:
        with pytest.raises(SessionKilled) as info:
            s.pre_action("quote", estimate="1.01")
        d = info.value.decision
        assert (d.outcome, d.blocking_rule) == ("kill", "budget.max_cost_per_session")
        kill = last(ledger)
        assert kill.fields["decision"] == d.entry_id
        assert ledger.get(d.index).entry.fields["outcome"] == "kill"


def test_a_manual_kill_is_sealed_and_idempotent(open_gate, ledger, notes):
    """session.kill seals rule session.manual_kill once, however often it is called."""
    with open_gate(POLICY).session() as s:
        s.kill("operator pressed the button")
        size = ledger.size()
        s.kill("again")
        assert ledger.size() == size
        kill = last(ledger)
        assert kill.fields["rule_id"] == "session.manual_kill"
        assert kill.fields["reason"] == "operator pressed the button"
        assert notes.events() == [("session_killed", "session.manual_kill")]


def test_after_a_kill_every_pre_action_is_refused_and_sealed(open_gate, ledger):
    """Each later attempt raises SessionKilled and is still sealed as a kill decision."""
    with open_gate(POLICY).session() as s:
        s.kill("stop")
        for action in ("quote", "transfer", "delete_account"):
            with pytest.raises(SessionKilled) as info:
                s.pre_action(action)
            entry = last(ledger)
            assert entry.kind == "decision"
            assert entry.id == info.value.decision.entry_id
            assert entry.fields["outcome"] == "kill"
            assert entry.fields["blocking_rule"] == "session.killed"
        kills = [e for e in ledger.entries() if e.entry.fields.get("event") == "kill"]
        assert len(kills) == 1


# -- quiet modes and alerts -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["alert", "log"])
def test_quiet_budgets_never_block(open_gate, mode):
    """A budget in alert or log mode lets every action through, listing it in alerts."""
    policy = f"actions: {{allow: ['*']}}\nbudget: {{max_cost_per_session: 1.00, on_exceed: {mode}}}"
    with open_gate(policy).session() as s:
        for _ in range(3):
            d = s.pre_action("quote", estimate="0.8")
            assert d.allowed
            s.post_action(d, cost="0.9")
        assert not s.killed
        assert d.decision.alerts == ("budget.max_cost_per_session",)
        assert s.total_cost == Decimal("2.7")


def test_an_alert_mode_breach_notifies_once(open_gate, notes):
    """An alert-mode budget breach is posted as an alert, once per rule per session."""
    policy = "actions: {allow: ['*']}\nbudget: {max_cost_per_session: 1.00, on_exceed: alert}"
    with open_gate(policy).session() as s:
        s.pre_action("quote", estimate="0.5")
        assert notes.sent == []
        s.pre_action("quote", estimate="0.9")
        s.pre_action("quote", estimate="0.9")
        s.charge("5")
    assert notes.events() == [("alert", "budget.max_cost_per_session")]
    assert "over $1.00" in notes.sent[0].reason


def test_crossing_alert_at_notifies_but_allows(open_gate, notes):
    """A session budget past alert_at allows the action and posts an alert."""
    policy = "actions: {allow: ['*']}\nbudget: {max_cost_per_session: 1.00, alert_at: 0.5}"
    with open_gate(policy).session() as s:
        assert s.pre_action("quote", estimate="0.4").decision.alerts == ()
        assert notes.sent == []
        d = s.pre_action("quote", estimate="0.2")
        assert d.allowed
        assert d.decision.alerts == ("budget.max_cost_per_session",)
    assert notes.events() == [("alert", "budget.max_cost_per_session")]


# -- concurrency ----------------------------------------------------------------------------------


def test_reservations_hold_the_budget_under_concurrency(open_gate):
    """Eight threads reserving 0.2 against $1.00: exactly five allowed, then actuals settle."""
    policy = "actions: {allow: ['*']}\nbudget: {max_cost_per_session: 1.00, on_exceed: deny}"
    with open_gate(policy).session() as s:
        start = threading.Barrier(8)
        results = []

        def propose():
            start.wait()
            results.append(s.pre_action("quote", estimate="0.2"))

        threads = [threading.Thread(target=propose) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        allowed = [d for d in results if d.allowed]
        assert len(results) == 8
        assert len(allowed) == 5
        assert {d.blocking_rule for d in results if not d.allowed} == {
            "budget.max_cost_per_session"
        }
        assert (s.total_cost, s.reserved) == (Decimal("1.0"), Decimal("1.0"))
        for d in allowed:
            s.post_action(d, cost="0.1")
        assert (s.total_cost, s.reserved) == (Decimal("0.5"), Decimal(0))
        assert s.pre_action("quote", estimate="0.5").allowed


# -- parent and child sessions --------------------------------------------------------------------

CHILD_POLICY = "actions: {allow: ['*']}\nbudget: {max_cost_per_session: 50}"


def test_a_childs_cost_rolls_up_into_its_parent(open_gate, ledger):
    """A child's reserved and actual costs count in the parent's total."""
    with open_gate(POLICY).session(run_id="r1") as parent:
        child = parent.child()
        d = child.pre_action("quote", estimate="0.2")
        assert parent.total_cost == Decimal("0.2")
        child.post_action(d, cost="0.3")
        assert (parent.total_cost, child.total_cost) == (Decimal("0.3"), Decimal("0.3"))
        assert ledger.get(d.index).entry.fields["parent_session"] == parent.id
        assert child.run_id == "r1"
        assert parent.reserved == Decimal(0)


def test_a_child_under_another_agents_gate(open_gate, ledger):
    """A sub-agent's session signs with its own key and policy and rolls up into the parent."""
    parent_gate = open_gate(POLICY)
    helper_gate = open_gate(CHILD_POLICY, agent=HELPER)
    with parent_gate.session() as parent:
        child = parent.child(helper_gate)
        d = child.pre_action("anything_goes", estimate="0.4")
        assert d.allowed  # not in the parent's allow list, but the child's policy decides
        entry = ledger.get(d.index).entry
        assert entry.author == HELPER.address
        assert entry.fields["parent_session"] == parent.id
        child.post_action(d, cost="0.6")
        assert parent.total_cost == Decimal("0.6")


def test_a_child_may_not_spend_past_its_parents_budget(open_gate, ledger):
    """A child action that would breach the parent's session budget is refused by parent.*."""
    parent_policy = "actions: {allow: ['*']}\nbudget: {max_cost_per_session: 1.00, on_exceed: deny}"
    parent_gate = open_gate(parent_policy)
    helper_gate = open_gate(CHILD_POLICY, agent=HELPER)
    with parent_gate.session() as parent:
        parent.post_action(parent.pre_action("quote", estimate="0.8"))
        for child in (parent.child(), parent.child(helper_gate)):
            d = child.pre_action("quote", estimate="0.5")
            assert (d.outcome, d.blocking_rule) == ("deny", "parent.budget.max_cost_per_session")
            assert child.pre_action("quote", estimate="0.1").allowed
    assert replay(ledger.entries()).ok


def test_a_childs_actual_cost_past_the_parents_budget_kills_the_parent_at_once(
    open_gate, ledger, notes
):
    """Children's settled costs that break the parent's kill-mode budget kill the whole tree."""
    parent_policy = "actions: {allow: ['*']}\nbudget: {max_cost_per_session: 1.00, on_exceed: kill}"
    with open_gate(parent_policy).session() as parent:
        first, second = parent.child(), parent.child()
        first.post_action(first.pre_action("quote", estimate="0.1"), cost="0.6")
        assert not parent.killed
        second.post_action(second.pre_action("quote", estimate="0.1"), cost="0.6")
        assert parent.state.killed_by == "budget.max_cost_per_session"
        assert first.killed
        assert second.killed
        kill = last(ledger)
        assert (kill.fields["event"], kill.fields["session_id"]) == ("kill", parent.id)
        assert notes.events() == [("session_killed", "budget.max_cost_per_session")]
    assert replay(ledger.entries()).ok


def test_killing_the_parent_kills_its_children(open_gate):
    """A parent's kill refuses every later action of its child (and grandchild)."""
    parent_gate = open_gate(POLICY)
    helper_gate = open_gate(CHILD_POLICY, agent=HELPER)
    with parent_gate.session() as parent:
        child = parent.child(helper_gate)
        grandchild = child.child()
        parent.kill("stop everything")
        assert child.killed
        assert grandchild.killed
        for session in (child, grandchild):
            with pytest.raises(SessionKilled, match="parent session"):
                session.pre_action("quote")


def test_a_duplicate_session_id_in_a_tree_is_refused(open_gate):
    """A session id may be started once per tree; bad ids are refused before sealing."""
    gate = open_gate(POLICY)
    with gate.session("root") as root:
        with pytest.raises(UsageError, match="already exists"):
            root.child(session_id="root")
        with pytest.raises(UsageError, match="1 to 256"):
            gate.session("x" * 257)


# -- stale policy ---------------------------------------------------------------------------------


def test_a_gate_follows_a_new_policy_version(open_gate, ledger):
    """After the owner seals v2, the next decision is judged and sealed under v2."""
    gate = open_gate(POLICY)
    with gate.session() as s:
        assert s.pre_action("fetch").allowed
        set_policy(ledger, OWNER, AGENT.address, "actions: {allow: [quote]}")
        d = s.pre_action("fetch")
        assert (d.outcome, d.policy_version, gate.policy_version) == ("deny", 2, 2)
        assert ledger.get(d.index).entry.fields["policy_version"] == 2
    assert replay(ledger.entries()).ok


def test_a_child_under_another_gate_sees_the_parents_new_version(open_gate, ledger):
    """A sub-agent's decision holds the parent to the parent's policy in force, not a stale one."""
    parent_gate = open_gate(
        "actions: {allow: ['*']}\nbudget: {max_cost_per_session: 1.00, on_exceed: deny}"
    )
    with parent_gate.session() as parent:
        child = parent.child(open_gate(CHILD_POLICY, agent=HELPER))
        assert not child.pre_action("quote", estimate="2").allowed
        set_policy(ledger, OWNER, AGENT.address, OPEN)
        assert child.pre_action("quote", estimate="2").allowed
        assert parent_gate.policy_version == 2
    assert replay(ledger.entries()).ok


def test_a_decision_citing_a_superseded_version_is_refused(open_gate, ledger):
    """A hand-signed decision citing v1 after v2 is in force is refused: stale-policy."""
    gate = open_gate(POLICY)
    gate.session("s1")
    set_policy(ledger, OWNER, AGENT.address, OPEN)
    action = ProposedAction("quote", at=gate.now())
    decision = compile_policy(load_policy(POLICY)).evaluate(
        action, SessionState.empty(), now=action.at
    )
    fields = decision_fields(Sealable.of(action), decision, session_id="s1", policy_version=1)
    size = ledger.size()
    with pytest.raises(EntryRejected) as info:
        ledger.append_entry(AGENT, "decision", fields, time=action.at)
    assert info.value.code == "stale-policy"
    assert ledger.size() == size


# -- guards ---------------------------------------------------------------------------------------


def test_a_refused_block_never_runs(open_gate, ledger):
    """The action context manager raises on a refusal before the block runs."""
    ran = []
    with open_gate(POLICY).session() as s:
        with pytest.raises(PolicyViolation), s.action("delete_account"):
            ran.append(True)
        assert ran == []
        assert last(ledger).kind == "decision"


def test_the_cost_set_in_a_block_is_the_sealed_cost(open_gate, ledger):
    """guarded.cost, content_hash and metadata set in the block are sealed on exit."""
    with open_gate(POLICY).session() as s:
        with s.action("quote", estimate="0.5", tool_call_id="call-1") as act:
            act.cost = "0.42"
            act.metadata["venue"] = "x"
        entry = last(ledger)
        assert entry.kind == "action"
        assert entry.fields["decision"] == act.decision.entry_id
        assert entry.fields["cost"] == "0.42"
        assert entry.fields["tool_call_id"] == "call-1"
        assert entry.fields["metadata"] == {"venue": "x", "status": "ok"}
        assert s.total_cost == Decimal("0.42")


def test_an_exception_in_a_block_is_sealed_and_reraised(open_gate, ledger):
    """A block that raises is sealed with status error and the exception propagates."""
    with open_gate(POLICY).session() as s:

        def failing() -> None:
            with s.action("quote") as act:
                act.cost = "0.05"
                raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            failing()
        entry = last(ledger)
        assert entry.fields["metadata"] == {"status": "error", "error": "ZeroDivisionError"}
        assert entry.fields["cost"] == "0.05"
        assert s.reserved == Decimal(0)


def test_a_guarded_function_is_decided_on_its_keyword_arguments(open_gate, ledger):
    """guard seals kwargs as args; a refused call raises and never runs; others return."""
    calls = []
    with open_gate(POLICY).session() as s:

        @s.guard("transfer", target="acct:1", estimate="0.01")
        def transfer(*, amount: int, memo: object = None) -> str:
            calls.append(amount)
            return f"sent {amount}"

        assert transfer(amount=5, memo={1, 2}) == "sent 5"
        decision = ledger.get(ledger.size() - 2).entry
        assert decision.fields["args"] == '{"amount":5,"memo":"{1, 2}"}'
        assert decision.fields["target"] == "acct:1"
        with pytest.raises(PolicyViolation, match=r"conditions\[0\]"):
            transfer(amount=900)
        assert calls == [5]


def test_guard_names_the_action_after_the_function(open_gate, ledger):
    """Without a name, the guarded function's name is the action."""
    with open_gate(OPEN).session() as s:
        s.guard()(lambda: None)()
        assert ledger.get(ledger.size() - 2).entry.fields["action"] == "<lambda>"


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [{"tags": {1, 2}}, {"x": float("nan")}, {1: "key"}, {"b": b"x"}, {"s": "\ud800"}]
)
def test_arguments_that_are_not_json_are_refused_unsealed(open_gate, ledger, args):
    """A set, NaN, a non-string key, bytes or a lone surrogate is a UsageError; nothing sealed."""
    with open_gate(POLICY).session() as s:
        size = ledger.size()
        with pytest.raises(UsageError, match="must be JSON"):
            s.pre_action("quote", args=args)
        assert ledger.size() == size


FLOATS = """
actions: {allow: ['*']}
aggregates:
  - {sum: amount, actions: [transfer], window: 24h, max: 1000, unit: "$"}
conditions:
  - require: "args.rate * 2.0 < 10.0"
    actions: [quote]
"""


def test_float_arguments_are_sealed_as_floats(open_gate, ledger):
    """1.0 and -0.0 are sealed so that the fold and a replay see the floats the gate judged."""
    with open_gate(FLOATS).session() as s:
        assert s.pre_action("transfer", args={"amount": 5.0}).allowed
        assert s.pre_action("quote", args={"rate": 2.0, "skew": -0.0}).allowed
        d = s.pre_action("transfer", args={"amount": 5})
        assert d.verdicts[-1].detail == "Amount $5 within $1,000 daily limit ($5.0 already used)"
    fields = [e.entry.fields for e in ledger.entries() if e.entry.kind == "decision"]
    assert [(f["args"], f["args_basis"]) for f in fields] == [
        ('{"amount":5.0}', "raw"),
        ('{"rate":2.0,"skew":-0.0}', "raw"),
        ('{"amount":5}', "canonical"),
    ]
    assert replay(ledger.entries()).ok


@pytest.mark.parametrize("estimate", ["-0.01", -1, float("nan"), "NaN", "Infinity", "ten", True])
def test_a_bad_estimate_is_refused_unsealed(open_gate, ledger, estimate):
    """A negative, NaN, infinite, non-numeric or boolean estimate is a UsageError."""
    with open_gate(POLICY).session() as s:
        size = ledger.size()
        with pytest.raises(UsageError, match="estimate"):
            s.pre_action("quote", estimate=estimate)
        with pytest.raises(UsageError, match="cost"):
            s.charge(estimate)
        assert ledger.size() == size


@pytest.mark.parametrize(("zero", "text"), [("-0", "0"), ("-0.000", "0.000"), (-0.0, "0.0")])
def test_negative_zero_is_sealed_as_zero(open_gate, ledger, zero, text):
    """An amount of minus zero is zero: sealed unsigned, never refused by the ledger."""
    with open_gate(POLICY).session() as s:
        d = s.pre_action("quote", estimate=zero)
        assert ledger.get(d.index).entry.fields["estimate"] == text
        s.post_action(d, cost=zero)
        assert last(ledger).fields["cost"] == text
        assert s.total_cost == 0


def test_a_webhook_policy_needs_a_secret(open_gate, ledger, monkeypatch):
    """A kill switch with webhooks and no signing secret is refused when the gate opens."""
    monkeypatch.delenv(WEBHOOK_SECRET_ENV, raising=False)
    policy = OPEN + "kill_switch:\n  notify:\n    - webhook: https://hooks.example.com/x\n"
    with pytest.raises(UsageError, match="no signing secret"):
        open_gate(policy, notifier=None)
    open_gate(notifier=None, webhook_secret="s3cret").close()
    monkeypatch.setenv(WEBHOOK_SECRET_ENV, "from-env")
    open_gate(notifier=None).close()


def test_a_gate_runs_only_a_registered_agents_key(open_gate, ledger):
    """An owner's key is a UsageError; an unregistered key is NotFound."""
    with pytest.raises(UsageError, match="is an owner"):
        Gate(ledger, OWNER, policy=OPEN)
    with pytest.raises(NotFound):
        Gate(ledger, STRANGER, policy=OPEN)


def test_a_gate_needs_a_policy(open_gate, ledger):
    """No sealed policy and none given is NotFound; an unsealed one given is used, unversioned."""
    with pytest.raises(NotFound, match="has no policy"):
        Gate(ledger, AGENT)
    with Gate(ledger, AGENT, policy=OPEN) as gate, gate.session() as s:
        d = s.pre_action("quote")
        assert (d.allowed, d.policy_version, gate.policy_version) == (True, None, None)
        assert "policy_version" not in ledger.get(d.index).entry.fields


def test_a_given_policy_must_be_the_sealed_one(open_gate, ledger):
    """Giving a policy other than the sealed version is refused; the same one is accepted."""
    set_policy(ledger, OWNER, AGENT.address, POLICY)
    with pytest.raises(UsageError, match=r"not .* sealed version 1"):
        Gate(ledger, AGENT, policy=OPEN)
    Gate(ledger, AGENT, policy=POLICY).close()


def test_settling_an_unversioned_decision_after_sealing_cites_no_version(open_gate, ledger):
    """A decision made under an unsealed policy is settled without a policy_version."""
    with Gate(ledger, AGENT, policy=OPEN) as gate, gate.session() as s:
        d = s.pre_action("quote")
        set_policy(ledger, OWNER, AGENT.address, OPEN)
        assert s.pre_action("quote").policy_version == 1
        s.post_action(d)
        assert "policy_version" not in last(ledger).fields


def test_no_decision_after_the_session_ended(open_gate, ledger):
    """pre_action on an ended session is a UsageError and seals nothing."""
    with open_gate(POLICY).session() as s:
        pass
    size = ledger.size()
    with pytest.raises(UsageError, match="ended"):
        s.pre_action("quote")
    assert ledger.size() == size
    s.end()
    assert ledger.size() == size


# -- model spend ----------------------------------------------------------------------------------

PRICES = PriceOverrides.from_mapping(
    {"openai/in-house-7b": {"input_per_mtok": "0.50", "output_per_mtok": "1.00"}}
)


def test_charge_adds_to_the_total_without_a_decision(open_gate, ledger):
    """charge seals an action entry citing no decision and counts its cost."""
    with open_gate(POLICY).session(run_id="r1") as s:
        s.charge("0.25", metadata={"model": "m"})
        entry = last(ledger)
        assert (entry.kind, entry.fields["action"], entry.fields["cost"]) == (
            "action",
            "model_call",
            "0.25",
        )
        assert "decision" not in entry.fields
        assert entry.fields["run_id"] == "r1"
        assert s.total_cost == Decimal("0.25")


def test_charge_past_the_budget_kills(open_gate, ledger):
    """A charge that breaks a kill-mode session budget kills at once."""
    with open_gate(POLICY).session() as s:
        s.charge("1.01")
        assert s.state.killed_by == "budget.max_cost_per_session"


def test_charge_usage_prices_tokens_from_the_override_table(open_gate, ledger):
    """charge_usage prices usage by the override table and seals the breakdown."""
    gate = open_gate(POLICY, prices=PRICES)
    usage = {
        "model": "in-house-7b",
        "usage": {"prompt_tokens": 400_000, "completion_tokens": 100_000},
    }
    with gate.session() as s:
        s.charge_usage("openai", usage)
        assert s.total_cost == Decimal("0.3")
        meta = last(ledger).fields["metadata"]
        assert (meta["provider"], meta["model"]) == ("openai", "in-house-7b")
        assert meta["usage"] == {
            "input": 400_000,
            "output": 100_000,
            "cache_read": 0,
            "cache_write": 0,
        }
        assert not s.killed
        s.charge_usage("openai", usage)
        s.charge_usage("openai", usage)
        s.charge_usage("openai", usage)
        assert s.killed


# -- resuming -------------------------------------------------------------------------------------


def test_a_session_resumed_elsewhere_keeps_its_state(open_gate, ledger):
    """resume folds the session from the log: costs, open reservations, violations carry on."""
    gate = open_gate(POLICY)
    s = gate.session("s1", run_id="r1")
    open_decision = s.pre_action("quote", estimate="0.4")
    s.record_violation("pii_blocked", count=2)
    again = open_gate().resume("s1")
    assert again.run_id == "r1"
    assert (again.total_cost, again.reserved) == (Decimal("0.4"), Decimal("0.4"))
    again.post_action(open_decision, cost="0.1")
    assert again.total_cost == Decimal("0.1")
    assert again.record_violation("pii_blocked") is True
    with pytest.raises(NotFound):
        gate.resume("nope")
    again.end()
    with pytest.raises(UsageError, match="has ended"):
        gate.resume("s1")
