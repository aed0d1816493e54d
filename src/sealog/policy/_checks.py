"""One checker per rule kind: a closure over the rule's compiled patterns and CEL programs.

:func:`compile_rule` turns a rule into a ``Checker`` — a pure function of (action, state, now)
that returns the rule's :class:`~sealog.policy.Verdict`, or ``None`` when the rule does not apply
to the action (a condition scoped to other actions, a tool rule for an action without a tool).
Globs are compiled once into one regular expression per rule.
"""

from __future__ import annotations

import fnmatch
import math
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import cel

from sealog.policy._state import ProposedAction, SessionState, Verdict, period
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
    Rule,
    ViolationThreshold,
    human_duration,
)

__all__ = ["Checker", "compile_rule"]

Checker = Callable[[ProposedAction, SessionState, datetime], Verdict | None]
"""Evaluates one rule: its verdict, or None when it does not apply."""


def _matcher(patterns: Iterable[str], *, prefixes: bool = False) -> Callable[[str], bool]:
    """One compiled test for exact names, globs (and, for targets, plain prefixes)."""
    globs = [p for p in patterns if not prefixes or any(c in p for c in "*?[")]
    plain = tuple(p for p in patterns if p not in globs)
    regex = re.compile("|".join(fnmatch.translate(p) for p in globs)) if globs else None

    def match(value: str) -> bool:
        return bool(regex and regex.match(value)) or (bool(plain) and value.startswith(plain))

    return match


def _verdict(rule: Rule, detail: str, effect: str, *, passed: bool) -> Verdict:
    """A verdict carrying the rule's id, weight and class."""
    return Verdict(rule.rule_id, passed, detail, effect, rule.risk, rule.decision_class)  # type: ignore[arg-type]


def compile_rule(rule: Rule) -> Checker:  # noqa: PLR0911 - one branch per rule kind
    """The checker for one rule."""
    if isinstance(rule, ListRule):
        return _list(rule)
    if isinstance(rule, Expiry):
        return _expiry(rule)
    if isinstance(rule, ViolationThreshold):
        return _threshold(rule)
    if isinstance(rule, DurationLimit):
        return _duration(rule)
    if isinstance(rule, CountLimit):
        return _count(rule)
    if isinstance(rule, BudgetLimit):
        return _budget(rule)
    if isinstance(rule, FlowRule):
        return _flow(rule)
    if isinstance(rule, AggregateLimit):
        return _aggregate(rule)
    if isinstance(rule, Condition):
        return _condition(rule)
    return _ask(rule)


def _expiry(rule: Expiry) -> Checker:
    """The end of the policy's validity."""

    def check(_a: ProposedAction, _s: SessionState, now: datetime) -> Verdict:
        ok = now < rule.at
        return _verdict(
            rule,
            f"Policy {'expires' if ok else 'expired'} at {rule.at.isoformat()}",
            "deny",
            passed=ok,
        )

    return check


def _list(rule: ListRule) -> Checker:
    """Allow/deny lists over action, tool, target or paths."""
    match = _matcher(rule.patterns, prefixes=rule.field == "target")
    allow = rule.kind == "allow"

    def check(a: ProposedAction, _s: SessionState, _now: datetime) -> Verdict | None:
        if rule.field == "path":
            hits = [p for p in a.paths if match(p) or match(posixpath.basename(p))]
            if not a.paths:
                return None
            detail = f"Path {hits[0]} is forbidden" if hits else "No forbidden path"
            return _verdict(rule, detail, "deny", passed=not hits)
        value = {"action": a.action, "tool": a.tool, "target": a.target}[rule.field]
        if value is None:
            return None
        hit = match(value)
        ok = hit if allow else not hit
        word = "allowed" if allow else "forbidden"
        detail = f"{rule.field.capitalize()} {value!r} is {'' if hit else 'not '}{word}"
        return _verdict(rule, detail, "deny", passed=ok)

    return check


def _threshold(rule: ViolationThreshold) -> Checker:
    """Violation counts against their thresholds."""

    def check(_a: ProposedAction, s: SessionState, _now: datetime) -> Verdict:
        seen = s.violation_count(rule.violation)
        ok = seen < rule.count
        detail = f"{seen} {rule.violation} violation(s), threshold {rule.count}"
        return _verdict(rule, detail, rule.mode, passed=ok)

    return check


def _duration(rule: DurationLimit) -> Checker:
    """Session age against its cap."""

    def check(_a: ProposedAction, s: SessionState, now: datetime) -> Verdict:
        age = int((now - s.started_at).total_seconds()) if s.started_at else 0
        limit = human_duration(rule.seconds)
        detail = f"Session running {human_duration(age)} of {limit} allowed"
        return _verdict(rule, detail, rule.mode, passed=age <= rule.seconds)

    return check


