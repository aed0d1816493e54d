"""The service layer: what the HTTP server and the clients call, over one ledger.

A :class:`Service` keeps a :class:`~sealog.gate.replay.Replayer` folded up to the head of the
log — every session's state, every agent's policy versions — so that:

* a submission (:meth:`Service.submit`) is checked on a fork of it before it is committed: a
  ``decision`` entry must be the very decision the gate would make at that point of the log
  (``decision-mismatch`` otherwise), and gate entries must fit their sessions (``out-of-place``);
  a log accepted by the service therefore replays clean;
* a remote agent asks for the decision it is to sign (:meth:`Service.draft_decision`): the
  server judges, the agent signs what it was told, the server checks it again on submission;
* every read (agents with their stats, entries by filter, verification with the policy in force
  at the time) answers from the ledger and the fold, never from a second evaluator.

Entries written to the ledger by someone else (another process) are folded before each call.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from sealog.approvals import ApprovalBook
from sealog.content import content_hash
from sealog.errors import EntryRejected, NotFound, UsageError
from sealog.gate._book import Tracked, judge
from sealog.gate._record import Sealable, decision_fields
from sealog.gate.replay import Finding, Replayer
from sealog.governance import Blobs, TraceBook, trace_json
from sealog.ledger import Ledger, Receipt, SignedEntry, StoredEntry, VerifyReport
from sealog.ledger.entry import format_time, parse_time
from sealog.policy import CompiledPolicy, ProposedAction
from sealog.policy.store import policy_history
from sealog.provenance import ProvenanceIndex
from sealog.receipts import join, receipts
from sealog.reports import ReportBook, corroborate, reputation

__all__ = [
    "POLICY_MATCH",
    "AgentInfo",
    "Draft",
    "PolicyMatch",
    "Service",
    "Submitted",
    "policy_match",
]

PolicyMatch = Literal["allowed", "denied", "pending_approval", "killed"]
POLICY_MATCH: Mapping[str, PolicyMatch] = {
    "allow": "allowed",
    "deny": "denied",
    "ask": "pending_approval",
    "kill": "killed",
}
"""What each outcome is called where an API answers ``policy_match``."""


def policy_match(outcome: object) -> PolicyMatch | None:
    """The ``policy_match`` of a decision outcome (None for anything else)."""
    return POLICY_MATCH.get(str(outcome)) if outcome is not None else None


_REFUSE = frozenset(
    {"differs", "args-mismatch", "stale-policy", "out-of-place", "bad-policy", "not-allowed"}
)


@dataclass(frozen=True, slots=True)
class Submitted:
    """One accepted entry: its receipt and, for gate entries, the gate's answer.

    ``policy_match`` and ``policy_version`` are set for decisions and for the actions citing
    them: the outcome mapped to ``allowed``/``denied``/``pending_approval``/``killed``.
    """

    receipt: Receipt
    entry_id: str
    kind: str
    policy_match: PolicyMatch | None = None
    policy_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            **self.receipt.to_dict(),
            "id": self.entry_id,
            "kind": self.kind,
            "policy_match": self.policy_match,
            "policy_version": self.policy_version,
        }


@dataclass(frozen=True, slots=True)
class Draft:
    """The decision entry an agent is to sign: its fields and the time it was judged at."""

    fields: dict[str, Any]
    time: str
    outcome: str
    policy_version: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "fields": self.fields,
            "time": self.time,
            "outcome": self.outcome,
            "policy_version": self.policy_version,
        }


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """What a platform asks before letting an agent act: who it is and how it has behaved."""

    address: str
    role: str
    owner: str | None
    name: str | None
    registered_at: str
    registered_index: int
    policy_version: int | None
    entries: int
    denied_actions: int
    sessions_killed: int
    reports_received: int = 0
    reports_open: int = 0
    reports_acknowledged: int = 0
    reports_disputed: int = 0
    decisions: int = 0
    reputation: int = 100
    """0–100, from the log alone (:func:`sealog.reports.reputation`)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "address": self.address,
            "role": self.role,
            "owner": self.owner,
            "name": self.name,
            "registered_at": self.registered_at,
            "registered_index": self.registered_index,
            "policy_version": self.policy_version,
            "stats": {
                "entries": self.entries,
                "denied_actions": self.denied_actions,
                "sessions_killed": self.sessions_killed,
                "reports_received": self.reports_received,
                "reports_open": self.reports_open,
                "reports_acknowledged": self.reports_acknowledged,
                "reports_disputed": self.reports_disputed,
                "decisions": self.decisions,
                "reputation": self.reputation,
            },
        }


