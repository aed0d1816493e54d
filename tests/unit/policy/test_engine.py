"""The compiled evaluator: every rule kind allows and denies, precedence, risk, kill, replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import cel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.canonical import canonicalize
from sealog.errors import UsageError
from sealog.policy import (
    Decision,
    ProposedAction,
    SessionState,
    compile_policy,
    load_policy,
)
from sealog.policy._timeline import Recorded, Timeline

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def engine(text):
    return compile_policy(load_policy(text))


def act(action="read", *, at=T0, **kw):
    return ProposedAction(action=action, at=at, **kw)


def decide(text, action, state=None, now=None):
    return engine(text).evaluate(action, state or SessionState.empty(T0), now=now or action.at)


def run(policy, actions):
    """Evaluate a sequence from empty state, recording each decision; return the decisions."""
    state, out = SessionState.empty(T0), []
    for a in actions:
        d = policy.evaluate(a, state, now=a.at)
        out.append(d)
        state = state.record(a, d)
    return out, state


def verdict(decision: Decision, rule_id: str):
    return next(v for v in decision.verdicts if v.rule_id == rule_id)


# --- lists -----------------------------------------------------------------------------


def test_denied_action_exact_and_glob():
    """A denied action (exact name or glob) is refused with class forbidden_action."""
    policy = "actions: {deny: [delete_account, 'drop_*']}"
    assert decide(policy, act("delete_account")).outcome == "deny"
    d = decide(policy, act("drop_table"))
    assert (d.outcome, d.blocking_rule, d.decision_class) == (
        "deny",
        "actions.denied",
        "forbidden_action",
    )
    assert decide(policy, act("read")).outcome == "allow"


def test_allowed_actions_refuse_everything_else():
    """With an allow list, an unlisted action is denied and a listed one allowed."""
    policy = "actions: {allow: [quote, 'read_*']}"
    assert decide(policy, act("read_book")).outcome == "allow"
    d = decide(policy, act("transfer"))
    assert d.outcome == "deny"
    assert verdict(d, "actions.allowed").detail == "Action 'transfer' is not allowed"


def test_tools_allow_and_deny():
    """Tool lists apply to the tool name; an action without a tool is not a tool call."""
    policy = "tools: {allow: [Read, Bash], deny: ['rm*']}"
    assert decide(policy, act("call", tool="Read")).outcome == "allow"
    assert decide(policy, act("call", tool="Write")).outcome == "deny"
    assert decide(policy, act("call", tool="rmdir")).blocking_rule == "tools.denied"
    assert decide(policy, act("think")).outcome == "allow"


def test_targets_match_prefixes_and_globs():
    """A plain target pattern is a prefix; one with glob characters is a glob."""
    policy = "targets: {allow: ['https://api.example/', 's3://r/*.csv']}"
    assert decide(policy, act(target="https://api.example/v1/quote")).outcome == "allow"
    assert decide(policy, act(target="s3://r/q1.csv")).outcome == "allow"
    d = decide(policy, act(target="https://evil.example/"))
    assert (d.outcome, d.decision_class) == ("deny", "scope_violation")


def test_paths_denied_on_full_path_and_basename():
    """A denied path glob matches the full path or the file name."""
    policy = "paths: {deny: ['*.env', '/etc/*']}"
    assert decide(policy, act(paths=("/srv/app/.env",))).outcome == "deny"
    assert decide(policy, act(paths=("/etc/passwd",))).outcome == "deny"
    assert decide(policy, act(paths=("/srv/app/main.py",))).outcome == "allow"


# --- time, counts, budget --------------------------------------------------------------


def test_expiry():
    """Before expires_at actions pass; at or after it they are denied as expired."""
    policy = "expires_at: 2026-06-01T13:00:00Z\nactions: {allow: ['*']}"
    assert decide(policy, act()).outcome == "allow"
    d = decide(policy, act(at=T0 + timedelta(hours=1)))
    assert (d.outcome, d.decision_class) == ("deny", "expired")


def test_rate_limit_per_hour_slides():
    """max_actions_per_hour refuses the next action in the hour and allows it once one ages out."""
    policy = engine("rate_limits: {max_actions_per_hour: 2}")
    acts = [act(at=T0), act(at=T0 + timedelta(minutes=10)), act(at=T0 + timedelta(minutes=20))]
    decisions, state = run(policy, acts)
    assert [d.outcome for d in decisions] == ["allow", "allow", "deny"]
    assert decisions[2].decision_class == "rate_limited"
    later = act(at=T0 + timedelta(minutes=61))
    assert policy.evaluate(later, state, now=later.at).outcome == "allow"


def test_rate_limit_per_action_type():
    """A per-action rate limit counts only that action."""
    policy = engine("rate_limits: {per_action: {transfer: 1}}")
    decisions, _ = run(policy, [act("transfer"), act("quote"), act("transfer")])
    assert [d.outcome for d in decisions] == ["allow", "allow", "deny"]


def test_session_caps_kill():
    """session.max_actions and max_duration kill the session by default, as in AgentTrace."""
    policy = engine("session: {max_actions: 1, max_duration: 30m}")
    decisions, state = run(policy, [act(), act()])
    assert [d.outcome for d in decisions] == ["allow", "kill"]
    assert state.killed_by == "session.max_actions"
    late = act(at=T0 + timedelta(minutes=31))
    fresh = SessionState.empty(T0)
    assert policy.evaluate(late, fresh, now=late.at).blocking_rule == "session.max_duration"


def test_killed_session_refuses_everything():
    """After a kill, every later action is killed with rule session.killed."""
    policy = engine("session: {max_actions: 1}")
    _, state = run(policy, [act(), act()])
    d = policy.evaluate(act("anything"), state, now=T0)
    assert (d.outcome, d.blocking_rule, d.risk) == ("kill", "session.killed", 100)


def test_budget_per_session_alert_and_kill():
    """The session budget alerts past alert_at and applies on_exceed when it would be exceeded."""
    policy = engine("budget: {max_cost_per_session: 2.00, alert_at: 0.8, on_exceed: kill}")
    decisions, _ = run(
        policy,
        [act(cost=Decimal("1.00")), act(cost=Decimal("0.70")), act(cost=Decimal("0.50"))],
    )
    assert [d.outcome for d in decisions] == ["allow", "allow", "kill"]
    assert decisions[1].alerts == ("budget.max_cost_per_session",)
    assert "alert threshold 80% reached" in decisions[1].verdicts[0].detail
    assert decisions[2].verdicts[0].detail == "Session cost $2.20 over $2.00 limit"


def test_budget_per_action_denies():
    """max_cost_per_action refuses an over-priced action without killing the session."""
    policy = "budget: {max_cost_per_action: 0.50}"
    assert decide(policy, act(cost=Decimal("0.50"))).outcome == "allow"
    d = decide(policy, act(cost=Decimal("0.51")))
    assert (d.outcome, d.decision_class) == ("deny", "budget_exceeded")


def test_alert_and_log_modes_never_block():
    """A budget in alert mode lets the action through and lists the breach among alerts."""
    d = decide("budget: {max_cost_per_session: 1, on_exceed: alert}", act(cost=Decimal(5)))
    assert d.outcome == "allow"
    assert d.alerts == ("budget.max_cost_per_session",)
    assert d.risk == 50
    assert not d.verdicts[0].passed


def test_violation_threshold_kills():
    """Once a violation type reaches its threshold, the next decision kills the session."""
    policy = engine("violations: {thresholds: {pii_blocked: 3}, on_threshold: kill}")
    state = SessionState.empty(T0).with_violation("pii_blocked", 2)
    assert policy.evaluate(act(), state, now=T0).outcome == "allow"
    d = policy.evaluate(act(), state.with_violation("pii_blocked"), now=T0)
    assert (d.outcome, d.decision_class) == ("kill", "violation_threshold")
    assert verdict(d, "violations.pii_blocked").detail == "3 pii_blocked violation(s), threshold 3"


# --- flows, CEL, aggregates, ask --------------------------------------------------------


def test_data_flow_from_earlier_action():
    """A shell command after a web fetch in the same session is denied as a data flow."""
    policy = engine("flows: {deny: ['WebFetch->Shell']}")
    shell = act("tool_call", tool="Shell")
    assert policy.evaluate(shell, SessionState.empty(T0), now=T0).outcome == "allow"
    decisions, _ = run(policy, [act("tool_call", tool="WebFetch"), shell])
    assert decisions[1].outcome == "deny"
    assert decisions[1].decision_class == "data_flow"


def test_data_flow_from_content_label():
    """Content labelled with a denied source is refused at the sink."""
    d = decide(
        "flows: {deny: ['ExternalContent->GitHub']}", act("GitHub", sources=("ExternalContent",))
    )
    assert d.outcome == "deny"


def test_cel_condition_allows_and_denies():
    """A CEL condition scoped to an action passes or denies on the arguments."""
    policy = "conditions: [{require: 'args.amount <= 1000', actions: [transfer]}]"
    assert decide(policy, act("transfer", args={"amount": 500})).outcome == "allow"
    d = decide(policy, act("transfer", args={"amount": 5000}))
    assert (d.outcome, d.decision_class) == ("deny", "condition_failed")
    assert decide(policy, act("quote", args={"amount": 5000})).outcome == "allow"


def test_cel_error_fails_closed():
    """A CEL evaluation error (a missing argument) denies, with the error in the detail."""
    d = decide("conditions: [{require: 'args.amount <= 1000'}]", act("transfer"))
    assert d.outcome == "deny"
    assert "CEL error" in d.verdicts[0].detail


def test_cel_non_boolean_fails_closed():
    """A CEL expression that yields a non-boolean denies."""
    d = decide("conditions: [{require: 'args.amount'}]", act(args={"amount": 3}))
    assert d.outcome == "deny"
    assert "not a boolean" in d.verdicts[0].detail


def test_windowed_aggregate_daily_limit():
    """The 24 h sum of args.amount is held to the limit, with the detail in words."""
    policy = engine(
        "aggregates: [{sum: amount, actions: [transfer], window: 24h, max: 1000, unit: '$'}]"
    )
    acts = [
        act("transfer", args={"amount": 500}),
        act("transfer", at=T0 + timedelta(hours=1), args={"amount": 400}),
        act("transfer", at=T0 + timedelta(hours=2), args={"amount": 200}),
        act("transfer", at=T0 + timedelta(hours=25), args={"amount": 200}),
    ]
    decisions, _ = run(policy, acts)
    assert [d.outcome for d in decisions] == ["allow", "allow", "deny", "allow"]
    assert decisions[0].verdicts[0].detail == "Amount $500 within $1,000 daily limit"
    assert (
        decisions[2].verdicts[0].detail == "Amount $200 over $1,000 daily limit ($900 already used)"
    )


def test_aggregate_missing_argument_fails_closed():
    """A matching action without the summed argument is denied."""
    d = decide(
        "aggregates: [{sum: amount, actions: [transfer], window: 1d, max: 10}]", act("transfer")
    )
    assert d.outcome == "deny"


def test_ask_rule_with_condition():
    """An ask rule sends matching actions to a human only when its condition holds."""
    policy = "ask: [{actions: [post_message], when: \"args.channel == 'public'\"}]"
    d = decide(policy, act("post_message", args={"channel": "public"}))
    assert (d.outcome, d.decision_class) == ("ask", "needs_approval")
    assert decide(policy, act("post_message", args={"channel": "team"})).outcome == "allow"


def test_condition_can_ask_instead_of_deny():
    """A condition with on_fail: ask asks a human when it does not hold."""
    policy = "conditions: [{require: 'args.amount < 10', on_fail: ask}]"
    assert decide(policy, act(args={"amount": 50})).outcome == "ask"


# --- precedence, risk, identity ----------------------------------------------------------


def test_precedence_kill_over_deny_over_ask():
    """Kill beats deny beats ask; the blocking rule is the strongest failed rule."""
    text = (
        "actions: {deny: [x]}\nask: [{actions: [x]}]\nviolations: {thresholds: {pii_blocked: 1}}\n"
    )
    policy = engine(text)
    fresh = SessionState.empty(T0)
    assert policy.evaluate(act("x"), fresh, now=T0).outcome == "deny"
    killed = policy.evaluate(act("x"), fresh.with_violation("pii_blocked"), now=T0)
    assert (killed.outcome, killed.blocking_rule) == ("kill", "violations.pii_blocked")
    assert engine("ask: [{actions: [x]}]").evaluate(act("x"), fresh, now=T0).outcome == "ask"


def test_risk_is_noisy_or_of_failed_weights():
    """Risk combines failed weights as 100·(1−Π(1−w/100)): 80 and 50 give 90."""
    text = "actions: {deny: [x]}\nbudget: {max_cost_per_action: 1}"
    d = decide(text, act("x", cost=Decimal(2)))
    assert d.risk == 90
    assert decide(text, act("y")).risk == 0


def test_overrides_change_weight_and_class():
    """overrides set a rule's risk weight and decision class."""
    d = decide(
        "actions: {deny: [x]}\noverrides: {actions.denied: {risk: 95, class: pricing_leak}}",
        act("x"),
    )
    assert (d.risk, d.decision_class) == (95, "pricing_leak")


