"""One checker per rule kind: a closure over the rule's compiled patterns and CEL programs.

:func:`compile_rule` turns a rule into a :class:`Compiled`: a ``Checker`` — a pure function of
(action, state, now, env) that returns the rule's :class:`~sealog.policy.Verdict` (``None``: an
ask whose condition is false) — and its scope, which says from the action's name, tool and
whether it has a target and paths if the rule applies at all. Globs are compiled once into one
regular expression per rule; verdicts are memoized by the inputs that determine them.
"""

from __future__ import annotations

import fnmatch
import math
import posixpath
import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Any

import cel

from sealog.policy._state import Env, ProposedAction, SessionState, Verdict, period
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

__all__ = ["Checker", "Compiled", "compile_rule"]

_MEMO_SIZE = 4096
"""Verdicts remembered per rule before the memo starts over."""


Checker = Callable[[ProposedAction, SessionState, datetime, Env], Verdict | None]
"""Evaluates one rule on an action in its scope: its verdict, or None when it does not apply."""
Scope = Callable[[ProposedAction], bool]
"""Whether a rule applies; reads only action, tool and whether target and paths are given."""


@dataclass(frozen=True, slots=True)
class Compiled:
    """A rule's checker, its scope (None: every action), and whether it is static.

    A static rule's verdict depends only on the action's name and tool and the session's
    violation counts, so the engine computes it once per such combination.
    """

    check: Checker
    scope: Scope | None = None
    static: bool = False


class _Memo(dict[Any, Verdict]):
    """Verdicts by the inputs that determine them (bounded; verdicts are immutable values)."""

    def put(self, key: Any, verdict: Verdict) -> Verdict:
        if len(self) >= _MEMO_SIZE:
            self.clear()
        self[key] = verdict
        return verdict


def _matcher(patterns: Iterable[str], *, prefixes: bool = False) -> Callable[[str], bool]:
    """One compiled test for exact names, globs (and, for targets, plain prefixes)."""
    globs = [p for p in patterns if not prefixes or any(c in p for c in "*?[")]
    plain = tuple(p for p in patterns if p not in globs)
    regex = re.compile("|".join(fnmatch.translate(p) for p in globs)) if globs else None

    def match(value: str) -> bool:
        return bool(regex and regex.match(value)) or (bool(plain) and value.startswith(plain))

    return match


def _either(match: Callable[[str], bool]) -> Scope:
    """In scope when the action name or the tool name matches."""
    return lambda a: match(a.action) or (a.tool is not None and match(a.tool))


def _verdict(rule: Rule, detail: str, effect: str, *, passed: bool) -> Verdict:
    """A verdict carrying the rule's id, weight and class."""
    return Verdict(rule.rule_id, passed, detail, effect, rule.risk, rule.decision_class)  # type: ignore[arg-type]


def _expiry(rule: Expiry) -> Compiled:
    """The end of the policy's validity."""
    when = rule.at.isoformat()
    ok, late = (_verdict(rule, f"Policy {w} at {when}", "deny", passed=p)
                for w, p in (("expires", True), ("expired", False)))  # fmt: skip
    return Compiled(lambda _a, _s, now, _e: ok if now < rule.at else late)


def _list(rule: ListRule) -> Compiled:
    """Allow/deny lists over action, tool, target or paths."""
    match, memo = _matcher(rule.patterns, prefixes=rule.field == "target"), _Memo()
    allow, word = rule.kind == "allow", "allowed" if rule.kind == "allow" else "forbidden"

    if rule.field == "path":

        def paths(a: ProposedAction, _s: SessionState, _n: datetime, _e: Env) -> Verdict:
            hits = [p for p in a.paths if match(p) or match(posixpath.basename(p))]
            detail = f"Path {hits[0]} is forbidden" if hits else "No forbidden path"
            return _verdict(rule, detail, "deny", passed=not hits)

        return Compiled(paths, lambda a: bool(a.paths))
    get = attrgetter(rule.field)

    def check(a: ProposedAction, _s: SessionState, _now: datetime, _e: Env) -> Verdict:
        value: str = get(a)
        if (found := memo.get(value)) is not None:
            return found
        hit = match(value)
        detail = f"{rule.field.capitalize()} {value!r} is {'' if hit else 'not '}{word}"
        return memo.put(value, _verdict(rule, detail, "deny", passed=hit if allow else not hit))

    scope = None if rule.field == "action" else lambda a: get(a) is not None
    return Compiled(check, scope, static=rule.field != "target")


