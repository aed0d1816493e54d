"""The native policy shape: a superset of AgentTrace's, so AgentTrace files load unchanged.

Each section builder reads one top-level key and appends rules in the fixed order the engine
evaluates them: expiry, violation thresholds, session caps, budget, lists, flows, rates,
aggregates, conditions, asks. ``docs/policy.md`` documents every key.
"""

from __future__ import annotations

from typing import Any

from sealog.policy._foreign import PTRACE_KEYS, TRACEGATE_KEYS
from sealog.policy._reader import Reader
from sealog.policy._shapes import (
    add_flows,
    audit,
    check_cel,
    finish,
    items,
    kill_switch,
    meta,
    overrides,
)
from sealog.policy.model import (
    AggregateLimit,
    AskRule,
    BudgetLimit,
    Condition,
    CountLimit,
    DurationLimit,
    Expiry,
    ListRule,
    Mode,
    Policy,
    Rule,
    ViolationThreshold,
)

__all__ = ["NATIVE_KEYS", "native"]

NATIVE_KEYS = (
    "version", "agent_id", "expires_at", "actions", "targets", "tools", "paths", "flows",
    "rate_limits", "session", "budget", "violations", "conditions", "aggregates", "ask",
    "overrides", "kill_switch", "audit",
)  # fmt: skip
_ALL_MODES: tuple[Mode, ...] = ("kill", "deny", "alert", "log")


def native(data: dict[str, Any], r: Reader) -> Policy | None:
    """The native shape (AgentTrace files are valid native files)."""
    top = r.mapping(data, (), NATIVE_KEYS, suggest=(*TRACEGATE_KEYS, *PTRACE_KEYS))
    rules: list[Rule] = []
    if "expires_at" in top and (at := r.timestamp(top["expires_at"], ("expires_at",))):
        rules.append(Expiry("expires_at", at, 50, "expired"))
    _violations(top, r, rules)
    _session(top, r, rules)
    _budget(top, r, rules)
    _lists(top, r, rules)
    _flows(top.get("flows"), r, rules)
    _rates(top, r, rules)
    _aggregates(top.get("aggregates"), r, rules)
    _conditions(top.get("conditions"), r, rules)
    _asks(top.get("ask"), r, rules)
    rules = overrides(top.get("overrides"), r, rules)
    version = top.get("version")
    return finish(
        r,
        rules,
        shape="native",
        version=None if version is None else str(version),
        agent_id=None if top.get("agent_id") is None else str(top["agent_id"]),
        kill_switch=kill_switch(top.get("kill_switch"), r),
        audit=audit(top.get("audit"), r),
    )


def _violations(top: dict[str, Any], r: Reader, rules: list[Rule]) -> None:
    """``violations: {thresholds: {pii_blocked: 3}, on_threshold: kill}``."""
    if "violations" not in top:
        return
    v = r.mapping(top["violations"], ("violations",), ("thresholds", "on_threshold", "pii_scanner"))
    mode = r.mode(v.get("on_threshold", "kill"), ("violations", "on_threshold"), _ALL_MODES)
    thresholds = v.get("thresholds", {})
    if not isinstance(thresholds, dict):
        r.problem(("violations", "thresholds"), "expected a mapping of violation type to count")
        return
    for kind, limit in thresholds.items():
        n = r.count(limit, ("violations", "thresholds", kind), positive=True)
        if n is not None and mode is not None:
            rules.append(
                ViolationThreshold(
                    f"violations.{kind}", str(kind), n, mode, 90, "violation_threshold"
                )
            )


