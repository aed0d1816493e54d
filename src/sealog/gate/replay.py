"""Replay: recompute every sealed decision from the log alone and report any that differ.

A decision is a deterministic function of the policy version, the prior log and the proposed
action (:mod:`sealog.gate._book`). :func:`replay` walks a log in order with nothing but its
entries: it learns each agent's policy versions from the owner-signed ``policy`` entries, folds
the gate's entries into session state with the same :class:`~sealog.gate._book.Book` the live
session used, and for each ``decision`` entry

1. checks it cites the policy version in force at that point of the log (``stale-policy``);
2. checks the sealed arguments against their digest (``args-mismatch``);
3. recomputes the decision with :func:`~sealog.gate._book.judge` and compares every field that
   states what was decided — outcome, risk, class, blocking rule, the failed verdicts in words,
   and the digest of the whole decision, every verdict (``differs``);

and for each ``session`` kill checks that something justified it: a sealed kill decision, a
manual kill, or a session-wide rule (threshold, budget, duration) that fails with ``kill`` on
the state at that point (``unjustified-kill``). Entries that contradict the sessions before
them (a decision in a session never started, an action citing no open decision) are
``out-of-place``; a kill naming an ``agent`` by anyone but its owner is ``not-allowed``.
Decisions that cannot be recomputed — made under an unsealed policy, or with
their arguments sealed by digest only — are counted as *unverifiable*, never as matching.

The integrity of the entries themselves (signatures, chains, the tree) is the audit's job
(``sealog verify``); ``verify --replay`` runs both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sealog.content import content_hash
from sealog.errors import VerificationError
from sealog.gate._book import Book, BookError, Tracked, judge
from sealog.gate._record import JUDGED, at_of, judged_fields, proposed_from
from sealog.gate.session import MANUAL_KILL
from sealog.ledger.storage import StoredEntry
from sealog.policy import CompiledPolicy, Decision, compile_policy
from sealog.policy.store import PolicyVersion

__all__ = ["Finding", "ReplayReport", "Replayer", "replay"]

FindingKind = Literal[
    "differs",
    "stale-policy",
    "args-mismatch",
    "unjustified-kill",
    "out-of-place",
    "not-allowed",
    "bad-policy",
    "unverifiable",
]


@dataclass(frozen=True, slots=True)
class Finding:
    """One entry replay could not confirm, located in the log."""

    kind: FindingKind
    index: int
    entry_id: str
    session_id: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind,
            "index": self.index,
            "entry_id": self.entry_id,
            "session_id": self.session_id,
            "detail": self.detail,
        }


@dataclass(slots=True)
class ReplayReport:
    """What the replay recomputed and what it found."""

    entries: int = 0
    decisions: int = 0
    matched: int = 0
    kills: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def differences(self) -> list[Finding]:
        """Findings that are evidence against the log (everything but *unverifiable*)."""
        return [f for f in self.findings if f.kind != "unverifiable"]

    @property
    def unverifiable(self) -> list[Finding]:
        """Decisions that could not be recomputed (unsealed policy or arguments)."""
        return [f for f in self.findings if f.kind == "unverifiable"]

    @property
    def ok(self) -> bool:
        """True when every decision and kill that could be recomputed agreed."""
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "ok": self.ok,
            "entries": self.entries,
            "decisions": self.decisions,
            "matched": self.matched,
            "unverifiable": len(self.unverifiable),
            "kills": self.kills,
            "findings": [f.to_dict() for f in self.findings],
        }


class _Policies:
    """Each agent's sealed policy versions as the log has revealed them so far."""

    def __init__(self, base: _Policies | None = None) -> None:
        self.current: dict[str, int] = {} if base is None else dict(base.current)
        self._sealed: dict[tuple[str, int], PolicyVersion] = (
            {} if base is None else dict(base._sealed)  # noqa: SLF001 - the same class
        )
        self._compiled: dict[str, CompiledPolicy] = (
            {} if base is None else base._compiled  # noqa: SLF001 - a shared cache
        )

    def add(self, stored: StoredEntry) -> None:
        sealed = PolicyVersion.from_entry(stored)
        self._sealed[sealed.agent, sealed.version] = sealed
        self.current[sealed.agent] = max(sealed.version, self.current.get(sealed.agent, 0))

    def compiled(self, agent: str, version: int) -> CompiledPolicy:
        """The compiled policy of that version.

        Raises:
            VerificationError: no such version in the log, or it no longer loads to its hash.
        """
        sealed = self._sealed.get((agent, version))
        if sealed is None:
            raise VerificationError(f"policy version {version} of {agent} is not in the log")
        found = self._compiled.get(sealed.policy_hash)
        if found is None:
            found = self._compiled[sealed.policy_hash] = compile_policy(sealed.policy())
        return found

    def in_force(self, tracked: Tracked) -> CompiledPolicy:
        version = self.current.get(tracked.agent, 0)
        if not version:
            raise VerificationError(f"agent {tracked.agent} has no sealed policy")
        return self.compiled(tracked.agent, version)


