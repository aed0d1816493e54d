"""The live gate: sessions that decide before an agent acts and seal every decision and action.

* :class:`Gate` — an agent's key, its ledger and its policy in force; opens sessions.
* :class:`Session` — ``pre_action`` (decide and seal), ``post_action`` (seal the action with its
  actual cost), ``charge`` / ``charge_usage`` (model spend), ``record_violation``, ``kill``,
  ``enforce``, the ``action`` context manager and the ``guard`` decorator, child sessions.
* :class:`GateDecision` — a decision as sealed (entry id, index, policy version).
* :func:`kill_session` — the owner kills one of its agent's sessions, wherever the agent runs.
* :func:`replay` — recompute every sealed decision from the log alone (``verify --replay``).
* :class:`AsyncSession`, :func:`open_session` — the asyncio twins (:mod:`sealog.gate.aio`).

Refusals are typed: :class:`~sealog.errors.PolicyViolation` (deny),
:class:`~sealog.errors.ApprovalRequired` (ask), :class:`~sealog.errors.SessionKilled` (kill).
"""

from __future__ import annotations

from sealog.gate.aio import AsyncSession, open_session
from sealog.gate.session import (
    WEBHOOK_SECRET_ENV,
    Gate,
    GateDecision,
    Guarded,
    Session,
    kill_session,
)

__all__ = [
    "WEBHOOK_SECRET_ENV",
    "AsyncSession",
    "Gate",
    "GateDecision",
    "Guarded",
    "Session",
    "kill_session",
    "open_session",
]