def _threshold(rule: ViolationThreshold) -> Compiled:
    """Violation counts against their thresholds."""
    memo = _Memo()

    def check(_a: ProposedAction, s: SessionState, _now: datetime, _e: Env) -> Verdict:
        if (found := memo.get(s.violations)) is not None:
            return found
        seen = s.violation_count(rule.violation)
        detail = f"{seen} {rule.violation} violation(s), threshold {rule.count}"
        return memo.put(s.violations, _verdict(rule, detail, rule.mode, passed=seen < rule.count))

    return Compiled(check, static=True)


def _duration(rule: DurationLimit) -> Compiled:
    """Session age against its cap."""
    memo, limit = _Memo(), human_duration(rule.seconds)

    def check(_a: ProposedAction, s: SessionState, now: datetime, _e: Env) -> Verdict:
        age = int((now - s.started_at).total_seconds()) if s.started_at else 0
        if (found := memo.get(age)) is not None:
            return found
        detail = f"Session running {human_duration(age)} of {limit} allowed"
        return memo.put(age, _verdict(rule, detail, rule.mode, passed=age <= rule.seconds))

    return Compiled(check)


def _count(rule: CountLimit) -> Compiled:
    """Action counts, over the session or a sliding window (indexed by the session timeline)."""
    m = _matcher(rule.match) if rule.match else None
    span = None if rule.window is None else timedelta(seconds=rule.window)
    select = (
        None if m is None else (lambda action, tool: m(action) or (tool is not None and m(tool)))
    )
    key, memo = ("count", rule.match), _Memo()
    where = "this session" if span is None else f"the last {human_duration(rule.window or 0)}"

    def check(_a: ProposedAction, s: SessionState, now: datetime, _e: Env) -> Verdict:
        used = s.timeline.count(key, select, None if span is None else now - span)
        if (found := memo.get(used)) is not None:
            return found
        detail = f"{used} of {rule.limit} actions used in {where}"
        return memo.put(used, _verdict(rule, detail, rule.mode, passed=used < rule.limit))

    return Compiled(check, None if m is None else _either(m))


def _budget(rule: BudgetLimit) -> Compiled:
    """Cost caps, with the alert fraction reported on passing verdicts."""
    what = "Action cost" if rule.scope == "action" else "Session cost"
    cap, warn = (
        f"${rule.limit:,} limit",
        None if rule.alert_at is None else rule.alert_at * rule.limit,
    )
    note = "" if rule.alert_at is None else f"; alert threshold {rule.alert_at:%} reached"

    def check(a: ProposedAction, s: SessionState, _now: datetime, _e: Env) -> Verdict:
        spend = a.cost if rule.scope == "action" else s.total_cost + a.cost
        ok = spend <= rule.limit
        alert = ok and warn is not None and spend >= warn
        detail = f"{what} ${spend:,} {'within' if ok else 'over'} {cap}{note if alert else ''}"
        return Verdict(rule.rule_id, ok, detail, rule.mode, rule.risk, rule.decision_class, alert)

    return Compiled(check)


def _flow(rule: FlowRule) -> Compiled:
    """Content from a source reaching a sink later in the session."""
    source, sink, memo = _matcher([rule.source]), _matcher([rule.sink]), _Memo()

    def check(a: ProposedAction, s: SessionState, _now: datetime, _e: Env) -> Verdict:
        key = (s.seen, a.sources)
        if (found := memo.get(key)) is not None:
            return found
        tainted = sorted(x for x in s.seen.union(a.sources) if source(x))
        detail = (
            f"{tainted[0]} content reaches {rule.sink}"
            if tainted
            else f"No {rule.source} content reaches {rule.sink}"
        )
        return memo.put(key, _verdict(rule, detail, "deny", passed=not tainted))

    return Compiled(check, _either(sink))


