"""What the evaluator reads and returns: the proposed action, the session snapshot, the decision.

All three are frozen values. :class:`SessionState` is updated only by returning a new state
(:meth:`SessionState.record`, :meth:`SessionState.with_violation`), so evaluating a recorded
sequence again from :meth:`SessionState.empty` reproduces every decision (``verify --replay``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import cel

from sealog.errors import UsageError
from sealog.policy._timeline import Recorded, Timeline
from sealog.policy.model import human_duration

__all__ = ["Decision", "Outcome", "ProposedAction", "Recorded", "SessionState", "Verdict"]

Outcome = Literal["allow", "deny", "ask", "kill"]
"""The answer to a proposed action."""


@dataclass(frozen=True, slots=True)
class ProposedAction:
    """An action an agent is about to take, as the gate sees it."""

    action: str
    """The action name (``transfer``, ``post_message``, ``tool_call``)."""
    at: datetime
    """When it is proposed (UTC); windows and expiry are measured against it."""
    tool: str | None = None
    target: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    """The JSON arguments; CEL conditions see them as ``args``."""
    paths: tuple[str, ...] = ()
    cost: Decimal = Decimal(0)
    """Estimated cost in USD."""
    sources: tuple[str, ...] = ()
    """Where the content this action carries came from (``WebFetch``, ``ExternalContent``)."""

    def __post_init__(self) -> None:
        """Refuse what would make a decision ill-defined.

        Raises:
            UsageError: ``at`` has no timezone, or ``cost`` is negative or not finite.
        """
        if self.at.tzinfo is None:
            raise UsageError("ProposedAction.at must be timezone-aware (UTC)")
        cost: object = self.cost  # callers outside the type checker pass floats
        if not isinstance(cost, Decimal) or not cost.is_finite() or cost < 0:
            raise UsageError(
                f"ProposedAction.cost must be a non-negative Decimal, got {self.cost!r}"
            )


@dataclass(frozen=True, slots=True)
class SessionState:
    """An in-memory snapshot of what one session has seen so far."""

    started_at: datetime | None = None
    timeline: Timeline = field(default_factory=Timeline)
    """The allowed actions, indexed for windowed counts and sums (see :mod:`._timeline`)."""
    total_cost: Decimal = Decimal(0)
    violations: tuple[tuple[str, int], ...] = ()
    seen: frozenset[str] = frozenset()
    """Tools, actions and content sources of allowed actions (for data-flow rules)."""
    killed_by: str | None = None

    @classmethod
    def empty(cls, started_at: datetime | None = None) -> SessionState:
        """A fresh session (started now if given, else at its first recorded action)."""
        return cls(started_at=started_at)

    @property
    def history(self) -> tuple[Recorded, ...]:
        """The allowed actions so far, oldest first."""
        return self.timeline.records()

    @property
    def action_count(self) -> int:
        """Allowed actions so far."""
        return len(self.timeline)

    def violation_count(self, kind: str) -> int:
        """How many violations of ``kind`` were recorded."""
        for name, count in self.violations:
            if name == kind:
                return count
        return 0

    def record(self, action: ProposedAction, decision: Decision) -> SessionState:
        """The state after ``decision`` was made on ``action``.

        An allowed action counts (history, cost, data-flow sources); a denied or pending one does
        not; a kill marks the session killed so every later action is refused. Cost: amortized
        O(1 + indexed windows) (the timeline is shared append-only, see :class:`Timeline`).
        """
        if decision.outcome == "kill":
            return replace(self, killed_by=self.killed_by or decision.blocking_rule)
        if decision.outcome != "allow":
            return self
        numbers = tuple(
            (key, Decimal(str(value)))
            for key, value in sorted(action.args.items())
            if isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        )
        seen = self.seen
        if (
            action.action not in seen
            or (action.tool and action.tool not in seen)
            or (action.sources and not seen.issuperset(action.sources))
        ):
            seen = seen.union(
                (action.action, *action.sources), (action.tool,) if action.tool else ()
            )
        return replace(
            self,
            started_at=self.started_at or action.at,
            timeline=self.timeline.append(Recorded(action.at, action.action, action.tool, numbers)),
            total_cost=self.total_cost + action.cost,
            seen=seen,
        )

    def settle(self, delta: Decimal) -> SessionState:
        """The state after ``delta`` more was spent than reserved.

        An action's actual cost minus its estimate, or a cost outside any decision (a model call).
        """
        return replace(self, total_cost=self.total_cost + delta)

    def killed(self, by: str) -> SessionState:
        """The state after the session was killed by rule ``by`` (the first kill stands)."""
        return self if self.killed_by is not None else replace(self, killed_by=by)

    def with_violation(self, kind: str, count: int = 1) -> SessionState:
        """The state after ``count`` more violations of ``kind`` (reported by a scanner)."""
        table = dict(self.violations)
        table[kind] = table.get(kind, 0) + count
        return replace(self, violations=tuple(sorted(table.items())))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one rule said about one action."""

    rule_id: str
    passed: bool
    detail: str
    """In words: ``"Amount $500 within $1,000 daily limit"``."""
    effect: Literal["kill", "deny", "ask", "alert", "log"]
    """What the rule imposes when it fails."""
    risk: int
    decision_class: str
    alert: bool = False
    """A passing budget past its ``alert_at`` fraction: allowed, but somebody should know."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to a proposed action, with the reasons, under a named policy version."""

    outcome: Outcome
    verdicts: tuple[Verdict, ...]
    risk: int
    """0–100: ``100 × (1 − Π(1 − wᵢ/100))`` over the weights of the failed rules, rounded."""
    blocking_rule: str | None
    decision_class: str
    """The blocking rule's class, or ``"allowed"``."""
    policy_version: str | None
    policy_hash: str
    alerts: tuple[str, ...] = ()
    """Rules in ``alert``/``log`` mode that failed, and budgets past ``alert_at``."""

    @property
    def allowed(self) -> bool:
        """True only for ``allow``."""
        return self.outcome == "allow"

    def to_dict(self) -> dict[str, Any]:
        """JSON form, ready for canonical encoding."""
        return {
            "outcome": self.outcome,
            "risk": self.risk,
            "blocking_rule": self.blocking_rule,
            "decision_class": self.decision_class,
            "policy_version": self.policy_version,
            "policy_hash": self.policy_hash,
            "alerts": list(self.alerts),
            "verdicts": [
                {
                    "rule_id": v.rule_id,
                    "passed": v.passed,
                    "detail": v.detail,
                    "effect": v.effect,
                    "risk": v.risk,
                    "decision_class": v.decision_class,
                    "alert": v.alert,
                }
                for v in self.verdicts
            ],
        }


