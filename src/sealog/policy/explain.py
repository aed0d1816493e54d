"""``explain(policy)``: every limit a policy sets, in plain words, and what it leaves unlimited.

This is what ``sealog policy explain FILE`` prints. Since a limit exists only if the policy states
it, the last line names the kinds of limit the policy does *not* set, so nobody mistakes silence
for a default.
"""

from __future__ import annotations

from sealog.policy.model import (
    AggregateLimit,
    AskRule,
    BudgetLimit,
    Condition,
    CountLimit,
    DurationLimit,
    Expiry,
    FlowRule,
    ListRule,
    Policy,
    Rule,
    ViolationThreshold,
    human_duration,
)

__all__ = ["explain"]

_MODE_WORDS = {
    "kill": "kills the session",
    "deny": "refuses the action",
    "alert": "alerts but allows",
    "log": "logs but allows",
}
_KINDS = {
    "actions": "which actions may run",
    "tools": "which tools may run",
    "targets": "which targets may be touched",
    "paths": "which paths may be touched",
    "rate": "how many actions per hour",
    "session": "session length or action count",
    "budget": "cost",
    "violations": "violation counts",
    "flows": "data flows",
    "conditions": "arguments",
}


def explain(policy: Policy) -> list[str]:
    """Plain-word lines: one per rule, the kill switch, the audit export, what is not limited."""
    lines = [
        f"Policy {policy.version or '(no version)'} ({policy.shape} shape), hash {policy.hash()}"
    ]
    if policy.agent_id:
        lines.append(f"Applies to agent {policy.agent_id}.")
    lines += [
        f"[{rule.rule_id}] {_describe(rule)} (risk {rule.risk}, {rule.decision_class})"
        for rule in policy.rules
    ]
    if policy.kill_switch and policy.kill_switch.enabled:
        hooks = ", ".join(policy.kill_switch.webhooks) or "no webhook"
        grace = human_duration(policy.kill_switch.grace_period)
        lines.append(f"On a kill: notifies {hooks}; grace period {grace}.")
    if policy.audit and policy.audit.path:
        lines.append(f"Audit trail exported as JSONL to {policy.audit.path}.")
    missing = [
        words for kind, words in _KINDS.items() if not any(_kind(r) == kind for r in policy.rules)
    ]
    if missing:
        lines.append("Does not limit: " + "; ".join(missing) + ".")
    else:
        lines.append("Sets a limit of every kind.")
    return lines


def _kind(rule: Rule) -> str:
    """Which of the ``_KINDS`` a rule limits."""
    if isinstance(rule, ListRule):
        return {"action": "actions", "tool": "tools", "target": "targets", "path": "paths"}[
            rule.field
        ]
    if isinstance(rule, CountLimit):
        return "session" if rule.window is None and not rule.match else "rate"
    kinds: dict[type, str] = {
        DurationLimit: "session",
        BudgetLimit: "budget",
        ViolationThreshold: "violations",
        FlowRule: "flows",
        Condition: "conditions",
        AggregateLimit: "conditions",
    }
    return kinds.get(type(rule), "other")


def _describe(rule: Rule) -> str:  # noqa: PLR0911 - one sentence per rule kind
    """One sentence for one rule."""
    if isinstance(rule, ListRule):
        names = ", ".join(rule.patterns) or "nothing"
        if rule.kind == "allow":
            how = " (prefixes or globs)" if rule.field == "target" else ""
            return f"Only these {rule.field}s are allowed{how}: {names}."
        where = " (full path or file name)" if rule.field == "path" else ""
        return f"These {rule.field}s are forbidden{where}: {names}."
    if isinstance(rule, Expiry):
        return f"Nothing is allowed after {rule.at.isoformat()}."
    if isinstance(rule, ViolationThreshold):
        return f"After {rule.count} {rule.violation} violation(s), {_MODE_WORDS[rule.mode]}."
    if isinstance(rule, DurationLimit):
        span = human_duration(rule.seconds)
        return f"A session may run {span}; beyond that {_MODE_WORDS[rule.mode]}."
    if isinstance(rule, CountLimit):
        which = f"actions matching {', '.join(rule.match)}" if rule.match else "actions"
        per = "per session" if rule.window is None else f"per {human_duration(rule.window)}"
        return f"At most {rule.limit} {which} {per}; beyond that {_MODE_WORDS[rule.mode]}."
    if isinstance(rule, BudgetLimit):
        alert = f", alert at {rule.alert_at * 100:.0f}% of it" if rule.alert_at is not None else ""
        then = _MODE_WORDS[rule.mode]
        return f"Cost at most ${rule.limit:,} per {rule.scope}{alert}; beyond that {then}."
    if isinstance(rule, FlowRule):
        return f"Content from {rule.source} must not reach {rule.sink} later in the session."
    if isinstance(rule, AggregateLimit):
        return (
            f"The sum of args.{rule.arg} for {', '.join(rule.actions)} over"
            f" {human_duration(rule.window)} stays at most {rule.unit}{rule.limit:,}."
        )
    if isinstance(rule, Condition):
        scope = f" for {', '.join(rule.actions)}" if rule.actions else ""
        then = "asks a human" if rule.effect == "ask" else "refuses the action"
        return f"Requires {rule.expression}{scope}; otherwise {then}."
    return _ask(rule)


def _ask(rule: AskRule) -> str:
    """The sentence for an ask rule."""
    when = f" when {rule.when}" if rule.when else ""
    return f"Actions {', '.join(rule.actions)}{when} wait for a human's approval."