def _session(top: dict[str, Any], r: Reader, rules: list[Rule]) -> None:
    """``session: {max_duration: 30m, max_actions: 50, on_exceed: kill}``."""
    if "session" not in top:
        return
    s = r.mapping(top["session"], ("session",), ("max_duration", "max_actions", "on_exceed"))
    mode = r.mode(s.get("on_exceed", "kill"), ("session", "on_exceed"), _ALL_MODES)
    if mode is None:
        return
    if (
        "max_duration" in s
        and (secs := r.duration(s["max_duration"], ("session", "max_duration"))) is not None
    ):
        rules.append(DurationLimit("session.max_duration", secs, mode, 40, "session_limit"))
    if (
        "max_actions" in s
        and (n := r.count(s["max_actions"], ("session", "max_actions"))) is not None
    ):
        rules.append(CountLimit("session.max_actions", n, None, (), mode, 40, "session_limit"))


def _budget(top: dict[str, Any], r: Reader, rules: list[Rule]) -> None:
    """``budget: {max_cost_per_session, max_cost_per_action, alert_at, on_exceed}``."""
    if "budget" not in top:
        return
    keys = ("max_cost_per_session", "max_cost_per_action", "alert_at", "on_exceed")
    b = r.mapping(top["budget"], ("budget",), keys)
    mode = r.mode(b.get("on_exceed", "kill"), ("budget", "on_exceed"), _ALL_MODES)
    alert = r.fraction(b["alert_at"], ("budget", "alert_at")) if "alert_at" in b else None
    if "alert_at" in b and "max_cost_per_session" not in b:
        r.problem(("budget", "alert_at"), "alert_at needs max_cost_per_session to be a fraction of")
    if mode is None:
        return
    if (
        "max_cost_per_session" in b
        and (cap := r.money(b["max_cost_per_session"], ("budget", "max_cost_per_session")))
        is not None
    ):
        rules.append(
            BudgetLimit(
                "budget.max_cost_per_session", "session", cap, alert, mode, 50, "budget_exceeded"
            )
        )
    if (
        "max_cost_per_action" in b
        and (cap := r.money(b["max_cost_per_action"], ("budget", "max_cost_per_action")))
        is not None
    ):
        # As in AgentTrace, one over-priced action is refused; it does not kill the session.
        each: Mode = "deny" if mode == "kill" else mode
        rules.append(
            BudgetLimit(
                "budget.max_cost_per_action", "action", cap, None, each, 50, "budget_exceeded"
            )
        )


def _lists(top: dict[str, Any], r: Reader, rules: list[Rule]) -> None:
    """``actions``, ``tools`` (allow/deny), ``targets`` (allow), ``paths`` (deny)."""
    spec = (("actions", "action", ("allow", "deny")), ("tools", "tool", ("allow", "deny")),
            ("targets", "target", ("allow",)), ("paths", "path", ("deny",)))  # fmt: skip
    for key, fld, kinds in spec:
        if key not in top:
            continue
        m = r.mapping(top[key], (key,), kinds)
        allowed = r.strings(m["allow"], (key, "allow")) if "allow" in m else None
        denied = r.strings(m["deny"], (key, "deny")) if "deny" in m else None
        for both in sorted(set(allowed or ()) & set(denied or ())):
            r.problem((key,), f"{both!r} is both allowed and denied")
        scope = fld in {"target", "path"}
        cls = "scope_violation" if scope else "forbidden_action"
        if denied:
            rules.append(ListRule(f"{key}.denied", fld, "deny", denied, 80, cls))  # type: ignore[arg-type]
        if allowed is not None:
            rules.append(ListRule(f"{key}.allowed", fld, "allow", allowed, 60, cls))  # type: ignore[arg-type]


def _flows(value: Any, r: Reader, rules: list[Rule]) -> None:
    """``flows: {deny: ["WebFetch->Shell"]}``."""
    if value is None:
        return
    m = r.mapping(value, ("flows",), ("deny",))
    add_flows(m.get("deny", []), ("flows", "deny"), r, rules, "flows.denied")