class Service:
    """One ledger, folded and ready to judge, for every surface to share."""

    def __init__(self, ledger: Ledger, blobs: Blobs | None = None) -> None:
        """Fold the whole log (a replay) so decisions can be drafted and checked at once.

        ``blobs`` keeps the reasoning texts apps ask to keep (in memory when not given).
        """
        self.ledger = ledger
        self.blobs = blobs or Blobs(":memory:")
        self._lock = threading.RLock()
        self._replayer = Replayer()
        self._folded = 0
        self._entries: Counter[str] = Counter()
        self._denied: Counter[str] = Counter()
        self._decisions: Counter[str] = Counter()
        self._killed: Counter[str] = Counter()
        self._kills: set[tuple[str, str]] = set()
        self.reports = ReportBook()
        self.provenance = ProvenanceIndex()
        self.approvals = ApprovalBook()
        self.traces = TraceBook()
        self._findings: dict[str, Finding] = {}
        self._catch_up()

    # -- the fold -----------------------------------------------------------------------------

    def _catch_up(self) -> None:
        """Fold entries other writers appended since the last call."""
        with self._lock:
            size = self.ledger.size()
            if size > self._folded:
                for stored in self.ledger.entries(start=self._folded):
                    self._count(stored.entry, stored.index)
                    for finding in self._replayer.feed(stored):
                        self._findings.setdefault(finding.entry_id, finding)
                self._folded = size

    def _count(self, entry: SignedEntry, index: int) -> None:
        self._entries[entry.author] += 1
        self.reports.apply(entry, index)
        self.provenance.apply(entry, index)
        self.approvals.apply(entry, index)
        self.traces.apply(entry, index)
        f = entry.fields
        if entry.kind == "decision":
            self._decisions[entry.author] += 1
        if entry.kind == "decision" and f.get("outcome") == "deny":
            self._denied[entry.author] += 1
        elif entry.kind == "session" and f.get("event") == "kill":
            session = (str(f.get("agent") or entry.author), str(f["session_id"]))
            if session not in self._kills:  # the agent's own kill or its owner's: once
                self._kills.add(session)
                self._killed[session[0]] += 1

    # -- writing ------------------------------------------------------------------------------

    def submit(self, entries: Sequence[SignedEntry]) -> list[Submitted]:
        """Append signed entries, all or nothing, after checking the gate's entries among them.

        Raises:
            EntryRejected: an entry is refused — by the ledger (signature, chain, author …) or
                because a decision is not the one the gate makes (``decision-mismatch``) or a
                gate entry does not fit its session (``out-of-place``); the message names the
                entry's place in the batch. Nothing is stored.
            StorageError: the commit failed; nothing is stored.
        """
        if not entries:
            raise UsageError("a submission holds at least one entry")
        parsed = [e if e.from_bytes else SignedEntry.parse(e.data, e.signature) for e in entries]
        with self._lock:
            self._catch_up()
            try:
                trial, outcomes = self._trial(parsed)
                self.provenance.check(parsed)
            except EntryRejected:
                self.ledger.release(entries)
                raise
            receipts = self.ledger.submit(parsed)
            self._replayer.absorb(trial)
            for entry, receipt in zip(entries, receipts, strict=True):
                self._count(entry, receipt.index)
            self._folded += len(entries)
        return [self._submitted(e, r, outcomes) for e, r in zip(entries, receipts, strict=True)]

    def _trial(
        self, entries: Sequence[SignedEntry]
    ) -> tuple[Replayer, dict[str, Mapping[str, Any]]]:
        """Feed a fork of the replayer the submission; refuse at the first gate finding."""
        trial = self._replayer.fork()
        decisions: dict[str, Mapping[str, Any]] = {}
        for position, entry in enumerate(entries):
            for finding in trial.feed(StoredEntry(self._folded + position, entry)):
                if finding.kind in _REFUSE:
                    code = "decision-mismatch" if finding.kind == "differs" else finding.kind
                    where = f"entry {position + 1} of {len(entries)}: "
                    raise EntryRejected(where + finding.detail, code=code)
            if entry.kind == "decision":
                decisions[entry.id] = entry.fields
        return trial, decisions

    def _submitted(
        self, entry: SignedEntry, receipt: Receipt, batch: dict[str, Mapping[str, Any]]
    ) -> Submitted:
        f = entry.fields
        outcome: str | None = None
        version = f.get("policy_version")
        if entry.kind == "decision":
            outcome = str(f["outcome"])
        elif entry.kind == "action" and isinstance(f.get("decision"), str):
            cited = str(f["decision"])
            found = batch.get(cited) or self.ledger.get(cited).entry.fields
            outcome, version = str(found.get("outcome")), found.get("policy_version")
        match = policy_match(outcome)
        sealed = version if isinstance(version, int) else _int(version)
        return Submitted(receipt, entry.id, entry.kind, match, sealed)

    def draft_decision(
        self,
        agent: str,
        session_id: str,
        action: str,
        *,
        target: str | None = None,
        tool: str | None = None,
        args: Mapping[str, Any] | None = None,
        paths: Sequence[str] = (),
        sources: Sequence[str] = (),
        estimate: Decimal = Decimal(0),
        tool_call_id: str | None = None,
    ) -> Draft:
        """The decision the gate makes now on the agent's proposed action, for it to sign.

        Raises:
            NotFound: no such agent, or no such session of it.
            UsageError: malformed arguments (not JSON), or the session has ended.
        """
        with self._lock:
            self._catch_up()
            book = self._replayer.book
            if session_id not in book or book.get(session_id).agent != agent:
                raise NotFound(f"agent {agent} has no session {session_id!r}")
            tracked = book.get(session_id)
            if tracked.ended:
                raise UsageError(f"session {session_id!r} has ended")
            if not self._replayer.policies.current.get(agent):
                raise NotFound(f"agent {agent} has no sealed policy", hint="seal one first")
            head = self.ledger.head(agent)
            now = datetime.now(UTC)
            if head is not None and (last := parse_time(head.time)) > now:
                now = last
            now = parse_time(format_time(now))
            proposed = ProposedAction(action=action, at=now, tool=tool, target=target,
                                      args=dict(args or {}), paths=tuple(paths), cost=estimate,
                                      sources=tuple(sources))  # fmt: skip
            sealable = Sealable.of(proposed)
            decision = judge(book, session_id, proposed, self._policy_of)
            version = self._replayer.policies.current.get(agent) or None
            fields = decision_fields(sealable, decision, session_id=session_id,
                                     policy_version=version, parent_session=tracked.parent,
                                     tool_call_id=tool_call_id)  # fmt: skip
        return Draft(fields, format_time(now), decision.outcome, version)

    def _policy_of(self, tracked: Tracked) -> CompiledPolicy:
        return self._replayer.policies.in_force(tracked)

    # -- reading ------------------------------------------------------------------------------

    def agent_info(self, address: str) -> AgentInfo:
        """The agent's registration, policy version in force and track of entries.

        Raises:
            NotFound: the address is not registered (a platform answers 404).
        """
        with self._lock:
            self._catch_up()
            reg = self.ledger.agent(address)
            version = self._replayer.policies.current.get(address) or None
            return AgentInfo(
                address=reg.address, role=reg.role, owner=reg.owner, name=reg.name,
                registered_at=reg.time, registered_index=reg.index, policy_version=version,
                entries=self._entries[address], denied_actions=self._denied[address],
                sessions_killed=self._killed[address],
                **{f"reports_{k}": v for k, v in self.reports.counts(address).items()},
                decisions=self._decisions[address],
                reputation=reputation(
                    decisions=self._decisions[address], denied=self._denied[address],
                    sessions_killed=self._killed[address], reports=self.reports.about(address),
                ),
            )  # fmt: skip

    def reports_about(self, address: str) -> dict[str, Any]:
        """Every report about ``address`` (oldest first, with status and responses), counted.

        Raises:
            NotFound: the address is not registered.
        """
        with self._lock:
            self._catch_up()
            self.ledger.agent(address)
            reports = [r.to_dict() for r in self.reports.about(address)]
            return {"address": address, **self.reports.counts(address), "reports": reports}

    def report(self, report_id: str) -> dict[str, Any]:
        """One report with its status and responses.

        For an ``unlogged_action``, also what the agent's own chain says
        (:func:`sealog.reports.corroborate`).

        Raises:
            NotFound: no such report.
        """
        with self._lock:
            self._catch_up()
            found = self.reports.get(report_id)
            out = found.to_dict()
            if found.fields["category"] == "unlogged_action":
                out["corroboration"] = corroborate(self.ledger, found)
            return out

    def lineage(
        self, digest: str, contents: Callable[[str], str | None] | None = None
    ) -> dict[str, Any]:
        """Where a piece of content came from, across agents (:mod:`sealog.provenance`).

        Raises:
            UsageError: not a content hash; NotFound: no entry produced it.
        """
        with self._lock:
            self._catch_up()
            return self.provenance.lineage(digest, contents).to_dict()

    def asks(
        self,
        *,
        agent: str | None = None,
        status: str | None = None,
        now: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Ask decisions and their approvals (of ``agent``; in ``status``), oldest first.

        Raises:
            UsageError: an unknown status.
        """
        with self._lock:
            self._catch_up()
            return self.approvals.listing(
                now or datetime.now(UTC), agent=agent, status=status, limit=limit
            )

    def seal_trace(self, entry: SignedEntry, reasoning: str | None = None) -> dict[str, Any]:
        """Append a signed ``trace`` entry; keep its reasoning text if given (and it matches).

        Raises:
            UsageError: not a trace entry, or the text does not hash to its reasoning_hash.
            EntryRejected: the log refuses the entry; nothing is kept.
        """
        parsed = entry if entry.from_bytes else SignedEntry.parse(entry.data, entry.signature)
        if parsed.kind != "trace":
            raise UsageError("a governance trace is a 'trace' entry")
        digest = parsed.fields.get("reasoning_hash")
        if reasoning is not None and (digest is None or content_hash(reasoning) != digest):
            raise UsageError("the reasoning text does not hash to the trace's reasoning_hash")
        (done,) = self.submit([parsed])
        if reasoning is not None:
            self.blobs.put(str(digest), reasoning)
        return self.trace(done.entry_id)

    def trace(self, trace_hash: str) -> dict[str, Any]:
        """One trace, with its reasoning text if it was kept and not erased.

        Raises:
            NotFound: no such trace.
        """
        with self._lock:
            self._catch_up()
            entry, index = self.traces.get(trace_hash)
        digest = entry.fields.get("reasoning_hash")
        return trace_json(entry, index, self.blobs.get(None if digest is None else str(digest)))

    def list_traces(
        self, authors: frozenset[str] | None, *, status: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Traces newest first (of ``authors``; in ``status``), reasoning text left out."""
        with self._lock:
            self._catch_up()
            found = list(self.traces.newest(authors, status, limit))
        return [trace_json(entry, index, None) for entry, index in found]

    def erase_reasoning(self, trace_hash: str) -> bool:
        """Forget a trace's kept reasoning text (the log, and its hash, stay); whether it was kept.

        Raises:
            NotFound: no such trace.
        """
        with self._lock:
            self._catch_up()
            entry, _ = self.traces.get(trace_hash)
        digest = entry.fields.get("reasoning_hash")
        return digest is not None and self.blobs.erase(str(digest))

    def receipts(self, run_id: str) -> list[dict[str, Any]]:
        """The execution receipts of a run (:mod:`sealog.receipts`).

        Raises:
            NotFound: no decision of that run.
        """
        return receipts(self.ledger.entries(), run_id)

    def join_receipt(self, run_id: str, artifact: Mapping[str, Any]) -> dict[str, Any]:
        """A scanner's decision artifact held to the run's executed receipt.

        Raises:
            InputError: the artifact lacks its ids; NotFound: no such run or tool call.
        """
        return join(self.receipts(run_id), artifact)

    def session_info(self, session_id: str) -> dict[str, Any]:
        """A session's state as the log has it.

        Raises:
            NotFound: no such session.
        """
        with self._lock:
            self._catch_up()
            book = self._replayer.book
            if session_id not in book:
                raise NotFound(f"no session {session_id!r}")
            tracked, state = book.get(session_id), book.effective(session_id)
            return {
                "session_id": session_id,
                "agent": tracked.agent,
                "parent_session": tracked.parent,
                "status": "killed" if state.killed_by else "ended" if tracked.ended else "active",
                "killed_by": state.killed_by,
                "total_cost": format(state.total_cost, "f"),
                "reserved": format(sum(tracked.reserved.values(), Decimal(0)), "f"),
                "actions": state.action_count,
                "violations": dict(state.violations),
                "started_at": None if state.started_at is None else format_time(state.started_at),
            }

    def entries(self, *, agent: str | None = None, start: int = 0) -> Iterator[StoredEntry]:
        """Entries in log order from ``start`` (one author's, if given)."""
        return self.ledger.entries(agent=agent, start=start)

    def policy_at(self, stored: StoredEntry) -> dict[str, Any]:
        """The policy an entry answers to and, for gate entries, whether its decision recomputes.

        For a decision (or an action citing one): the sealed version, the outcome, and
        ``recomputed``: ``"matches"``, ``"unverifiable"`` or what differs. For other entries of
        an agent: the version in force at that point of the log.
        """
        self._catch_up()
        entry = stored.entry
        decision = stored
        if entry.kind == "action" and isinstance(entry.fields.get("decision"), str):
            try:
                decision = self.ledger.get(str(entry.fields["decision"]))
            except NotFound:
                return {"version": None, "outcome": None, "recomputed": "cites no decision"}
        if decision.entry.kind == "decision":
            f = decision.entry.fields
            finding = self._findings.get(decision.entry.id)
            recomputed = "matches" if finding is None else (
                "unverifiable" if finding.kind == "unverifiable" else finding.detail
            )  # fmt: skip
            return {
                "version": f.get("policy_version"),
                "policy_hash": f.get("policy_hash"),
                "outcome": f.get("outcome"),
                "blocking_rule": f.get("blocking_rule"),
                "recomputed": recomputed,
            }
        try:
            versions = policy_history(self.ledger, entry.author)
        except NotFound:
            versions = []
        in_force = [v for v in versions if v.index < stored.index]
        last = in_force[-1] if in_force else None
        return {
            "version": None if last is None else last.version,
            "policy_hash": None if last is None else last.policy_hash,
            "outcome": None,
            "blocking_rule": None,
            "recomputed": None,
        }

    def verify_chain(self, address: str) -> VerifyReport:
        """Audit the log with the agent's chain checked (the tree is always whole).

        Raises:
            NotFound: the address is not registered.
        """
        self.ledger.agent(address)
        return self.ledger.verify(agent=address)


def _int(value: object) -> int | None:
    """A policy version written as text in an action entry (``"3"``), as a number."""
    if isinstance(value, str) and value.isdecimal():
        return int(value)
    return None