class Replayer:
    """The replay one entry at a time, and forkable.

    A service checks a submission on a fork of its replayer before committing it, and absorbs
    the fork once the entries are durable.
    """

    def __init__(self, base: Replayer | None = None) -> None:
        """A replayer at the start of a log, or (``base``) a trial copy: see :meth:`fork`."""
        self._base = base
        self.book: Book = Book() if base is None else base.book.fork()
        self.policies: _Policies = _Policies(None if base is None else base.policies)
        self.report = ReplayReport()
        self._kills: set[str] = set()
        self._owners: dict[str, str] = {}

    def fork(self) -> Replayer:
        """A trial copy whose feeding leaves this replayer unchanged until :meth:`absorb`."""
        return Replayer(self)

    def absorb(self, fork: Replayer) -> None:
        """Take over what ``fork`` (a fork of this replayer) was fed."""
        if fork._base is not self:
            raise ValueError("absorb takes a fork of this very replayer")
        self.book.absorb(fork.book)
        self.policies = fork.policies
        self._kills |= fork._kills
        self._owners.update(fork._owners)
        mine, theirs = self.report, fork.report
        mine.entries += theirs.entries
        mine.decisions += theirs.decisions
        mine.matched += theirs.matched
        mine.kills += theirs.kills
        mine.findings.extend(theirs.findings)

    def killed_by_decision(self, entry_id: str) -> bool:
        """Whether ``entry_id`` is a decision whose outcome was ``kill``."""
        return entry_id in self._kills or (
            self._base is not None and self._base.killed_by_decision(entry_id)
        )

    def owner_of(self, agent: str) -> str | None:
        """The owner that registered ``agent``, as the log has shown so far."""
        found = self._owners.get(agent)
        if found is None and self._base is not None:
            return self._base.owner_of(agent)
        return found

    def feed(self, stored: StoredEntry) -> list[Finding]:
        """Check and fold the next entry of the log; what it found (also kept in ``report``)."""
        report, entry = self.report, stored.entry
        report.entries += 1
        if entry.kind == "policy":
            self.policies.add(stored)
            return []
        if entry.kind == "register":
            if entry.fields.get("role") == "agent":
                self._owners[str(entry.fields["subject"])] = entry.author
            return []
        found: list[Finding] = []
        if entry.kind == "decision":
            report.decisions += 1
            finding = _check_decision(stored, self.book, self.policies, report)
            if entry.fields.get("outcome") == "kill":
                self._kills.add(entry.id)
        elif entry.kind == "session" and entry.fields.get("event") == "kill":
            report.kills += 1
            agent = entry.fields.get("agent")
            if agent is not None and self.owner_of(str(agent)) != entry.author:
                finding = _finding(
                    "not-allowed", stored, f"kill by {entry.author}, not the owner of {agent}"
                )
            else:
                finding = _check_kill(stored, self.book, self.policies, self.killed_by_decision)
        else:
            finding = None
        if finding is not None:
            found.append(finding)
        try:
            self.book.apply(entry, stored.index)
        except BookError as exc:
            found.append(_finding("out-of-place", stored, str(exc)))
        report.findings.extend(found)
        return found


def replay(entries: Iterable[StoredEntry]) -> ReplayReport:
    """Recompute every decision and kill in ``entries`` (a whole log, in order)."""
    replayer = Replayer()
    for stored in entries:
        replayer.feed(stored)
    return replayer.report


