"""The policy engine: one policy language, one pure, compiled evaluator.

Map of the API:

* :func:`load_policy` — load and validate a policy file (native, AgentTrace, tracegate or ptrace
  shape, YAML or JSON) into a normalized :class:`Policy`; any problem raises one
  :class:`~sealog.errors.PolicyError` naming file, line and key path.
* :class:`Policy` and the rule types in :mod:`sealog.policy.model` — typed, frozen rules with a
  stable ``rule_id``, risk weight and decision class; :meth:`Policy.hash` is the policy hash.
* :func:`compile_policy` → :class:`CompiledPolicy` — compiled once; :meth:`CompiledPolicy.evaluate`
  decides on a :class:`ProposedAction` given a :class:`SessionState` and ``now``, returning a
  :class:`Decision` (allow / deny / ask / kill, with a :class:`Verdict` per rule).
* :class:`SessionState` — the in-memory session snapshot; ``record`` and ``with_violation``
  return new states, so replaying a sequence from empty reproduces every decision.
* :func:`explain` — the policy in plain words, including what it does not limit.

See ``docs/policy.md`` for the language.
"""

from __future__ import annotations

from sealog.policy._engine import CompiledPolicy, compile_policy
from sealog.policy._loader import MAX_POLICY_BYTES, load_policy
from sealog.policy._state import Decision, Outcome, ProposedAction, SessionState, Verdict
from sealog.policy.explain import explain
from sealog.policy.model import Policy, Rule

__all__ = [
    "MAX_POLICY_BYTES",
    "CompiledPolicy",
    "Decision",
    "Outcome",
    "Policy",
    "ProposedAction",
    "Rule",
    "SessionState",
    "Verdict",
    "compile_policy",
    "explain",
    "load_policy",
]