def period(seconds: int) -> str:
    """``daily``/``hourly``/``weekly`` or ``30m`` — how a window reads in a sentence."""
    names = {86400: "daily", 3600: "hourly", 604800: "weekly"}
    return names.get(seconds, f"{human_duration(seconds)}")


_PRUNABLE = ("action", "tool", "target", "paths", "sources")
"""CEL variables that are strings (or lists of them): left out when no expression names them."""


def cel_variables(expressions: Iterable[str]) -> frozenset[str]:
    """The CEL variables a policy's expressions may read (a superset: any word that is one)."""
    words = {w for text in expressions for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)}
    return frozenset({"args", *(words & set(_PRUNABLE))})


def _context(a: ProposedAction, names: frozenset[str] | None = None) -> dict[str, Any]:
    """The variables a CEL expression sees (only ``names`` when given)."""
    full = {
        "action": a.action,
        "tool": a.tool or "",
        "target": a.target or "",
        "args": dict(a.args),
        "paths": list(a.paths),
        "sources": list(a.sources),
    }
    return full if names is None else {k: v for k, v in full.items() if k in names}


def _plain(a: ProposedAction) -> bool:
    """Whether the string-typed fields really are strings (so leaving them out changes nothing)."""
    return (
        type(a.action) is str
        and (a.tool is None or type(a.tool) is str)
        and (a.target is None or type(a.target) is str)
        and all(type(p) is str for p in a.paths)
        and all(type(s) is str for s in a.sources)
    )


_KEY_VALUES, _KEY_CHARS = 64, 4096
"""The most values and characters an activation may hold and still key a memo of CEL results."""
_ABSENT = object()
"""A variable the activation does not hold (in a memo key)."""


class _Unkeyable(Exception):
    """A value outside what memo keys cover; the program then simply runs."""