def test_decision_cites_policy_version_and_hash():
    """A decision carries the policy version and the hash of its canonical form."""
    policy = load_policy("version: '7'\nactions: {allow: ['*']}")
    d = compile_policy(policy).evaluate(act(), SessionState.empty(), now=T0)
    assert (d.policy_version, d.policy_hash) == ("7", policy.hash())
    assert d.to_dict()["outcome"] == "allow"


def test_denied_and_pending_actions_do_not_count():
    """Only allowed actions enter the session's history and cost."""
    policy = engine("actions: {deny: [x]}")
    _, state = run(policy, [act("x", cost=Decimal(1)), act("y", cost=Decimal(2))])
    assert (state.action_count, state.total_cost) == (1, Decimal(2))


# --- properties ---------------------------------------------------------------------------

PROPERTY_POLICY = compile_policy(
    load_policy(
        """
actions: {deny: [delete]}
flows: {deny: ['fetch->shell']}
rate_limits: {max_actions_per_hour: 5, per_action: {transfer: 3}}
session: {max_actions: 12}
budget: {max_cost_per_session: 3, max_cost_per_action: 1, on_exceed: kill}
aggregates: [{sum: amount, actions: [transfer], window: 1h, max: 100}]
conditions: [{require: 'args.amount <= 80', actions: [transfer]}]
ask: [{actions: [post], when: "args.amount > 50"}]
"""
    )
)
ACTIONS = st.builds(
    lambda name, minutes, amount, cents: (name, minutes, amount, cents),
    st.sampled_from(["transfer", "read", "delete", "post", "fetch", "shell"]),
    st.integers(0, 30),
    st.integers(0, 120),
    st.integers(0, 150),
)


