"""explain(): every limit in plain words, and a line saying what is not limited."""

from __future__ import annotations
import __future__

import types

import sealog.policy
from sealog.policy import explain, load_policy


def test_every_rule_has_a_line(asset):
    """Each rule of the full example appears once, by id, with its weight and class."""
    policy = load_policy(asset("policies/native/full.yaml"))
    lines = explain(policy)
    for rule in policy.rules:
        assert sum(line.startswith(f"[{rule.rule_id}] ") for line in lines) == 1
    assert lines[-1] == "Sets a limit of every kind."
    assert any(
        line.startswith("On a kill: notifies https://hooks.example.com/sealog") for line in lines
    )
    assert "Audit trail exported as JSONL to audit/trading.jsonl." in lines


def test_sentences_in_plain_words():
    """Limits read as sentences with their numbers and modes."""
    policy = load_policy(
        "budget: {max_cost_per_session: 1000, alert_at: 0.5, on_exceed: alert}\n"
        "aggregates: [{sum: amount, actions: [transfer], window: 24h, max: 1000, unit: '$'}]\n"
        "violations: {thresholds: {pii_blocked: 3}}\n"
    )
    text = "\n".join(explain(policy))
    assert (
        "Cost at most $1,000 per session, alert at 50% of it; beyond that alerts but allows."
        in text
    )
    assert "The sum of args.amount for transfer over 1d stays at most $1,000." in text
    assert "After 3 pii_blocked violation(s), kills the session." in text


def test_says_what_it_does_not_limit():
    """The last line names the kinds of limit the policy leaves out."""
    lines = explain(load_policy("actions: {deny: [x]}"))
    assert lines[-1].startswith("Does not limit: which tools may run;")
    assert "cost" in lines[-1]
    assert "which actions may run" not in lines[-1]


def test_all_lists_public_names():
    """sealog.policy.__all__ names exactly what the package exports."""
    public = {
        name
        for name, value in vars(sealog.policy).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and value is not __future__.annotations
    }
    assert set(sealog.policy.__all__) == public | {"explain"}


def test_sentences_for_time_ask_and_conditions():
    """Expiry, ask rules and asking conditions read as sentences."""
    policy = load_policy(
        "expires_at: 2027-01-01T00:00:00Z\n"
        "ask: [{actions: [deploy], when: \"args.env == 'prod'\"}]\n"
        "conditions: [{require: 'args.n < 3', actions: [x], on_fail: ask}]\n"
        "kill_switch: {grace_period: 30s}\n"
    )
    lines = explain(policy)
    assert (
        "[expires_at] Nothing is allowed after 2027-01-01T00:00:00+00:00. (risk 50, expired)"
        in lines
    )
    assert any(
        "Actions deploy when args.env == 'prod' wait for a human's approval." in x for x in lines
    )
    assert any("Requires args.n < 3 for x; otherwise asks a human." in x for x in lines)
    assert "On a kill: notifies no webhook; grace period 30s." in lines
