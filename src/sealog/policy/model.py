"""The normalized policy: typed, frozen rule objects that every policy shape loads into.

A policy file (native, AgentTrace, tracegate or ptrace shape) is validated by the loader and
normalized into one :class:`Policy`: a tuple of rules plus the kill-switch and audit settings.
Each rule has a stable ``rule_id`` (``"actions.denied"``, ``"budget.max_cost_per_session"``,
``"conditions[0]"``), a risk weight 0–100 and a decision class (a stable slug). Money is
:class:`~decimal.Decimal`, durations are integer seconds, timestamps are UTC-aware.

:meth:`Policy.to_dict` gives the canonical JSON form of the normalized policy; its SHA-256 over
the canonical bytes is the policy hash that every decision cites.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sealog.canonical import canonicalize

__all__ = [
    "AggregateLimit",
    "AskRule",
    "AuditExport",
    "BudgetLimit",
    "Condition",
    "CountLimit",
    "DurationLimit",
    "Expiry",
    "FlowRule",
    "KillSwitch",
    "ListRule",
    "Mode",
    "Policy",
    "Rule",
    "ViolationThreshold",
    "human_duration",
]

Mode = Literal["kill", "deny", "alert", "log"]
"""What a breached limit does: ``kill`` the session, ``deny`` the action, ``alert`` or ``log``."""

Field = Literal["action", "tool", "target", "path"]
"""Which part of a proposed action a list rule looks at."""


@dataclass(frozen=True, slots=True)
class ListRule:
    """Allow or deny list over one field of an action (names, globs, or target prefixes).

    An ``allow`` list fails when the field is present and matches no pattern (or is missing);
    a ``deny`` list fails when the field matches any pattern. Paths match on the full path and
    on the basename; targets match a pattern without glob characters as a prefix.
    """

    rule_id: str
    field: Field
    kind: Literal["allow", "deny"]
    patterns: tuple[str, ...]
    risk: int
    decision_class: str


@dataclass(frozen=True, slots=True)
class Expiry:
    """The policy stops allowing anything at ``at`` (UTC)."""

    rule_id: str
    at: datetime
    risk: int
    decision_class: str


@dataclass(frozen=True, slots=True)
class CountLimit:
    """At most ``limit`` actions (matching ``match``, or all) per ``window`` seconds.

    ``window`` None means the whole session (``session.max_actions``, ``max_shell_commands``).
    ``match`` globs are tested against the action name and the tool name.
    """

    rule_id: str
    limit: int
    window: int | None
    match: tuple[str, ...]
    mode: Mode
    risk: int
    decision_class: str


@dataclass(frozen=True, slots=True)
class BudgetLimit:
    """A cost cap: per session (cumulative plus this estimate) or per action (this estimate)."""

    rule_id: str
    scope: Literal["session", "action"]
    limit: Decimal
    alert_at: Decimal | None
    mode: Mode
    risk: int
    decision_class: str


@dataclass(frozen=True, slots=True)
class DurationLimit:
    """The session may run at most ``seconds`` from its start."""

    rule_id: str
    seconds: int
    mode: Mode
    risk: int
    decision_class: str


@dataclass(frozen=True, slots=True)
class ViolationThreshold:
    """Once ``count`` violations of ``violation`` were recorded, apply ``mode``."""

    rule_id: str
    violation: str
    count: int
    mode: Mode
    risk: int
    decision_class: str


@dataclass(frozen=True, slots=True)
class FlowRule:
    """Content from ``source`` must not reach ``sink`` later in the same session."""

    rule_id: str
    source: str
    sink: str
    risk: int
    decision_class: str


@dataclass(frozen=True, slots=True)
class Condition:
    """A CEL expression over ``action``, ``tool``, ``target``, ``args`` that must hold.

    Scoped to ``actions`` globs when given; a false result imposes ``effect``. An evaluation error
    or a non-boolean result fails closed (deny).
    """

    rule_id: str
    expression: str
    actions: tuple[str, ...]
    effect: Literal["deny", "ask"]
    description: str | None
    risk: int
    decision_class: str


@dataclass(frozen=True, slots=True)
class AggregateLimit:
    """The sum of numeric ``args[arg]`` over matching actions in ``window`` seconds ≤ ``limit``."""

    rule_id: str
    actions: tuple[str, ...]
    arg: str
    window: int
    limit: Decimal
    unit: str
    risk: int
    decision_class: str


@dataclass(frozen=True, slots=True)
class AskRule:
    """Matching actions (and, if given, a true CEL ``when``) go to a human for approval."""

    rule_id: str
    actions: tuple[str, ...]
    when: str | None
    risk: int
    decision_class: str


Rule = (
    ListRule
    | Expiry
    | CountLimit
    | BudgetLimit
    | DurationLimit
    | ViolationThreshold
    | FlowRule
    | Condition
    | AggregateLimit
    | AskRule
)
"""Any normalized rule."""


@dataclass(frozen=True, slots=True)
class KillSwitch:
    """Who is told when a session is killed, and how long the agent has to stop."""

    webhooks: tuple[str, ...]
    grace_period: int
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class AuditExport:
    """Where decisions and actions are exported as JSONL (and other foreign exports, kept)."""

    path: str | None
    otel_endpoint: str | None = None
    include: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated, normalized policy. Build one with :func:`sealog.policy.load_policy`."""

    rules: tuple[Rule, ...]
    shape: Literal["native", "tracegate", "ptrace"]
    version: str | None = None
    agent_id: str | None = None
    kill_switch: KillSwitch | None = None
    audit: AuditExport | None = None
    source: str | None = None
    """File name the policy came from; not part of the hash."""

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON form (Decimals and datetimes as strings; ``source`` left out)."""
        return {
            "version": self.version,
            "agent_id": self.agent_id,
            "shape": self.shape,
            "rules": [{"kind": type(rule).__name__, **_jsonable(rule)} for rule in self.rules],
            "kill_switch": None if self.kill_switch is None else _jsonable(self.kill_switch),
            "audit": None if self.audit is None else _jsonable(self.audit),
        }

    def hash(self) -> str:
        """``sha256:<hex>`` of the canonical JSON of :meth:`to_dict`."""
        return "sha256:" + hashlib.sha256(canonicalize(self.to_dict())).hexdigest()

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id.

        Raises:
            KeyError: no rule has that id (a programming error, not bad input).
        """
        for rule in self.rules:
            if rule.rule_id == rule_id:
                return rule
        raise KeyError(rule_id)


def _jsonable(obj: Any) -> dict[str, Any]:
    """Fields of a rule dataclass as canonical-JSON-ready values."""
    return {f.name: _value(getattr(obj, f.name)) for f in fields(obj)}


def _value(value: Any) -> Any:
    """One field value as JSON: Decimal and datetime become strings, tuples lists."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, tuple):
        return [_value(v) for v in value]
    return value


def human_duration(seconds: int) -> str:
    """``90s``, ``30m``, ``2h``, ``1d``: the largest whole unit, as policies write durations."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
