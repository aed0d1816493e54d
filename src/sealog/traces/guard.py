"""``sealog guard``: the live gate's policy engine, run over a finished run.

There is no second evaluator: each tool event becomes the :class:`~sealog.policy.ProposedAction`
the gate would have been asked about, and :meth:`CompiledPolicy.evaluate` decides it on the
session state of everything the run did before it, as the live gate would have. What the run
did is then recorded into that state whether or not the policy allowed it — it happened — so
rate limits, budgets, counts and data flows see the run as it was. Model calls add their cost.

The vocabulary the policy sees (``docs/traces.md``):

=============  ============  ======================================  =====================
event kind     ``action``    ``target``                              ``args``
=============  ============  ======================================  =====================
shell          ``Shell``     the command line                        ``command`` + the call's
file_read      ``Read``      the first path                          ``path`` + the call's
file_write     ``Write``     the first path                          ``path`` + the call's
file_edit      ``Edit``      the first path                          ``path`` + the call's
network_fetch  ``WebFetch``  the URL                                 ``url`` + the call's
git            ``GitHub``    —                                       the call's
tool_call      its tool      —                                       the call's
=============  ============  ======================================  =====================

``tool`` is the tool's own name (``Bash``, ``exec_command``), ``paths`` the event's paths, and
every event after content came from the network carries the source label ``ExternalContent``
(so ``forbidden_flows: [ExternalContent->GitHub]`` and ``WebFetch->Shell`` both work).

Unknown must not pass a gate: a policy that limits cost fails when some model call's cost can be
neither read nor computed (or the run has no model-call telemetry at all), and a policy that
limits runtime or rates fails when the run carries no timestamps.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sealog.errors import Error
from sealog.policy import CompiledPolicy, Decision, ProposedAction, SessionState
from sealog.policy.cost import price
from sealog.policy.model import BudgetLimit, CountLimit, DurationLimit
from sealog.traces.events import TOOL_KINDS, Event

__all__ = ["ACTION_OF", "MAX_VIOLATIONS", "Guard", "Violation"]

ACTION_OF = {
    "shell": "Shell",
    "file_read": "Read",
    "file_write": "Write",
    "file_edit": "Edit",
    "network_fetch": "WebFetch",
    "git": "GitHub",
}
"""The action name a tool event of each kind is proposed as (``tool_call``: its tool's name)."""
MAX_VIOLATIONS = 10_000
"""Violations listed one by one; past this many they are only counted (by rule)."""
EXTERNAL = "ExternalContent"
"""The content label every event after a network fetch carries in ``sources``."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Violation:
    """A place where the run broke the policy: the event, the rule and the gate's words."""

    index: int
    rule_id: str
    outcome: str
    """What the gate would have answered: ``deny``, ``ask`` or ``kill``."""
    detail: str
    action: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (no command text: the action name and the rule's words)."""
        return {
            "event": self.index,
            "line": self.line,
            "rule": self.rule_id,
            "outcome": self.outcome,
            "action": self.action,
            "detail": self.detail,
        }


@dataclass(slots=True)
class Guard:
    """The policy folded over the run's events (:meth:`add`), then :meth:`finish`."""

    policy: CompiledPolicy
    state: SessionState = field(default_factory=SessionState.empty)
    violations: list[Violation] = field(default_factory=list)
    by_rule: Counter[str] = field(default_factory=Counter)
    """Every violation counted by rule, listed or not."""
    checked: int = 0
    """Tool events the policy decided on."""
    blocked_attempts: int = 0
    """Tool events the run's own harness refused (not violations: they did not run)."""
    killed_at: int | None = None
    """The event at which the gate would have killed the run (later events still checked)."""
    _external: bool = False
    _last: datetime | None = None
    _timed: bool = False
    _model_calls: int = 0
    _unpriced: int = 0

    def add(self, event: Event) -> None:
        """Decide on one event (tool kinds) or account for it (model calls)."""
        at = self._time(event)
        if event.kind == "model_call":
            self._charge(event)
            return
        if event.kind not in TOOL_KINDS:
            return
        proposed = self._proposed(event, at)
        if event.status == "denied":
            self.blocked_attempts += 1
            return
        self.checked += 1
        decision = self.policy.evaluate(proposed, self.state, now=at)
        if decision.outcome != "allow":
            self._violated(event, proposed, decision)
        self.state = self.state.record(proposed, _happened(decision))
        if event.kind == "network_fetch":
            self._external = True

    def finish(self) -> list[Violation]:
        """The violations, plus the session-wide rules on the final state and missing telemetry."""
        now = self._last or _EPOCH
        reported = set(self.by_rule)
        for verdict in self.policy.standing(self.state, now):
            failed = not verdict.passed and verdict.effect in {"deny", "kill", "ask"}
            if failed and verdict.rule_id not in reported:
                self._note(Violation(-1, verdict.rule_id, verdict.effect, verdict.detail, "(run)"))
        self._telemetry()
        return self.violations

    # -- internals ----------------------------------------------------------------------------

    def _time(self, event: Event) -> datetime:
        if event.time is not None:
            try:
                at = datetime.fromisoformat(event.time)
            except ValueError:
                at = None
            if at is not None:
                at = at if at.tzinfo else at.replace(tzinfo=UTC)
                self._timed = True
                if self._last is None or at > self._last:
                    self._last = at
                if self.state.started_at is None:
                    self.state = SessionState.empty(started_at=at)
        return self._last or _EPOCH

    def _charge(self, event: Event) -> None:
        self._model_calls += 1
        cost = event.cost
        if cost is None and event.usage is not None:
            try:
                cost = price(event.usage).usd
            except Error:
                cost = None
        if cost is None:
            self._unpriced += 1
            return
        self.state = self.state.settle(cost)

    def _proposed(self, event: Event, at: datetime) -> ProposedAction:
        action = ACTION_OF.get(event.kind) or event.tool or event.kind
        args: dict[str, Any] = dict(event.args or {})
        target: str | None = None
        if event.kind == "shell":
            target = event.command
            if event.command is not None:
                args.setdefault("command", event.command)
        elif event.kind == "network_fetch":
            target = event.url
            if event.url is not None:
                args.setdefault("url", event.url)
        elif event.paths:
            target = event.paths[0]
            args.setdefault("path", event.paths[0])
        external = self._external or event.kind == "network_fetch"
        sources = (EXTERNAL,) if external else ()
        return ProposedAction(
            action=action,
            at=at,
            tool=event.tool,
            target=target,
            args=args,
            paths=event.paths,
            cost=Decimal(0),
            sources=sources,
        )

    def _note(self, violation: Violation) -> None:
        self.by_rule[violation.rule_id] += 1
        if len(self.violations) < MAX_VIOLATIONS:
            self.violations.append(violation)

    @property
    def total(self) -> int:
        """Every violation found, listed or only counted."""
        return sum(self.by_rule.values())

    def _violated(self, event: Event, proposed: ProposedAction, decision: Decision) -> None:
        line = event.source.line if event.source else None
        for verdict in decision.verdicts:
            if not verdict.passed and verdict.effect in {"deny", "ask", "kill"}:
                self._note(
                    Violation(
                        event.index,
                        verdict.rule_id,
                        verdict.effect,
                        verdict.detail,
                        proposed.action,
                        line,
                    )
                )
        if decision.outcome == "kill" and self.killed_at is None:
            self.killed_at = event.index

    def _telemetry(self) -> None:
        rules = self.policy.policy.rules
        if any(isinstance(r, BudgetLimit) for r in rules):
            if self._model_calls == 0:
                why = "the trace records no model calls, so its cost is unknown"
            elif self._unpriced:
                why = f"{self._unpriced} of {self._model_calls} model calls have no known cost"
            else:
                why = None
            if why is not None:
                rule = next(r.rule_id for r in rules if isinstance(r, BudgetLimit))
                self._note(Violation(-1, rule, "deny", f"unknown cost: {why}", "(run)"))
        timed = [r for r in rules if isinstance(r, DurationLimit)] + [
            r for r in rules if isinstance(r, CountLimit) and r.window is not None
        ]
        if timed and not self._timed:
            self._note(
                Violation(
                    -1,
                    timed[0].rule_id,
                    "deny",
                    "unknown time: the trace has no timestamps, so runtime and rate "
                    "limits cannot be checked",
                    "(run)",
                )
            )


def _happened(decision: Decision) -> Decision:
    """The decision recorded for an event that ran, whatever the policy says of it."""
    if decision.outcome == "allow":
        return decision
    return Decision("allow", (), 0, None, "allowed", decision.policy_version, decision.policy_hash)
