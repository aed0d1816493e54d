"""Reports about agents and their answers, folded from the log; the unlogged-action check.

A platform, a user or another agent files a signed ``report`` entry about an agent (spec
§4.5d); the agent or its owner answers with a signed ``response`` (§4.5e). :class:`ReportBook`
folds both into each report's status — ``open`` until answered, then ``acknowledged`` or
``disputed`` by the latest response.

For a report of an ``unlogged_action``, :func:`corroborate` asks the agent's own chain: is there
an entry of that action (and target) within :data:`WINDOW` of ``observed_at``? If so the report
is answered ``logged``, with the entry and its inclusion proof. If not, and the chain is intact,
complete from its first entry and goes on past ``observed_at`` (an entry of the agent after that
time, included in the checkpoint), the missing entry is evidence: ``not-logged``. If the chain
ends before ``observed_at``, nothing can be said yet: ``undetermined``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from typing import Any, Literal

from sealog.errors import NotFound
from sealog.ledger import Ledger, SignedEntry, StoredEntry
from sealog.ledger.entry import parse_time

__all__ = ["SEVERITY_WEIGHT", "WINDOW", "Report", "ReportBook", "Response", "corroborate",
           "reputation"]  # fmt: skip

WINDOW = timedelta(minutes=15)
"""How far from ``observed_at`` an entry may be and still be the action observed."""

Status = Literal["open", "acknowledged", "disputed"]


@dataclass(frozen=True, slots=True)
class Response:
    """An answer to a report, as sealed."""

    id: str
    index: int
    author: str
    acknowledged: bool
    counter_evidence_hash: str | None
    note: str | None
    time: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "index": self.index,
            "author": self.author,
            "acknowledged": self.acknowledged,
            "counter_evidence_hash": self.counter_evidence_hash,
            "note": self.note,
            "time": self.time,
        }


@dataclass(slots=True)
class Report:
    """A report as sealed, with the responses it got."""

    id: str
    index: int
    author: str
    subject: str
    fields: dict[str, Any]
    time: str
    responses: list[Response] = field(default_factory=list)

    @property
    def status(self) -> Status:
        """``open``, or what the latest response says."""
        if not self.responses:
            return "open"
        return "acknowledged" if self.responses[-1].acknowledged else "disputed"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the report's own fields, its status and its responses."""
        f = self.fields
        return {
            "id": self.id,
            "index": self.index,
            "reporter": self.author,
            "subject": self.subject,
            "category": f["category"],
            "severity": f["severity"],
            "action_observed": f["action_observed"],
            "target": f.get("target"),
            "observed_at": f["observed_at"],
            "description": f.get("description"),
            "evidence_hash": f.get("evidence_hash"),
            "filed_at": self.time,
            "status": self.status,
            "responses": [r.to_dict() for r in self.responses],
        }


class ReportBook:
    """Every report in the log by id, and the ids about each agent, in log order."""

    def __init__(self) -> None:
        """An empty book."""
        self._reports: dict[str, Report] = {}
        self._about: dict[str, list[str]] = {}

    def apply(self, entry: SignedEntry, index: int) -> None:
        """Fold one entry (reports and responses; others are ignored)."""
        f = entry.fields
        if entry.kind == "report":
            subject = str(f["subject"])
            fields = {k: v for k, v in f.items() if k not in {"v", "kind", "author", "seq", "prev"}}
            self._reports[entry.id] = Report(entry.id, index, entry.author, subject, fields,
                                             entry.time)  # fmt: skip
            self._about.setdefault(subject, []).append(entry.id)
        elif entry.kind == "response":
            found = self._reports.get(str(f["report"]))
            if found is not None:
                found.responses.append(Response(
                    entry.id, index, entry.author, bool(f["acknowledged"]),
                    f.get("counter_evidence_hash"), f.get("note"), entry.time,
                ))  # fmt: skip

    def get(self, report_id: str) -> Report:
        """One report.

        Raises:
            NotFound: no such report.
        """
        found = self._reports.get(report_id)
        if found is None:
            raise NotFound(f"no report {report_id} in this ledger")
        return found

    def about(self, subject: str) -> list[Report]:
        """The reports about ``subject``, oldest first."""
        return [self._reports[i] for i in self._about.get(subject, ())]

    def counts(self, subject: str) -> dict[str, int]:
        """Reports received, and how many are open, acknowledged and disputed."""
        reports = self.about(subject)
        out = {"received": len(reports), "open": 0, "acknowledged": 0, "disputed": 0}
        for report in reports:
            out[report.status] += 1
        return out