def materialize(specs):
    at, out = T0, []
    for name, minutes, amount, cents in specs:
        at += timedelta(minutes=minutes)
        out.append(act(name, at=at, args={"amount": amount}, cost=Decimal(cents) / 100))
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(ACTIONS, max_size=25))
def test_same_sequence_same_decisions(specs):
    """The same policy and the same action sequence always yield the same decisions."""
    actions = materialize(specs)
    first, _ = run(PROPERTY_POLICY, actions)
    second, _ = run(PROPERTY_POLICY, actions)
    assert first == second


@settings(max_examples=60, deadline=None)
@given(st.lists(ACTIONS, max_size=25))
def test_replay_from_recorded_log_reproduces_decisions(specs):
    """Replaying a recorded (action, decision) log from empty state reproduces every decision."""
    log, state = [], SessionState.empty(T0)
    for a in materialize(specs):
        d = PROPERTY_POLICY.evaluate(a, state, now=a.at)
        log.append((a, d))
        state = state.record(a, d)
    replayed = SessionState.empty(T0)
    for a, sealed in log:
        again = compile_policy(PROPERTY_POLICY.policy).evaluate(a, replayed, now=a.at)
        assert again == sealed
        replayed = replayed.record(a, again)
    assert replayed == state


@pytest.mark.parametrize("outcome", ["deny", "ask"])
def test_non_allowed_outcomes_leave_state_unchanged(outcome):
    """Recording a deny or an ask leaves the session state as it was."""
    text = "actions: {deny: [x]}" if outcome == "deny" else "ask: [{actions: [x]}]"
    policy = engine(text)
    state = SessionState.empty(T0)
    d = policy.evaluate(act("x"), state, now=T0)
    assert d.outcome == outcome
    assert state.record(act("x"), d) == state


