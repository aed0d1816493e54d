"""Kill-switch and alert notifications: Slack-compatible signed webhooks, off the decision path.

When a session is killed (or crosses ``alert_at``), the session layer builds a
:class:`Notification` and hands it to a :class:`Notifier`, which returns at once; a background
thread signs and posts it to every configured :class:`Webhook`, retries with backoff, and records
each outcome as a :class:`Delivery` so it can be sealed into the ledger. The body is canonical JSON
(RFC 8785) that Slack's incoming webhooks accept as is, plus a machine-readable copy under
``sealog``; receivers check it with :func:`verify_webhook`. ``docs/webhooks.md`` is the contract.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from sealog.canonical import canonicalize
from sealog.errors import UsageError
from sealog.policy._delivery import Delivery, RetryPolicy, Webhook
from sealog.policy._notifier import Notifier
from sealog.policy._signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_webhook,
    verify_webhook,
)
from sealog.policy._slack import blocks_message

__all__ = [
    "EVENTS",
    "PAYLOAD_VERSION",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Delivery",
    "Notification",
    "Notifier",
    "RetryPolicy",
    "Webhook",
    "sign_webhook",
    "verify_webhook",
]

PAYLOAD_VERSION = 1
"""Version of the ``sealog`` object inside the payload; changed only with docs/webhooks.md."""

EVENTS: Mapping[str, str] = MappingProxyType(
    {
        "session_killed": "Session killed",
        "alert": "Alert",
        "threshold_reached": "Threshold reached",
        "session_ended": "Session ended",
    }
)
"""Known events and their headline; other slugs are allowed and shown as they are."""

_SLUG = re.compile(r"[a-z][a-z0-9_]{0,63}")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


@dataclass(frozen=True, slots=True)
class Notification:
    """What happened to a session, in the words and numbers a person and a program both need.

    Attributes:
        event: A slug such as ``session_killed``, ``alert`` or ``threshold_reached``.
        agent: The agent's address.
        session_id: The session concerned.
        reason: Why, in words (user-controlled: cut and escaped when rendered).
        time: When it happened; must be timezone-aware, stored in UTC.
        rule_id: The rule that fired, if any.
        decision_class: The stable decision class of that rule, if any.
        figures: Counts and amounts as decimal strings (``{"cost_usd": "12.50"}``), never floats,
            so the signed bytes are exact.
        policy_version: The policy version in force.
        ledger_entry: The id of the ledger entry that records the event (e.g. the kill), if sealed.
    """

    event: str
    agent: str
    session_id: str
    reason: str
    time: datetime
    rule_id: str | None = None
    decision_class: str | None = None
    figures: Mapping[str, str] = field(default_factory=dict)
    policy_version: int | None = None
    ledger_entry: str | None = None

    def __post_init__(self) -> None:
        """Validate and freeze: a bad notification is a bug in the caller, caught early."""
        if not _SLUG.fullmatch(self.event):
            raise UsageError(f"notification event must be a lowercase slug, got {self.event!r}")
        if self.time.tzinfo is None:
            raise UsageError("notification time must be timezone-aware")
        for name, value in self.figures.items():
            checked: object = value  # callers may pass anything; only str is accepted
            if not isinstance(checked, str) or not _DECIMAL.fullmatch(checked):
                raise UsageError(f"figure {name!r} must be a decimal string, got {value!r}")
        object.__setattr__(self, "time", self.time.astimezone(UTC))
        object.__setattr__(self, "figures", MappingProxyType(dict(self.figures)))

    @property
    def timestamp(self) -> str:
        """The time as RFC 3339 UTC with a ``Z`` (second precision plus microseconds if any)."""
        return self.time.isoformat().replace("+00:00", "Z")

    def record(self) -> dict[str, Any]:
        """The machine-readable copy carried under ``sealog`` in the payload (never cut)."""
        return {
            "version": PAYLOAD_VERSION,
            "event": self.event,
            "agent": self.agent,
            "session_id": self.session_id,
            "reason": self.reason,
            "rule_id": self.rule_id,
            "decision_class": self.decision_class,
            "figures": dict(self.figures),
            "time": self.timestamp,
            "policy_version": self.policy_version,
            "ledger_entry": self.ledger_entry,
        }

    def to_payload(self) -> dict[str, Any]:
        """Slack incoming-webhook JSON: ``text`` fallback, Block Kit ``blocks``, and ``sealog``."""
        title = f"{EVENTS.get(self.event, self.event)}: {self.agent}"
        fields: list[tuple[str, str]] = [("Agent", self.agent), ("Session", self.session_id)]
        if self.rule_id is not None:
            fields.append(("Rule", self.rule_id))
        if self.decision_class is not None:
            fields.append(("Class", self.decision_class))
        if self.policy_version is not None:
            fields.append(("Policy version", str(self.policy_version)))
        fields.extend(sorted(self.figures.items()))
        context = [f"sealog · {self.event} · {self.timestamp}"]
        if self.ledger_entry is not None:
            context.append(f"ledger entry {self.ledger_entry}")
        message = blocks_message(title=title, summary=self.reason, fields=fields, context=context)
        message["sealog"] = self.record()
        return message

    def body(self) -> bytes:
        """The exact bytes sent and signed: the canonical JSON (RFC 8785) of the payload."""
        return canonicalize(self.to_payload())