def _count(rule: CountLimit) -> Checker:
    """Action counts, over the session or a sliding window."""
    match = _matcher(rule.match) if rule.match else None
    span = None if rule.window is None else timedelta(seconds=rule.window)

    def check(a: ProposedAction, s: SessionState, now: datetime) -> Verdict | None:
        if match and not (match(a.action) or (a.tool is not None and match(a.tool))):
            return None
        since = None if span is None else now - span
        used = sum(
            1
            for r in s.history
            if (since is None or r.at > since)
            and (match is None or match(r.action) or (r.tool is not None and match(r.tool)))
        )
        where = "this session" if span is None else f"the last {human_duration(rule.window or 0)}"
        detail = f"{used} of {rule.limit} actions used in {where}"
        return _verdict(rule, detail, rule.mode, passed=used < rule.limit)

    return check


def _budget(rule: BudgetLimit) -> Checker:
    """Cost caps, with the alert fraction reported on passing verdicts."""

    def check(a: ProposedAction, s: SessionState, _now: datetime) -> Verdict:
        spend = a.cost if rule.scope == "action" else s.total_cost + a.cost
        ok = spend <= rule.limit
        what = "Action cost" if rule.scope == "action" else "Session cost"
        detail = f"{what} ${spend:,} {'within' if ok else 'over'} ${rule.limit:,} limit"
        alert = ok and rule.alert_at is not None and spend >= rule.alert_at * rule.limit
        if alert:
            detail += f"; alert threshold {rule.alert_at:%} reached"
        verdict = _verdict(rule, detail, rule.mode, passed=ok)
        return replace(verdict, alert=True) if alert else verdict

    return check


def _flow(rule: FlowRule) -> Checker:
    """Content from a source reaching a sink later in the session."""
    source, sink = _matcher([rule.source]), _matcher([rule.sink])

    def check(a: ProposedAction, s: SessionState, _now: datetime) -> Verdict | None:
        if not (sink(a.action) or (a.tool is not None and sink(a.tool))):
            return None
        tainted = sorted(x for x in s.seen.union(a.sources) if source(x))
        detail = (
            f"{tainted[0]} content reaches {rule.sink}"
            if tainted
            else f"No {rule.source} content reaches {rule.sink}"
        )
        return _verdict(rule, detail, "deny", passed=not tainted)

    return check


def _number(value: Any) -> Decimal | None:
    """An argument as a Decimal, if it is a JSON number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return Decimal(str(value))


def _aggregate(rule: AggregateLimit) -> Checker:
    """Windowed sums of a numeric argument."""
    match, span, u = _matcher(rule.actions), timedelta(seconds=rule.window), rule.unit
    name = rule.arg.replace("_", " ").capitalize()

    def check(a: ProposedAction, s: SessionState, now: datetime) -> Verdict | None:
        if not match(a.action):
            return None
        value = _number(a.args.get(rule.arg))
        if value is None:
            return _verdict(
                rule, f"args.{rule.arg} is missing or not a number", "deny", passed=False
            )
        since = now - span
        prior = sum(
            (
                dict(r.numbers).get(rule.arg, Decimal(0))
                for r in s.history
                if r.at > since and match(r.action)
            ),
            Decimal(0),
        )
        ok = prior + value <= rule.limit
        word = "within" if ok else "over"
        detail = f"{name} {u}{value:,} {word} {u}{rule.limit:,} {period(rule.window)} limit"
        if prior:
            detail += f" ({u}{prior:,} already used)"
        return _verdict(rule, detail, "deny", passed=ok)

    return check


def _context(a: ProposedAction) -> dict[str, Any]:
    """The variables a CEL expression sees."""
    return {
        "action": a.action,
        "tool": a.tool or "",
        "target": a.target or "",
        "args": dict(a.args),
        "paths": list(a.paths),
        "sources": list(a.sources),
    }


def _run(program: Any, a: ProposedAction) -> bool | str:
    """Run a CEL program: its boolean result, or the error text (which fails closed)."""
    try:
        result = program.execute(_context(a))
    except Exception as exc:  # noqa: BLE001 - any evaluation error must deny, never pass
        return f"CEL error: {type(exc).__name__}: {exc}"
    return result if isinstance(result, bool) else f"CEL result is not a boolean: {result!r}"


def _condition(rule: Condition) -> Checker:
    """Argument conditions in CEL."""
    program, match = cel.compile(rule.expression), _matcher(rule.actions) if rule.actions else None
    label = rule.description or rule.expression

    def check(a: ProposedAction, _s: SessionState, _now: datetime) -> Verdict | None:
        if match and not (match(a.action) or (a.tool is not None and match(a.tool))):
            return None
        result = _run(program, a)
        if isinstance(result, str):
            return _verdict(rule, f"{label}: {result}", "deny", passed=False)
        detail = f"{label}: {'holds' if result else 'does not hold'}"
        return _verdict(rule, detail, rule.effect, passed=result)

    return check


def _ask(rule: AskRule) -> Checker:
    """Actions that need a human's approval."""
    program, match = (cel.compile(rule.when) if rule.when else None), _matcher(rule.actions)

    def check(a: ProposedAction, _s: SessionState, _now: datetime) -> Verdict | None:
        if not (match(a.action) or (a.tool is not None and match(a.tool))):
            return None
        result = True if program is None else _run(program, a)
        if isinstance(result, str):
            return _verdict(rule, result, "deny", passed=False)
        if not result:
            return None
        return _verdict(rule, f"Action {a.action!r} needs approval", "ask", passed=False)

    return check