# --- smaller branches ---------------------------------------------------------------------


def test_session_starts_at_first_recorded_action():
    """A state without a start time starts at its first allowed action."""
    policy = engine("session: {max_duration: 10m}")
    first = act(at=T0 + timedelta(hours=5))
    state = SessionState.empty()
    d = policy.evaluate(first, state, now=first.at)
    state = state.record(first, d)
    assert state.started_at == first.at
    late = act(at=first.at + timedelta(minutes=11))
    assert policy.evaluate(late, state, now=late.at).outcome == "kill"


def test_ask_rule_cel_error_denies():
    """An ask rule whose condition errors denies (fail closed), it does not ask."""
    d = decide("ask: [{actions: [x], when: 'args.missing > 1'}]", act("x"))
    assert d.outcome == "deny"
    assert d.verdicts[0].detail.startswith("CEL error")


def test_condition_scoped_by_tool():
    """A condition scoped to a tool name applies to actions using that tool."""
    policy = "conditions: [{require: \"!args.command.contains('sudo')\", actions: [Bash]}]"
    assert (
        decide(policy, act("tool_call", tool="Bash", args={"command": "sudo ls"})).outcome == "deny"
    )
    assert (
        decide(policy, act("tool_call", tool="Read", args={"command": "sudo"})).outcome == "allow"
    )