def _finding(kind: FindingKind, stored: StoredEntry, detail: str) -> Finding:
    sid = stored.entry.fields.get("session_id")
    return Finding(kind, stored.index, stored.entry.id, str(sid), detail)


def _check_decision(
    stored: StoredEntry, book: Book, policies: _Policies, report: ReplayReport
) -> Finding | None:
    f, author = stored.entry.fields, stored.entry.author
    cited = f.get("policy_version")
    sid = str(f["session_id"])
    found = _replayable(stored, policies)
    if found is not None or not isinstance(cited, int):
        return found
    if sid not in book or book.get(sid).agent != author:
        return None  # the fold reports it as out-of-place

    def policy_of(tracked: Tracked) -> CompiledPolicy:
        if tracked.session_id == sid:
            return policies.compiled(author, cited)
        return policies.in_force(tracked)

    try:
        again = judge(book, sid, proposed_from({**f, "time": stored.entry.time}), policy_of)
    except VerificationError as exc:
        return _finding("bad-policy", stored, exc.message)
    except (ValueError, KeyError, ArithmeticError) as exc:
        return _finding("out-of-place", stored, f"does not describe an action: {exc}")
    expected = judged_fields(again)
    if all(f.get(name) == expected.get(name) for name in JUDGED):
        report.matched += 1
        return None
    return _finding("differs", stored, _difference(f, again))


def _replayable(stored: StoredEntry, policies: _Policies) -> Finding | None:
    """Why a decision cannot be recomputed as sealed, if it cannot (None: it can)."""
    f = stored.entry.fields
    cited = f.get("policy_version")
    in_force = policies.current.get(stored.entry.author, 0)
    if (cited or 0) != in_force:
        said = f"cites policy version {cited or 'none'} but version {in_force} was in force"
        return _finding("stale-policy", stored, said)
    if cited is None:
        return _finding("unverifiable", stored, f"made under an unsealed policy {f['policy_hash']}")
    args = f.get("args")
    if args is None:
        return _finding("unverifiable", stored, "its arguments were sealed by digest only")
    if content_hash(str(args).encode("utf-8")) != f.get("args_digest"):
        return _finding("args-mismatch", stored, "the sealed arguments do not match args_digest")
    return None


def _difference(sealed: Mapping[str, Any], again: Decision) -> str:
    said = f"{sealed.get('outcome')} by {sealed.get('blocking_rule') or '-'}"
    said += f" (risk {sealed.get('risk')})"
    now = f"{again.outcome} by {again.blocking_rule or '-'} (risk {again.risk})"
    if said != now:
        return f"sealed {said}, recomputed {now}"
    failed = [v.detail for v in again.verdicts if not v.passed]
    sealed_failed = [str(v.get("detail")) for v in sealed.get("failed", ())]
    if failed != sealed_failed:
        return f"sealed reasons {sealed_failed}, recomputed {failed}"
    differing = [n for n in JUDGED if sealed.get(n) != judged_fields(again).get(n)]
    return f"sealed {said}; recomputed differently: {', '.join(differing)}"


def _check_kill(
    stored: StoredEntry, book: Book, policies: _Policies, is_kill: Callable[[str], bool]
) -> Finding | None:
    f = stored.entry.fields
    rule, sid = str(f.get("rule_id")), str(f.get("session_id"))
    cited = f.get("decision")
    if cited is not None:
        if is_kill(str(cited)):
            return None
        return _finding(
            "unjustified-kill", stored, f"cites {str(cited)[:16]}…, not a kill decision"
        )
    if rule == MANUAL_KILL or sid not in book:
        return None
    tracked = book.get(sid)
    try:
        policy = policies.in_force(tracked)
    except VerificationError as exc:
        return _finding("unverifiable", stored, f"kill not recomputed: {exc.message}")
    verdicts = policy.standing(tracked.state, at_of(f))
    if any(v.rule_id == rule and not v.passed and v.effect == "kill" for v in verdicts):
        return None
    return _finding("unjustified-kill", stored, f"rule {rule} does not fail on the session's state")
