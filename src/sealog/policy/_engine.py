"""The compiled evaluator: a pure function of (policy, session state, action, now) to a decision.

``compile_policy`` turns each rule into a checker once (:mod:`sealog.policy._checks`: globs
compiled to one regular expression per rule, CEL programs compiled), so ``evaluate`` only reads
memory. Nothing here does I/O or reads the clock: ``now`` is passed in, which is what makes
decisions recomputable by an auditor.

Per kind of action (name, tool, whether a target and paths are given, violation counts) a plan
is cached: which rules apply, with the verdicts of static rules already computed. Windowed
counts and sums are answered by the session's :class:`~sealog.policy._timeline.Timeline` index
in O(log n); the CEL variables are converted once per decision (:class:`._state.Env`).

Steps of :meth:`CompiledPolicy.evaluate`:

1. A killed session refuses everything (``kill``, rule ``session.killed``).
2. Every rule that applies gives a :class:`Verdict`, in policy order.
3. The outcome is the strongest effect among failed verdicts: kill > deny > ask; ``alert`` and
   ``log`` never block. The blocking rule is the first failed rule with that effect.
4. Risk is ``100 × (1 − Π(1 − wᵢ/100))`` over failed rules' weights (a noisy-OR: one rule of
   weight w scores w, more rules add up without passing 100), rounded half up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sealog.policy._checks import Checker, Compiled, compile_rule
from sealog.policy._state import (
    Decision,
    Env,
    Outcome,
    ProposedAction,
    SessionState,
    Verdict,
    cel_variables,
)
from sealog.policy.model import (
    AskRule,
    BudgetLimit,
    Condition,
    DurationLimit,
    Policy,
    ViolationThreshold,
)

__all__ = ["CompiledPolicy", "compile_policy"]

_RANK: dict[str, int] = {"kill": 3, "deny": 2, "ask": 1}
_QUIET = frozenset({"alert", "log"})
_PLANS = 1024
"""Kinds of action whose plan is remembered before the cache starts over."""

PlanKey = tuple[str, str | None, bool, bool, tuple[tuple[str, int], ...]]
"""What decides which rules apply and the static verdicts: action, tool, whether a target and
paths are given, the violation counts."""
Plan = tuple[tuple[Verdict | None, ...], tuple[tuple[int, Checker], ...]]
"""Verdicts in policy order (static ones filled in, the others None) and the checkers to run."""


def compile_policy(policy: Policy) -> CompiledPolicy:
    """Compile a loaded policy for fast, repeated evaluation."""
    texts = [r.expression if isinstance(r, Condition) else r.when or "" for r in policy.rules
             if isinstance(r, Condition | AskRule)]  # fmt: skip
    rules = tuple(compile_rule(rule) for rule in policy.rules)
    return CompiledPolicy(policy, policy.hash(), rules, cel_variables(texts))


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A policy ready to decide; immutable, safe to share between threads."""

    policy: Policy
    policy_hash: str
    rules: tuple[Compiled, ...]
    cel_names: frozenset[str]
    """The CEL variables the policy's expressions may read (the others are not converted)."""
    plans: dict[PlanKey, Plan] = field(default_factory=dict, compare=False, repr=False)
    """The plan for each kind of action seen (a cache, bounded)."""

    def evaluate(self, action: ProposedAction, state: SessionState, *, now: datetime) -> Decision:
        """Decide on ``action`` given what the session has seen; never raises on bad args.

        Args:
            action: The proposed action.
            state: The session snapshot before this action.
            now: The decision time (UTC), passed in so the decision is reproducible.
        """
        if state.killed_by is not None:
            verdict = Verdict("session.killed", passed=False, effect="kill", risk=100,
                              detail=f"the session was killed by {state.killed_by}",
                              decision_class="session_killed")  # fmt: skip
            return self.decide((verdict,))
        key = (action.action, action.tool, action.target is None, not action.paths)
        plan = self.plans.get((*key, state.violations))
        if plan is None:
            plan = self._plan(action, state, now)
        env = Env(action, self.cel_names)
        slots = list(plan[0])
        for i, check in plan[1]:
            slots[i] = check(action, state, now, env)
        return self.decide(tuple([v for v in slots if v is not None]))

    def _plan(self, action: ProposedAction, state: SessionState, now: datetime) -> Plan:
        """Which rules apply to this kind of action, with the static verdicts computed."""
        env = Env(action, self.cel_names)
        applies = [r for r in self.rules if r.scope is None or r.scope(action)]
        template = tuple(r.check(action, state, now, env) if r.static else None for r in applies)
        dynamic = tuple((i, r.check) for i, r in enumerate(applies) if not r.static)
        if len(self.plans) >= _PLANS:
            self.plans.clear()
        key = (action.action, action.tool, action.target is None, not action.paths)
        self.plans[(*key, state.violations)] = plan = (template, dynamic)
        return plan

    def standing(
        self,
        state: SessionState,
        now: datetime,
        *,
        cost: Decimal = Decimal(0),
        budget_only: bool = False,
    ) -> tuple[Verdict, ...]:
        """Verdicts of the rules about the session as a whole, with no action proposed.

        Violation thresholds, session budgets (with ``cost`` more spent) and the duration cap,
        by the same checkers :meth:`evaluate` runs: what a recorded violation or a settled cost
        is held to at once, and what a child session's spending is held to in its ancestors
        (``budget_only``: session budgets alone).
        """
        probe = ProposedAction(action="", at=now, cost=cost)
        env = Env(probe, self.cel_names)
        out: list[Verdict] = []
        for rule, compiled in zip(self.policy.rules, self.rules, strict=True):
            budget = isinstance(rule, BudgetLimit) and rule.scope == "session"
            whole = isinstance(rule, ViolationThreshold | DurationLimit)
            if budget or (whole and not budget_only):
                verdict = compiled.check(probe, state, now, env)
                if verdict is not None:
                    out.append(verdict)
        return tuple(out)

    def decide(self, verdicts: tuple[Verdict, ...]) -> Decision:
        """Combine verdicts into a decision under this policy (steps 3 and 4)."""
        blocking, rank, failed, alerts, flagged = None, 0, [], [], []
        for v in verdicts:
            if not v.passed:
                failed.append(v.risk)
                if (r := _RANK.get(v.effect, 0)) > rank:
                    blocking, rank = v, r
                if v.effect in _QUIET:
                    alerts.append(v.rule_id)
            if v.alert:
                flagged.append(v.rule_id)
        outcome: Outcome = "allow" if blocking is None else blocking.effect  # type: ignore[assignment]
        # risk = floor(100·(1 − Π(100 − wᵢ)/100ᵏ) + ½), exactly, in integers
        scale, kept = 100 ** len(failed), 1
        for w in failed:
            kept *= 100 - w
        risk = (2 * 100 * (scale - kept) + scale) // (2 * scale)
        return Decision(
            outcome=outcome,
            verdicts=verdicts,
            risk=risk,
            blocking_rule=None if blocking is None else blocking.rule_id,
            decision_class="allowed" if blocking is None else blocking.decision_class,
            policy_version=self.policy.version,
            policy_hash=self.policy_hash,
            alerts=(*alerts, *flagged),
        )