def _rates(top: dict[str, Any], r: Reader, rules: list[Rule]) -> None:
    """``rate_limits: {max_actions_per_hour: 100, per_action: {transfer: 10}}`` (per hour)."""
    if "rate_limits" not in top:
        return
    m = r.mapping(top["rate_limits"], ("rate_limits",), ("max_actions_per_hour", "per_action"))
    if (
        "max_actions_per_hour" in m
        and (n := r.count(m["max_actions_per_hour"], ("rate_limits", "max_actions_per_hour")))
        is not None
    ):
        rules.append(
            CountLimit("rate_limits.max_actions_per_hour", n, 3600, (), "deny", 30, "rate_limited")
        )
    per = m.get("per_action", {})
    if not isinstance(per, dict):
        r.problem(("rate_limits", "per_action"), "expected a mapping of action to count per hour")
        return
    for action, limit in per.items():
        if (n := r.count(limit, ("rate_limits", "per_action", action))) is not None:
            rules.append(
                CountLimit(
                    f"rate_limits.per_action.{action}",
                    n,
                    3600,
                    (str(action),),
                    "deny",
                    30,
                    "rate_limited",
                )
            )


def _aggregates(value: Any, r: Reader, rules: list[Rule]) -> None:
    """``aggregates: [{sum: amount, actions: [transfer], window: 24h, max: 1000, unit: "$"}]``."""
    keys = ("sum", "actions", "window", "max", "unit", "risk", "class")
    for path, item in items(value, "aggregates", r):
        m = r.mapping(item, path, keys)
        for need in ("sum", "actions", "window", "max"):
            if need not in m:
                r.problem(path, f"missing {need}")
        if any(need not in m for need in ("sum", "actions", "window", "max")):
            continue
        arg, actions = (
            r.string(m["sum"], (*path, "sum")),
            r.strings(m["actions"], (*path, "actions")),
        )
        window, limit = (
            r.duration(m["window"], (*path, "window")),
            r.money(m["max"], (*path, "max")),
        )
        if window == 0:
            r.problem((*path, "window"), "expected a window longer than 0 seconds")
        unit = str(m.get("unit", ""))
        risk, cls = meta(m, path, r, 70, "limit_exceeded")
        if arg and window and limit is not None:
            rules.append(
                AggregateLimit(
                    f"aggregates[{path[1]}]", actions, arg, window, limit, unit, risk, cls
                )
            )


def _conditions(value: Any, r: Reader, rules: list[Rule]) -> None:
    """``conditions: [{require: "args.amount <= 1000", actions: [transfer], on_fail: deny}]``."""
    keys = ("require", "actions", "on_fail", "description", "risk", "class")
    for path, item in items(value, "conditions", r):
        m = r.mapping(item, path, keys)
        if "require" not in m:
            r.problem(path, "missing require (a CEL expression that must be true)")
            continue
        expr = r.string(m["require"], (*path, "require"))
        if expr:
            check_cel(expr, (*path, "require"), r)
        actions = r.strings(m["actions"], (*path, "actions")) if "actions" in m else ()
        effect = m.get("on_fail", "deny")
        if effect not in {"deny", "ask"}:
            r.problem((*path, "on_fail"), f"expected deny or ask, got {effect!r}")
        risk, cls = meta(m, path, r, 70, "condition_failed")
        desc = m.get("description")
        if expr and effect in {"deny", "ask"}:
            rules.append(
                Condition(
                    f"conditions[{path[1]}]",
                    expr,
                    actions,
                    effect,
                    None if desc is None else str(desc),
                    risk,
                    cls,
                )
            )


def _asks(value: Any, r: Reader, rules: list[Rule]) -> None:
    """``ask: [{actions: [deploy_*], when: "args.env == 'prod'"}]``."""
    for path, item in items(value, "ask", r):
        m = r.mapping(item, path, ("actions", "when", "risk", "class"))
        if "actions" not in m:
            r.problem(path, "missing actions")
            continue
        actions = r.strings(m["actions"], (*path, "actions"))
        when = r.string(m["when"], (*path, "when")) if "when" in m else None
        if when:
            check_cel(when, (*path, "when"), r)
        risk, cls = meta(m, path, r, 20, "needs_approval")
        rules.append(AskRule(f"ask[{path[1]}]", actions, when, risk, cls))