def _matches(stored: StoredEntry, report: Report) -> bool:
    f, wanted = stored.entry.fields, report.fields
    if stored.entry.kind != "action" or f.get("action") != wanted["action_observed"]:
        return False
    target = wanted.get("target")
    return target is None or f.get("target") == target


def corroborate(ledger: Ledger, report: Report, window: timedelta = WINDOW) -> dict[str, Any]:
    """Whether the agent's own chain logged the action a report says it took unlogged.

    Raises:
        NotFound: the subject is not registered.
    """
    subject = report.subject
    ledger.agent(subject)
    observed = parse_time(str(report.fields["observed_at"]))
    after: StoredEntry | None = None
    for stored in ledger.entries(agent=subject):
        when = parse_time(stored.entry.time)
        if abs(when - observed) <= window and _matches(stored, report):
            proof = ledger.prove_inclusion(stored.index)
            return {
                "verdict": "logged",
                "entry": {"id": stored.entry.id, "index": stored.index, "time": stored.entry.time},
                "proof": proof.to_dict(),
                "checkpoint": ledger.checkpoint(),
            }
        if after is None and when > observed + window:
            after = stored
    audit = ledger.verify(agent=subject)
    out: dict[str, Any] = {
        "chain_intact": audit.chain_intact,
        "complete": audit.complete,
        "window_seconds": int(window.total_seconds()),
        "checkpoint": ledger.checkpoint(),
    }
    if after is None or not audit.ok:
        why = (
            "the agent's chain does not verify"
            if not audit.ok
            else "the agent's chain has no entry after observed_at yet"
        )
        return {"verdict": "undetermined", "reason": why, **out}
    return {
        "verdict": "not-logged",
        "reason": (
            f"no {report.fields['action_observed']!r} entry within "
            f"{int(window.total_seconds() // 60)} minutes of observed_at, "
            "in a chain that is intact and complete and goes on past it"
        ),
        "next_entry": {"id": after.entry.id, "index": after.index, "time": after.entry.time},
        "proof": ledger.prove_inclusion(after.index).to_dict(),
        **out,
    }


SEVERITY_WEIGHT = {"low": 2, "medium": 5, "high": 10, "critical": 20}
"""Points a report takes off the reputation, by its severity, when it is acknowledged."""


def reputation(*, decisions: int, denied: int, sessions_killed: int, reports: list[Report]) -> int:
    """The reputation score, 0–100: 100 for a clean record, less for what the log holds.

    ``100 − min(40, 10 × sessions killed) − round(30 × denied / decisions)
    − Σ over reports: weight × (1 acknowledged, ½ open, ¼ disputed)``, floored at 0, where the
    weight is 2, 5, 10 or 20 for a low, medium, high or critical report. Every term is read
    from the log, so anyone holding it computes the same score (``docs/reports.md``).
    """
    score = Fraction(100)
    score -= min(40, 10 * sessions_killed)
    if decisions:
        score -= round(Fraction(30 * denied, decisions))
    share = {"acknowledged": Fraction(1), "open": Fraction(1, 2), "disputed": Fraction(1, 4)}
    for report in reports:
        score -= SEVERITY_WEIGHT[str(report.fields["severity"])] * share[report.status]
    return max(0, round(score))