def _number(value: Any) -> Decimal | None:
    """An argument as a Decimal, if it is a JSON number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return Decimal(str(value))


def _aggregate(rule: AggregateLimit) -> Compiled:
    """Windowed sums of a numeric argument (indexed by the session timeline)."""
    match, span, u = _matcher(rule.actions), timedelta(seconds=rule.window), rule.unit
    name, key = rule.arg.replace("_", " ").capitalize(), ("sum", rule.actions, rule.arg)
    missing = _verdict(rule, f"args.{rule.arg} is missing or not a number", "deny", passed=False)
    limit = f"{u}{rule.limit:,} {period(rule.window)} limit"

    def select(action: str, _tool: str | None) -> bool:
        return match(action)

    def check(a: ProposedAction, s: SessionState, now: datetime, _e: Env) -> Verdict:
        value = _number(a.args.get(rule.arg))
        if value is None:
            return missing
        prior = s.timeline.total(key, select, rule.arg, now - span)
        ok = prior + value <= rule.limit
        word = "within" if ok else "over"
        detail = f"{name} {u}{value:,} {word} {limit}"
        if prior:
            detail += f" ({u}{prior:,} already used)"
        return _verdict(rule, detail, "deny", passed=ok)

    return Compiled(check, lambda a: match(a.action))


def _cel(program: Any) -> Callable[[Env], bool | str]:
    """``env.run(program)``, remembered by the values of the variables the program names.

    A CEL program is a pure function of the variables it reads (no functions are registered), so
    its result — or its error text — is remembered by those values (:meth:`Env.key`); only a
    result computed on a converted activation is remembered.
    """
    names, memo = tuple(program.variables()), dict[Hashable, bool | str]()

    def run(env: Env) -> bool | str:
        key = env.key(names)
        if key is None:
            return env.run(program)
        found = memo.get(key)
        if found is None:
            found = env.run(program)
            if env.converted:
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                memo[key] = found
        return found

    return run


def _condition(rule: Condition) -> Compiled:
    """Argument conditions in CEL."""
    run = _cel(cel.compile(rule.expression))
    match = _matcher(rule.actions) if rule.actions else None
    label = rule.description or rule.expression
    holds = _verdict(rule, f"{label}: holds", rule.effect, passed=True)
    fails = _verdict(rule, f"{label}: does not hold", rule.effect, passed=False)

    def check(_a: ProposedAction, _s: SessionState, _now: datetime, env: Env) -> Verdict:
        result = run(env)
        if isinstance(result, str):
            return _verdict(rule, f"{label}: {result}", "deny", passed=False)
        return holds if result else fails

    return Compiled(check, None if match is None else _either(match))


def _ask(rule: AskRule) -> Compiled:
    """Actions that need a human's approval."""
    run, match = (_cel(cel.compile(rule.when)) if rule.when else None), _matcher(rule.actions)
    memo = _Memo()

    def check(a: ProposedAction, _s: SessionState, _now: datetime, env: Env) -> Verdict | None:
        result = True if run is None else run(env)
        if isinstance(result, str):
            return _verdict(rule, result, "deny", passed=False)
        if not result:
            return None
        if (found := memo.get(a.action)) is not None:
            return found
        detail = f"Action {a.action!r} needs approval"
        return memo.put(a.action, _verdict(rule, detail, "ask", passed=False))

    return Compiled(check, _either(match), static=run is None)


_KINDS: dict[type, Callable[[Any], Compiled]] = {
    ListRule: _list, Expiry: _expiry, ViolationThreshold: _threshold, DurationLimit: _duration,
    CountLimit: _count, BudgetLimit: _budget, FlowRule: _flow, AggregateLimit: _aggregate,
    Condition: _condition, AskRule: _ask,
}  # fmt: skip


def compile_rule(rule: Rule) -> Compiled:
    """The checker for one rule."""
    return _KINDS[type(rule)](rule)