def _text(value: str, budget: list[int]) -> str:
    """A string CEL can convert (UTF-8: no lone surrogate), charged to ``budget``."""
    budget[0] -= 1
    budget[1] -= len(value)
    if budget[0] < 0 or budget[1] < 0:
        raise _Unkeyable
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise _Unkeyable from None
    return value


def _frozen(value: Any, budget: list[int]) -> Hashable:
    """``value`` as a hashable key that tells apart every two values CEL could tell apart.

    Only plain JSON-like values CEL converts (exact types: str that encodes as UTF-8, int, bool,
    None, non-NaN float, list, tuple, dict with str keys) and only up to ``budget`` = [values,
    characters]; anything else raises :class:`_Unkeyable`. Equal keys mean equal values of
    equal types: bools and floats (``True == 1 == 1.0``; ``-0.0 == 0.0``) and containers are
    tagged.
    """
    kind = type(value)
    if kind is str:
        return _text(value, budget)
    budget[0] -= 1
    if budget[0] < 0:
        raise _Unkeyable
    if kind is int or value is None:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return ("bool", value)
    if kind is float and value == value:  # noqa: PLR0124 - NaN is left out
        return ("float", value.hex())
    if kind is list or kind is tuple:
        return (kind.__name__, tuple([_frozen(v, budget) for v in value]))
    if kind is dict:
        items = []
        for k, v in value.items():
            if type(k) is not str:
                raise _Unkeyable
            items.append((_text(k, budget), _frozen(v, budget)))
        return ("map", tuple(items))
    raise _Unkeyable


class Env:
    """Per-decision scratch shared by the checkers: the action's CEL activation, built once.

    The activation is one ``cel.Context`` holding only the variables the policy's expressions
    name (``args`` always), converted once for all programs; if it cannot be built (a value CEL
    cannot convert), each program runs on the full variables dict and reports its own error.

    :meth:`key` gives the values a program reads as a hashable key, so a program's result can
    be remembered (a CEL program is a pure function of the variables it names); the activation
    is converted only when some program's result is not known yet.
    """

    __slots__ = ("_cel", "_keys", "_vars", "action", "names")

    def __init__(self, action: ProposedAction, names: frozenset[str] | None = None) -> None:
        self.action, self.names = action, names
        self._cel: cel.Context | bool | None = None
        self._vars: dict[str, Any] | None = None
        self._keys: dict[str, Hashable] | bool | None = None

    def _variables(self) -> dict[str, Any] | None:
        """The activation's variables (None: a non-string name field, so the full dict is used)."""
        if self._vars is None and _plain(self.action):
            self._vars = _context(self.action, self.names)
        return self._vars

    def key(self, names: tuple[str, ...]) -> tuple[Hashable, ...] | None:
        """The values of ``names`` as a memo key; None when results must not be remembered.

        None unless every variable of the activation is a plain JSON-like value (see
        :func:`_frozen`), so the activation is known to convert and a program's result depends
        on the values it names alone.
        """
        keys = self._keys
        if keys is None:
            variables, budget = self._variables(), [_KEY_VALUES, _KEY_CHARS]
            try:
                keys = False if variables is None else {
                    k: _frozen(v, budget) for k, v in variables.items()
                }  # fmt: skip
            except _Unkeyable:
                keys = False
            self._keys = keys
        if keys is False:
            return None
        assert isinstance(keys, dict)
        return tuple([keys.get(n, _ABSENT) for n in names])

    @property
    def converted(self) -> bool:
        """Whether the activation was converted into a ``cel.Context`` (programs ran on it)."""
        return isinstance(self._cel, cel.Context)

    def run(self, program: Any) -> bool | str:
        """Run a CEL program: its boolean result, or the error text (which fails closed)."""
        if self._cel is None:
            variables = self._variables()
            try:
                self._cel = cel.Context(_context(self.action) if variables is None else variables)
            except Exception:  # noqa: BLE001 - let each program report it, as before
                self._cel = False
        try:
            result = program.execute(self._cel or _context(self.action))
        except Exception as exc:  # noqa: BLE001 - any evaluation error must deny, never pass
            return f"CEL error: {type(exc).__name__}: {exc}"
        return result if isinstance(result, bool) else f"CEL result is not a boolean: {result!r}"
