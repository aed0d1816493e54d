"""The compiled evaluator: a pure function of (policy, session state, action, now) to a decision.

``compile_policy`` turns each rule into a checker once (:mod:`sealog.policy._checks`: globs
compiled to one regular expression per rule, CEL programs compiled), so ``evaluate`` only reads
memory. Nothing here does I/O or reads the clock: ``now`` is passed in, which is what makes
decisions recomputable by an auditor.

Steps of :meth:`CompiledPolicy.evaluate`:

1. A killed session refuses everything (``kill``, rule ``session.killed``).
2. Every rule that applies gives a :class:`Verdict`, in policy order.
3. The outcome is the strongest effect among failed verdicts: kill > deny > ask; ``alert`` and
   ``log`` never block. The blocking rule is the first failed rule with that effect.
4. Risk is ``100 × (1 − Π(1 − wᵢ/100))`` over failed rules' weights (a noisy-OR: one rule of
   weight w scores w, more rules add up without passing 100), rounded half up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sealog.policy._checks import Checker, compile_rule
from sealog.policy._state import Decision, Outcome, ProposedAction, SessionState, Verdict
from sealog.policy.model import Policy

__all__ = ["CompiledPolicy", "compile_policy"]

_RANK: dict[str, int] = {"kill": 3, "deny": 2, "ask": 1}


def compile_policy(policy: Policy) -> CompiledPolicy:
    """Compile a loaded policy for fast, repeated evaluation."""
    return CompiledPolicy(policy, policy.hash(), tuple(compile_rule(rule) for rule in policy.rules))


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A policy ready to decide; immutable, safe to share between threads."""

    policy: Policy
    policy_hash: str
    checkers: tuple[Checker, ...]

    def evaluate(self, action: ProposedAction, state: SessionState, *, now: datetime) -> Decision:
        """Decide on ``action`` given what the session has seen; never raises on bad args.

        Args:
            action: The proposed action.
            state: The session snapshot before this action.
            now: The decision time (UTC), passed in so the decision is reproducible.
        """
        if state.killed_by is not None:
            verdict = Verdict("session.killed", passed=False, effect="kill", risk=100,
                              detail=f"Session was killed by {state.killed_by}",
                              decision_class="session_killed")  # fmt: skip
            return self._decide((verdict,))
        verdicts = tuple(
            v for check in self.checkers if (v := check(action, state, now)) is not None
        )
        return self._decide(verdicts)

    def _decide(self, verdicts: tuple[Verdict, ...]) -> Decision:
        """Combine verdicts into a decision (steps 3 and 4)."""
        failed = [v for v in verdicts if not v.passed]
        blocking = None
        for v in failed:
            if _RANK.get(v.effect, 0) > (_RANK.get(blocking.effect, 0) if blocking else 0):
                blocking = v
        outcome: Outcome = "allow" if blocking is None else blocking.effect  # type: ignore[assignment]
        alerts = tuple(v.rule_id for v in verdicts if v.effect in {"alert", "log"} and not v.passed)
        alerts += tuple(v.rule_id for v in verdicts if v.alert)
        remaining = Fraction(1)
        for v in failed:
            remaining *= Fraction(100 - v.risk, 100)
        risk = int((100 * (1 - remaining)) + Fraction(1, 2))
        return Decision(
            outcome=outcome,
            verdicts=verdicts,
            risk=risk,
            blocking_rule=None if blocking is None else blocking.rule_id,
            decision_class="allowed" if blocking is None else blocking.decision_class,
            policy_version=self.policy.version,
            policy_hash=self.policy_hash,
            alerts=alerts,
        )