def test_verdict_details_in_words():
    """Verdict details say what was checked, in words."""
    text = (
        "expires_at: 2027-01-01T00:00:00Z\n"
        "flows: {deny: ['WebFetch->Shell']}\n"
        "rate_limits: {max_actions_per_hour: 5}\n"
        "paths: {deny: ['*.env']}\n"
    )
    d = decide(text, act("Shell", paths=("/a/b.py",)))
    details = {v.rule_id: v.detail for v in d.verdicts}
    assert details == {
        "expires_at": "Policy expires at 2027-01-01T00:00:00+00:00",
        "paths.denied": "No forbidden path",
        "flows.denied[0]": "No WebFetch content reaches Shell",
        "rate_limits.max_actions_per_hour": "0 of 5 actions used in the last 1h",
    }


def test_decision_to_dict_is_canonical_json():
    """A decision's JSON form canonicalizes (no floats, no Decimals)."""
    d = decide("budget: {max_cost_per_session: 1, alert_at: 0.5}", act(cost=Decimal("0.6")))
    assert d.alerts == ("budget.max_cost_per_session",)
    assert canonicalize(d.to_dict())


def test_allowed_property():
    """Decision.allowed is true exactly for allow."""
    assert decide("actions: {allow: [a]}", act("a")).allowed
    assert not decide("actions: {allow: [a]}", act("b")).allowed


def test_bad_proposed_actions_are_usage_errors():
    """A naive time or a negative, non-finite or float cost is the caller's error."""
    with pytest.raises(UsageError):
        ProposedAction("x", at=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    for cost in (Decimal(-1), Decimal("NaN"), 0.5):
        with pytest.raises(UsageError):
            ProposedAction("x", at=T0, cost=cost)


def test_non_finite_amount_fails_closed():
    """An infinite or NaN amount is not a number to sum: the action is denied."""
    policy = "aggregates: [{sum: amount, actions: [t], window: 1h, max: 10}]"
    assert decide(policy, act("t", args={"amount": float("inf")})).outcome == "deny"
    assert decide(policy, act("t", args={"amount": float("nan")})).outcome == "deny"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["amount", "to", "command", "channel"]), JSON, max_size=4))
def test_any_arguments_give_a_decision(args):
    """Whatever the arguments, evaluation returns a decision (errors fail closed, never raise)."""
    a = act("transfer", tool="Bash", args=args)
    d = PROPERTY_POLICY.evaluate(a, SessionState.empty(T0), now=T0)
    assert d.outcome in {"allow", "deny", "ask", "kill"}
    SessionState.empty(T0).record(a, d)


# --- indexed windows (the session timeline) -----------------------------------------------

HOUR = timedelta(hours=1)


def test_window_boundary_is_exclusive():
    """A recorded action exactly one window old no longer counts; a microsecond younger does."""
    policy = engine("rate_limits: {max_actions_per_hour: 1}")
    _, state = run(policy, [act(at=T0)])
    edge, inside = act(at=T0 + HOUR), act(at=T0 + HOUR - timedelta(microseconds=1))
    assert policy.evaluate(edge, state, now=edge.at).outcome == "allow"
    assert policy.evaluate(inside, state, now=inside.at).outcome == "deny"


def test_windowed_sum_after_expiry():
    """Amounts leave the windowed sum exactly when they age out, keeping the naive wording."""
    policy = engine("aggregates: [{sum: amount, actions: [transfer], window: 1h, max: 100}]")
    amounts = [(T0, 60), (T0 + timedelta(minutes=30), 30.5)]
    _, state = run(policy, [act("transfer", at=t, args={"amount": n}) for t, n in amounts])
    probe = act("transfer", at=T0 + HOUR, args={"amount": 5})
    assert verdict(policy.evaluate(probe, state, now=probe.at), "aggregates[0]").detail == (
        "Amount 5 within 100 hourly limit (30.5 already used)"
    )
    early = act("transfer", at=T0 + timedelta(minutes=59), args={"amount": 10})
    assert policy.evaluate(early, state, now=early.at).outcome == "deny"
    gone = act("transfer", at=T0 + 2 * HOUR, args={"amount": 100})
    assert verdict(policy.evaluate(gone, state, now=gone.at), "aggregates[0]").passed


