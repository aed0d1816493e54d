"""Approvals: a gate's ``ask`` waits for the agent's owner to approve or deny it, in time.

A decision of ``ask`` is a pending approval. The agent's owner — or an approver the owner named
with an ``approver`` entry (spec §4.5h) — answers with a signed ``approval`` entry (§4.5f),
``approve`` or ``deny``, within
:data:`~sealog.ledger.entry.APPROVAL_TIMEOUT` of the decision's time; the log refuses a second
verdict, a verdict by anyone else and one past the deadline (rule 12). An ask no one decided in
time stands denied (``expired``). An approved ask counts, from the approval on, as an allowed
action of its session (budgets, counts and limits see it); the agent then acts and seals the
action citing the decision, as after an allow.

:class:`ApprovalBook` folds the log into each ask's status; :func:`decide` seals a verdict;
:func:`wait` polls a ledger until the verdict (or the deadline) comes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sealog.crypto import SigningKey
from sealog.errors import NotFound, UsageError
from sealog.ledger import Ledger, Receipt, SignedEntry
from sealog.ledger.entry import APPROVAL_TIMEOUT, format_time, parse_time

__all__ = ["ApprovalBook", "Ask", "Status", "approval_fields", "decide", "name_approver", "wait"]

Status = Literal["pending", "approved", "denied", "expired"]
STATUSES: tuple[Status, ...] = ("pending", "approved", "denied", "expired")


@dataclass(slots=True)
class Ask:
    """One ``ask`` decision and what became of it."""

    decision: str
    index: int
    agent: str
    session_id: str
    action: str
    target: str | None
    blocking_rule: str | None
    time: str
    verdict: SignedEntry | None = field(default=None, repr=False)

    @property
    def expires_at(self) -> datetime:
        """When it stands denied if no one decided it."""
        return parse_time(self.time) + timedelta(seconds=APPROVAL_TIMEOUT)

    def status(self, now: datetime) -> Status:
        """``approved``/``denied`` once decided; else ``pending`` until it expires."""
        if self.verdict is not None:
            return "approved" if self.verdict.fields["verdict"] == "approve" else "denied"
        return "expired" if now > self.expires_at else "pending"

    def to_dict(self, now: datetime) -> dict[str, Any]:
        """JSON-ready, its status as of ``now``."""
        out: dict[str, Any] = {
            "decision": self.decision,
            "index": self.index,
            "agent": self.agent,
            "session_id": self.session_id,
            "action": self.action,
            "target": self.target,
            "rule": self.blocking_rule,
            "asked_at": self.time,
            "expires_at": format_time(self.expires_at),
            "status": self.status(now),
        }
        if self.verdict is not None:
            out["decided_by"] = self.verdict.author
            out["decided_at"] = self.verdict.time
            out["reason"] = self.verdict.fields.get("reason")
        return out


class ApprovalBook:
    """Every ask of the log by decision id, with its verdict when there is one."""

    def __init__(self) -> None:
        """An empty book."""
        self._asks: dict[str, Ask] = {}

    def apply(self, entry: SignedEntry, index: int) -> None:
        """Fold one entry (ask decisions and approvals; others are ignored)."""
        f = entry.fields
        if entry.kind == "decision" and f.get("outcome") == "ask":
            target = f.get("target")
            self._asks[entry.id] = Ask(
                entry.id, index, entry.author, str(f["session_id"]), str(f["action"]),
                None if target is None else str(target), f.get("blocking_rule"), entry.time,
            )  # fmt: skip
        elif entry.kind == "approval":
            found = self._asks.get(str(f["decision"]))
            if found is not None and found.verdict is None:
                found.verdict = entry

    def get(self, decision: str) -> Ask:
        """One ask.

        Raises:
            NotFound: no ask decision with that id.
        """
        found = self._asks.get(decision)
        if found is None:
            raise NotFound(f"no ask decision {decision} in this ledger")
        return found

    def listing(
        self,
        now: datetime,
        *,
        agent: str | None = None,
        status: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Asks (of ``agent``, in ``status``), oldest first, at most ``limit``.

        Raises:
            UsageError: an unknown status.
        """
        if status is not None and status not in STATUSES:
            raise UsageError(f"status must be one of {', '.join(STATUSES)}")
        out: list[dict[str, Any]] = []
        for a in self._asks.values():
            if (agent is None or a.agent == agent) and (status is None or a.status(now) == status):
                out.append(a.to_dict(now))
                if len(out) == limit:
                    break
        return out


def approval_fields(decision: str, *, approve: bool, reason: str | None = None) -> dict[str, Any]:
    """The fields of a verdict on ask ``decision`` (spec §4.5f)."""
    fields: dict[str, Any] = {"decision": decision, "verdict": "approve" if approve else "deny"}
    if reason:
        fields["reason"] = reason[:1024]
    return fields


def decide(
    ledger: Ledger,
    owner: SigningKey,
    decision: str,
    *,
    approve: bool,
    reason: str | None = None,
    time: datetime | None = None,
) -> Receipt:
    """Seal the owner's verdict on an ask (dated ``time``, else now).

    Raises:
        EntryRejected: not a pending ask (``not-pending``), not the agent's owner
            (``not-allowed``), decided already (``already-decided``) or too late (``expired``).
    """
    fields = approval_fields(decision, approve=approve, reason=reason)
    return ledger.append_entry(owner, "approval", fields, time=time)


def name_approver(
    ledger: Ledger, owner: SigningKey, approver: str, *, active: bool = True
) -> Receipt:
    """Name a registered key approver of ``owner``'s agents' asks (``active=False``: withdraw).

    An approver's verdicts count as the owner's (spec §4.5h).

    Raises:
        EntryRejected: ``owner`` is not a registered owner (``not-allowed``), or ``approver``
            is not registered (``unknown-subject``).
    """
    return ledger.append_entry(owner, "approver", {"approver": approver, "active": active})


def wait(
    ledger: Ledger,
    decision: SignedEntry,
    *,
    index: int = 0,
    poll: float = 0.25,
    until: datetime | None = None,
) -> tuple[Status, SignedEntry | None]:
    """Wait for the verdict on ``decision``, the ask entry at ``index``: status and verdict.

    The verdict is the owner's or an approver's it named.

    Reads the log onward from the decision, each entry once. Returns ``expired`` (and no
    verdict) once the deadline (or ``until``) passes undecided.
    """
    deadline = parse_time(decision.time) + timedelta(seconds=APPROVAL_TIMEOUT)
    stop = min(deadline, until) if until is not None else deadline
    start = index
    while True:
        for stored in ledger.entries(start=start):
            start = stored.index + 1
            f = stored.entry.fields
            if stored.entry.kind == "approval" and f.get("decision") == decision.id:
                status: Status = "approved" if f["verdict"] == "approve" else "denied"
                return status, stored.entry
        if datetime.now(UTC) >= stop:
            return "expired", None
        time.sleep(poll)
