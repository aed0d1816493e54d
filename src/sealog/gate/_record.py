"""The sealed forms of the gate's statements: ``decision`` and ``session`` entry fields.

A decision entry carries everything the evaluator read about the proposed action (name, tool,
target, paths, sources, the estimate, the arguments as exact JSON text, the time is the entry's
own), so :func:`proposed_from` rebuilds the very :class:`ProposedAction` that was judged, and
what it decided: outcome, risk, blocking rule, class, the failed verdicts in words, and the
``decision_digest`` — SHA-256 over the canonical JSON of the whole decision, every verdict —
that ``verify --replay`` compares. Both the live session and the replay read entries back only
through this module, so they cannot disagree on what an entry means.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sealog.canonical import canonicalize, encode_arguments
from sealog.content import content_hash
from sealog.errors import CanonicalError, UsageError
from sealog.ledger.entry import MAX_ARGS_CHARS, parse_time
from sealog.policy import Decision, ProposedAction

__all__ = [
    "JUDGED",
    "Sealable",
    "decision_digest",
    "decision_fields",
    "judged_fields",
    "money",
    "proposed_from",
]


def money(value: Decimal) -> str:
    """A cost as the decimal string entries carry: no exponent, the digits as given.

    Trailing zeros are kept (``0.50`` stays ``0.50``): a decision's words quote amounts, so
    the text read back from an entry must be the very amount that was judged.
    """
    return f"{value:f}"


def decision_digest(decision: Decision) -> str:
    """``sha256:<hex>`` of the canonical JSON of the whole decision (every verdict)."""
    return "sha256:" + hashlib.sha256(canonicalize(decision.to_dict())).hexdigest()


@dataclass(frozen=True, slots=True)
class Sealable:
    """A proposed action with its arguments encoded once: the text, basis and digest."""

    action: ProposedAction
    args_text: str
    args_basis: str
    args_digest: str

    @classmethod
    def of(cls, action: ProposedAction) -> Sealable:
        """Encode ``action.args``.

        The text parses back to the very arguments (spec §4.5b): where RFC 8785 would change a
        float's type or sign (``1.0`` → ``1``, ``-0.0`` → ``0``), the ``raw`` basis is used.

        Raises:
            UsageError: the arguments are not JSON (a set, NaN, a non-string key, a lone
                surrogate …).
        """
        try:
            text, basis = encode_arguments(dict(action.args))
        except CanonicalError as exc:
            raise UsageError(f"the action's args must be JSON: {exc.message}") from exc
        return cls(action, text, basis, content_hash(text.encode("utf-8")))


JUDGED = (
    "outcome",
    "risk",
    "decision_class",
    "blocking_rule",
    "policy_hash",
    "evaluated",
    "failed",
    "alerts",
    "decision_digest",
)
"""The fields of a decision entry that state what was decided (a replay recomputes them)."""


def judged_fields(decision: Decision) -> dict[str, Any]:
    """What a decision entry says was decided: every field in :data:`JUDGED` (None left out)."""
    fields: dict[str, Any] = {
        "outcome": decision.outcome,
        "risk": decision.risk,
        "decision_class": decision.decision_class,
        "policy_hash": decision.policy_hash,
        "evaluated": len(decision.verdicts),
        "failed": [
            {"rule_id": v.rule_id, "effect": v.effect, "detail": v.detail}
            for v in decision.verdicts
            if not v.passed
        ],
        "alerts": list(decision.alerts),
        "decision_digest": decision_digest(decision),
    }
    if decision.blocking_rule is not None:
        fields["blocking_rule"] = decision.blocking_rule
    return fields


def decision_fields(
    sealable: Sealable,
    decision: Decision,
    *,
    session_id: str,
    policy_version: int | None,
    parent_session: str | None = None,
    run_id: str | None = None,
    tool_call_id: str | None = None,
    seal_args: bool = True,
) -> dict[str, Any]:
    """The fields of the ``decision`` entry that records ``decision`` on the action."""
    a = sealable.action
    fields: dict[str, Any] = {
        "session_id": session_id,
        "action": a.action,
        "estimate": money(a.cost),
        "args_digest": sealable.args_digest,
        "args_basis": sealable.args_basis,
        **judged_fields(decision),
    }
    optional: Mapping[str, Any] = {
        "parent_session": parent_session,
        "run_id": run_id,
        "tool_call_id": tool_call_id,
        "tool": a.tool,
        "target": a.target,
        "policy_version": policy_version,
        "paths": list(a.paths) or None,
        "sources": list(a.sources) or None,
        "args": sealable.args_text if seal_args and len(sealable.args_text) <= MAX_ARGS_CHARS
        else None,
    }  # fmt: skip
    fields.update({k: v for k, v in optional.items() if v is not None})
    return fields


def proposed_from(fields: Mapping[str, Any]) -> ProposedAction:
    """The proposed action a ``decision`` entry records (its arguments empty if not sealed).

    Raises:
        ValueError: the fields do not describe an action (a malformed entry).
    """
    args = fields.get("args")
    parsed = json.loads(args) if isinstance(args, str) else {}
    if type(parsed) is not dict:
        raise ValueError("sealed args are not a JSON object")
    return ProposedAction(
        action=str(fields["action"]),
        at=parse_time(str(fields["time"])),
        tool=_opt(fields.get("tool")),
        target=_opt(fields.get("target")),
        args=parsed,
        paths=_strings(fields.get("paths")),
        cost=Decimal(str(fields["estimate"])),
        sources=_strings(fields.get("sources")),
    )


def at_of(fields: Mapping[str, Any]) -> datetime:
    """When an entry was made (its signed time)."""
    return parse_time(str(fields["time"]))


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _strings(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError("expected a list of strings")  # noqa: TRY004 - bad data, not a bad call
    return tuple(str(v) for v in value)