def test_record_on_an_old_state_branches():
    """Recording on an older state leaves it and its other successors unchanged."""
    policy = engine("rate_limits: {per_action: {t: 5}}\nactions: {allow: ['*']}")
    _, base = run(policy, [act("t"), act("t")])
    one = base.record(
        act("t", at=T0 + HOUR / 2), Decision("allow", (), 0, None, "allowed", None, "")
    )
    two = base.record(
        act("u", at=T0 + HOUR / 2), Decision("allow", (), 0, None, "allowed", None, "")
    )
    probe = act("t", at=T0 + HOUR / 2)
    used = [verdict(policy.evaluate(probe, s, now=probe.at), "rate_limits.per_action.t").detail
            for s in (base, one, two)]  # fmt: skip
    assert used == [f"{n} of 5 actions used in the last 1h" for n in (2, 3, 2)]
    assert [s.action_count for s in (base, one, two)] == [2, 3, 3]
    assert one.history[:2] == two.history[:2] == base.history
    assert one != two


def test_unconvertible_argument_reports_the_same_cel_error():
    """A value CEL cannot convert fails closed with the error the plain dict evaluation gives."""
    a = act("t", args={"x": object()})
    d = decide("conditions: [{require: 'size(paths) == 0'}]", a)
    plain = {
        "action": "t",
        "tool": "",
        "target": "",
        "args": dict(a.args),
        "paths": [],
        "sources": [],
    }
    try:
        cel.compile("size(paths) == 0").execute(plain)
    except Exception as exc:  # noqa: BLE001 - the message is what is compared
        expected = f"size(paths) == 0: CEL error: {type(exc).__name__}: {exc}"
    assert (d.outcome, d.verdicts[0].detail) == ("deny", expected)


def naive_count(records, since, select):
    return sum(1 for r in records if r.at > since and select(r.action, r.tool))


def naive_total(records, since, select, arg):
    return sum((dict(r.numbers).get(arg, Decimal(0)) for r in records
                if r.at > since and select(r.action, r.tool)), Decimal(0))  # fmt: skip


NUMBERS = st.one_of(
    st.integers(-(10**6), 10**6),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=1000),
    st.sampled_from([Decimal("0.0"), Decimal("1E+3"), Decimal("-0"), Decimal("12.50")]),
)
SPOILERS = st.sampled_from([None, Decimal(10**14), Decimal("1E-12")])
RECORDS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "ab"]),
        st.sampled_from([None, "a", "t"]),
        st.integers(0, 40),
        st.none() | NUMBERS,
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(RECORDS, st.integers(0, 60), st.integers(0, 40), st.booleans(), SPOILERS)
def test_timeline_equals_the_naive_scan(specs, window, branch_at, ordered, spoiler):
    """Indexed counts and sums equal the naive scan, representation included, on every branch."""
    line, records, at = Timeline(), [], T0
    if spoiler is not None:  # a number where the naive Decimal sum could round
        specs = [*specs, ("a", None, 1, spoiler)]
    for i, (name, tool, step, number) in enumerate(specs):
        at += timedelta(minutes=step if ordered or i % 7 else -step)  # out of time order
        numbers = () if number is None else (("n", Decimal(number)),)
        records.append(Recorded(at, name, tool, numbers))
        line = line.append(records[-1])
    branch = Timeline(tuple(records[:branch_at])).append(
        Recorded(at, "a", None, (("n", Decimal(7)),))
    )
    views = [(line, records), (branch, [*records[:branch_at], branch.records()[-1]])]
    selectors = {("count", "a"): lambda x, t: x == "a" or t == "a", ("count", "*"): None}
    for view, rs in views:
        assert view.records() == tuple(rs)
        for minutes in range(-5, 40 * 40, max(1, window * 7)):
            since = T0 + timedelta(minutes=minutes)
            for key, select in selectors.items():
                want = naive_count(rs, since, select or (lambda _x, _t: True))
                assert view.count(key, select, since) == want
            got = view.total(("sum", "a"), lambda x, _t: x.startswith("a"), "n", since)
            want = naive_total(rs, since, lambda x, _t: x.startswith("a"), "n")
            assert (got, str(got)) == (want, str(want))
