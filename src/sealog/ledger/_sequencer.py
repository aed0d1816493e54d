"""The write path: verify, check chains, assign indices, extend the tree, commit — in groups.

Every append goes through :meth:`Sequencer.submit`. A submission (one entry or a batch) is first
checked in the caller's own thread — schema and signature, the costly part, so concurrent callers
verify in parallel — then queued. Whoever holds the commit lock takes the whole queue as one
group: under the storage's write lock it checks each submission's chains against the committed
heads, assigns indices, extends the tree, signs one checkpoint and writes everything in one
transaction (group commit: one fsync for the group). A submission is all-or-nothing; a refused
one does not affect the others in its group. A receipt is handed back only after the commit.

Several processes may share one SQLite file: inside the write lock the sequencer compares the
stored size with what it last saw and reloads its view when another writer moved the log.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sealog.crypto import PublicKey, SigningKey
from sealog.errors import EntryRejected, Error, StorageError
from sealog.ledger._merkle import CompactRange
from sealog.ledger._parallel import Job, SignatureChecker
from sealog.ledger.checkpoint import Checkpoint
from sealog.ledger.entry import (
    APPROVAL_TIMEOUT,
    SignedEntry,
    check_schema,
    format_time,
    parse_time,
)
from sealog.ledger.storage import Batch, Head, Registration, Storage

__all__ = ["MAX_BATCH", "REFUSALS", "Receipt", "Sequencer", "SequencerStats"]

REFUSALS = frozenset(
    {"unknown-author", "bad-signature", "replayed-seq", "skipped-seq", "bad-chain"}
    | {"time-regressed", "already-registered", "not-allowed", "policy-version", "stale-policy"}
    | {"session-killed", "unknown-subject", "unknown-report"}
    | {"not-pending", "already-decided", "expired", "provenance-cycle"}
)
"""Rejection codes that mean the log says no to a well-formed entry (the CLI exits 1 for
these, 2 for malformed input)."""

MAX_BATCH = 10_000
"""Most entries one submission may carry."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof of acceptance, returned once the entry is durable."""

    index: int
    """The entry's leaf index in the log."""
    id: str
    """The entry id (its leaf hash, hex)."""
    tree_size: int
    """Size of the tree in the checkpoint below (> index)."""
    checkpoint: str
    """The log-signed checkpoint note committing to a tree that includes the entry."""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "index": self.index,
            "id": self.id,
            "tree_size": self.tree_size,
            "checkpoint": self.checkpoint,
        }


@dataclass(frozen=True, slots=True)
class SequencerStats:
    """What the write path has done since the ledger was opened (a snapshot).

    A *commit* is one group: one transaction, one checkpoint, one fsync, however many
    submissions it carries.
    """

    commits: int = 0
    """Groups committed."""
    submissions: int = 0
    """Submissions committed (all their entries stored)."""
    entries: int = 0
    """Entries committed."""
    refused: Mapping[str, int] = field(default_factory=dict)
    """Submissions refused, by refusal code (``bad-signature``, ``storage`` …)."""
    commit_seconds: float = 0.0
    """Time spent inside the storage write transaction, summed over commits."""
    largest_group: int = 0
    """The most submissions one commit carried."""


class _Tally:
    """The sequencer's running figures; updated under its locks, read as snapshots."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.commits = self.submissions = self.entries = self.largest = 0
        self.seconds = 0.0
        self.refused: Counter[str] = Counter()

    def refuse(self, code: str) -> None:
        with self.lock:
            self.refused[code] += 1

    def commit(self, submissions: int, entries: int, seconds: float) -> None:
        with self.lock:
            self.commits += 1
            self.submissions += submissions
            self.entries += entries
            self.seconds += seconds
            self.largest = max(self.largest, submissions)

    def snapshot(self) -> SequencerStats:
        with self.lock:
            return SequencerStats(
                self.commits, self.submissions, self.entries, dict(self.refused),
                self.seconds, self.largest,
            )  # fmt: skip


class _Pending:
    __slots__ = ("entries", "error", "event", "receipts")

    def __init__(self, entries: list[SignedEntry]) -> None:
        self.entries = entries
        self.event = threading.Event()
        self.receipts: list[Receipt] = []
        self.error: Error | None = None

    def fail(self, error: Error) -> None:
        self.error = error
        self.event.set()


def _at(position: int, total: int, exc: EntryRejected) -> EntryRejected:
    """Name the entry's place in a batch in the error."""
    if total == 1:
        return exc
    return EntryRejected(f"entry {position} of {total}: {exc.message}", code=exc.code)


class _Staged:
    """What a group commit has accepted so far, not yet committed; layered per submission.

    A submission is checked on a :meth:`layer` over the group's staged state and merged into it
    only if it is accepted as a whole.
    """

    def __init__(self, base: _Staged | None = None) -> None:
        self.base = base
        self.heads: dict[str, Head] = {}
        self.keys: dict[str, Registration] = {}
        self.policies: dict[str, int] = {}
        self.kills: dict[str, frozenset[str]] = {}
        self.reports: dict[str, str] = {}
        """Reports accepted in this group: entry id → the reported agent."""
        self.decided: set[str] = set()
        """Ask decisions approved or denied in this group."""
        self.approvers: dict[str, dict[str, bool]] = {}
        """Approvers named or withdrawn in this group: owner → approver → active."""

    def layer(self) -> _Staged:
        return _Staged(self)

    def merge(self, layer: _Staged) -> None:
        self.heads.update(layer.heads)
        self.keys.update(layer.keys)
        self.policies.update(layer.policies)
        self.kills.update(layer.kills)
        self.reports.update(layer.reports)
        self.decided |= layer.decided
        for owner, named in layer.approvers.items():
            self.approvers.setdefault(owner, {}).update(named)

    def approver_state(self, owner: str, approver: str) -> bool | None:
        """Whether this group (or a layer below) named (True) or withdrew (False) it."""
        found = self.approvers.get(owner, {}).get(approver)
        if found is None and self.base is not None:
            return self.base.approver_state(owner, approver)
        return found

    def was_decided(self, decision: str) -> bool:
        return decision in self.decided or (
            self.base is not None and self.base.was_decided(decision)
        )

    def report(self, entry_id: str) -> str | None:
        found = self.reports.get(entry_id)
        if found is None and self.base is not None:
            return self.base.report(entry_id)
        return found

    def heads_get(self, author: str) -> Head | None:
        found = self.heads.get(author)
        return found if found is not None or self.base is None else self.base.heads_get(author)

    def registration(self, address: str) -> Registration | None:
        found = self.keys.get(address)
        if found is None and self.base is not None:
            return self.base.registration(address)
        return found

    def version(self, agent: str) -> int:
        found = self.policies.get(agent)
        if found is None and self.base is not None:
            return self.base.version(agent)
        return found or 0

    def killed(self, agent: str) -> frozenset[str]:
        found = self.kills.get(agent)
        if found is None and self.base is not None:
            return self.base.killed(agent)
        return found or frozenset()


class Sequencer:
    """Serializes appends to one log."""

    def __init__(
        self,
        storage: Storage,
        log_key: SigningKey,
        origin: str,
        checker: SignatureChecker | None = None,
    ) -> None:
        """Sequence appends to ``storage``, signing checkpoints as ``origin`` with ``log_key``.

        ``checker`` checks the signatures of large batches on worker threads.
        """
        self._storage = storage
        self._checker = checker or SignatureChecker(workers=1)
        self._log_key = log_key
        self._origin = origin
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self._tree: CompactRange | None = None
        self._heads: dict[str, Head] = {}
        self._keys: dict[str, Registration] = {}
        self._public: dict[str, PublicKey] = {}
        self._policies: dict[str, int] = {}
        self._kills: dict[str, frozenset[str]] = {}
        """Per agent, the sessions its owner killed (read with its policy version)."""
        self._decided: dict[str, frozenset[str]] = {}
        """Per owner, the ask decisions it approved or denied."""
        self._approvers: dict[str, frozenset[str]] = {}
        """Per owner, the approvers it named and has not withdrawn."""
        self._tally = _Tally()

    def stats(self) -> SequencerStats:
        """A snapshot of what the write path has done since it started."""
        return self._tally.snapshot()

    # -- lookups shared with the ledger -------------------------------------------------------

    def registration(self, address: str) -> Registration | None:
        """The registry record of ``address`` (cached; registrations never change)."""
        found = self._keys.get(address)
        if found is None:
            found = self._storage.registration(address)
            if found is not None:
                self._keys[address] = found
        return found

    def public_key(self, address: str) -> PublicKey | None:
        """The registered key of ``address`` (cached, as registrations never change)."""
        key = self._public.get(address)
        if key is None:
            found = self.registration(address)
            if found is not None:
                key = self._public[address] = PublicKey(found.public_key)
        return key

    def head(self, author: str) -> Head | None:
        """The author's committed head (seq, id, time)."""
        if author in self._heads:
            return self._heads[author]
        return self._storage.head(author)

    # -- the write path -----------------------------------------------------------------------

    def submit(self, entries: Sequence[SignedEntry]) -> list[Receipt]:
        """Append ``entries`` atomically; return their receipts once durable.

        Raises:
            EntryRejected: an entry is malformed, badly signed, off its chain or by an
                unregistered author; nothing of the submission was stored.
            StorageError: the commit failed; nothing of the submission was stored.
        """
        if not entries:
            raise EntryRejected("nothing to append: the batch is empty", code="empty-batch")
        if len(entries) > MAX_BATCH:
            raise EntryRejected(
                f"a batch holds at most {MAX_BATCH} entries, got {len(entries)}", code="too-large"
            )
        try:
            pending = _Pending(self._preverify(entries))
        except EntryRejected as exc:
            self._tally.refuse(exc.code)
            raise
        with self._queue_lock:
            self._queue.append(pending)
        with self._commit_lock:
            if not pending.event.is_set():
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._commit(group)
        if pending.error is not None:
            self._tally.refuse(pending.error.code)
            raise pending.error
        return pending.receipts

    def _preverify(self, entries: Sequence[SignedEntry]) -> list[SignedEntry]:
        """Schema and signature of every entry; the keys may come from the batch itself.

        An entry not made by :meth:`SignedEntry.parse` is parsed again from its bytes, so only
        what the bytes say (canonical, within the size limit) is checked and stored, whatever
        fields the object was built with. The
        signatures are checked together, on worker threads for a large batch; the error
        reported is the first entry's, in batch order, whatever its kind.
        """
        total = len(entries)
        fresh: dict[str, PublicKey] = {}
        parsed: list[SignedEntry] = []
        jobs: list[Job] = []
        refused: tuple[int, EntryRejected] | None = None
        for position, given in enumerate(entries, 1):
            try:
                entry = (
                    given if given.from_bytes else SignedEntry.parse(given.data, given.signature)
                )
                check_schema(entry.fields)
                key = fresh.get(entry.author) or self.public_key(entry.author)
                if entry.kind == "register":
                    subject = PublicKey.from_b64(str(entry.fields["public_key"]))
                    if entry.fields["role"] == "owner" and entry.author == subject.address:
                        key = key or subject
                    fresh[subject.address] = subject
                if key is None:
                    raise EntryRejected(
                        f"author {entry.author} is not registered with this ledger",
                        code="unknown-author",
                    )
            except EntryRejected as exc:
                refused = (position, exc)
                break
            parsed.append(entry)
            jobs.append((key, entry.signed_message(), entry.signature))
        for position, ok in enumerate(self._checker.check(jobs), 1):
            if not ok:
                entry = parsed[position - 1]
                bad = EntryRejected(
                    f"signature of {entry.author} seq {entry.seq} does not verify",
                    code="bad-signature",
                )
                raise _at(position, total, bad)
        if refused is not None:
            position, cause = refused
            raise _at(position, total, cause) from cause
        return parsed

    def _commit(self, group: list[_Pending]) -> None:
        started = time.perf_counter()
        try:
            with self._storage.writer() as txn:
                size = txn.size()
                tree = self._load_tree(size)
                staged = _Staged()
                accepted: list[_Pending] = []
                for pending in group:
                    layer = staged.layer()
                    try:
                        self._check(pending.entries, layer, size)
                    except EntryRejected as exc:
                        pending.fail(exc)
                        continue
                    staged.merge(layer)
                    accepted.append(pending)
                    size += len(pending.entries)
                if not accepted:
                    return
                first = tree.size
                nodes: list[tuple[int, int, bytes]] = []
                for pending in accepted:
                    for entry in pending.entries:
                        nodes.extend(n for n in tree.append(entry.leaf) if n[0] > 0)
                note = Checkpoint(self._origin, tree.size, tree.root()).sign(self._log_key)
                text = note.render()
                txn.write(
                    Batch(
                        first_index=first,
                        entries=[e for p in accepted for e in p.entries],
                        nodes=nodes,
                        registrations=list(staged.keys.values()),
                        checkpoint_size=tree.size,
                        checkpoint_note=text,
                    )
                )
        except BaseException as exc:
            self._forget()
            error = exc if isinstance(exc, Error) else StorageError(f"commit failed: {exc}")
            for pending in group:
                if not pending.event.is_set():
                    pending.fail(error)
            if not isinstance(exc, Exception):
                raise
            return
        self._heads.update(staged.heads)
        self._keys.update(staged.keys)
        self._policies.update(staged.policies)
        self._kills.update(staged.kills)
        if staged.decided:
            self._decided.clear()  # re-read the owners' approvals when next asked
        for owner in staged.approvers:
            self._approvers.pop(owner, None)
            self._decided.pop(owner, None)
        self._tally.commit(len(accepted), tree.size - first, time.perf_counter() - started)
        index = first
        for pending in accepted:
            for entry in pending.entries:
                pending.receipts.append(Receipt(index, entry.id, tree.size, text))
                index += 1
            pending.event.set()

    def _forget(self) -> None:
        """Drop every cached view of the log (after a failed commit, or another writer's)."""
        self._tree = None
        self._heads.clear()
        self._policies.clear()
        self._kills.clear()
        self._decided.clear()
        self._approvers.clear()

    def _load_tree(self, size: int) -> CompactRange:
        """The frontier at ``size``; reload everything if another writer moved the log."""
        if self._tree is not None and self._tree.size == size:
            return self._tree
        self._forget()
        wanted = CompactRange.nodes_for(size)
        found = self._storage.read_nodes(wanted)
        if len(found) != len(wanted):
            raise StorageError(f"tree nodes for size {size} are missing: the ledger is damaged")
        self._tree = CompactRange(size, [found[n] for n in wanted])
        return self._tree

    def _check(self, entries: list[SignedEntry], staged: _Staged, first_index: int) -> None:
        """Chain, registry, policy and session rules for one submission, staged in ``staged``."""
        total = len(entries)
        for position, entry in enumerate(entries, 1):
            try:
                author = entry.author
                if (
                    staged.registration(author) is None
                    and self.registration(author) is None
                    and not _self_registration(entry)
                ):
                    raise EntryRejected(f"author {author} is not registered", code="unknown-author")
                _check_link(entry, staged.heads_get(author) or self.head(author))
                staged.heads[author] = Head(entry.seq, entry.leaf, entry.time)
                if entry.kind == "register":
                    reg = self._registration_of(entry, first_index + position - 1, staged)
                    staged.keys[reg.address] = reg
                elif entry.kind == "policy":
                    self._check_policy(entry, staged)
                elif entry.kind == "decision":
                    self._check_decision(entry, staged)
                elif entry.kind == "session" and entry.fields.get("agent") is not None:
                    self._check_owner_kill(entry, staged)
                elif entry.kind == "report":
                    self._check_report(entry, staged)
                elif entry.kind == "response":
                    self._check_response(entry, staged)
                elif entry.kind == "approval":
                    self._check_approval(entry, staged)
                elif entry.kind == "approver":
                    self._check_approver(entry, staged)
            except EntryRejected as exc:
                raise _at(position, total, exc) from exc

    def _governed(self, agent: str, staged: _Staged) -> Registration | None:
        """The registry record of ``agent`` if it is an agent (with an owner)."""
        reg = staged.registration(agent) or self.registration(agent)
        return reg if reg is not None and reg.role == "agent" and reg.owner else None

    def _owned(self, entry: SignedEntry, staged: _Staged, does: str) -> str:
        """The ``agent`` the entry names, refused unless the entry's author is its owner."""
        agent = str(entry.fields["agent"])
        governed = self._governed(agent, staged)
        if governed is None or governed.owner != entry.author:
            raise EntryRejected(f"only the owner of agent {agent} {does}", code="not-allowed")
        return agent

    def _check_policy(self, entry: SignedEntry, staged: _Staged) -> None:
        """A policy is its agent's owner's, and the next version (rule 7)."""
        agent = self._owned(entry, staged, "sets its policy")
        latest = staged.version(agent) or self.policy_version(agent, entry.author)
        if entry.fields["version"] != latest + 1:
            raise EntryRejected(
                f"policy version {entry.fields['version']} of {agent} does not follow "
                f"version {latest}",
                code="policy-version",
            )
        staged.policies[agent] = int(entry.fields["version"])

    def _check_decision(self, entry: SignedEntry, staged: _Staged) -> None:
        """A decision is an agent's, under the policy version in force (rule 8).

        In a session its owner killed, it is a kill (rule 9).
        """
        author = entry.author
        reg = self._governed(author, staged)
        if reg is None or reg.owner is None:
            raise EntryRejected("only agents seal decisions", code="not-allowed")
        latest = staged.version(author) or self.policy_version(author, reg.owner)
        cited = entry.fields.get("policy_version") or 0
        if cited != latest:
            said = f"policy version {cited}" if cited else "no sealed policy"
            raise EntryRejected(
                f"decision cites {said} but version {latest} of {author} is in force",
                code="stale-policy",
            )
        sid = str(entry.fields["session_id"])
        if entry.fields["outcome"] != "kill" and (
            sid in staged.killed(author) or sid in self.owner_kills(author, reg.owner)
        ):
            raise EntryRejected(
                f"session {sid!r} of {author} was killed by its owner; only a kill decision "
                "may follow",
                code="session-killed",
            )

    def _check_owner_kill(self, entry: SignedEntry, staged: _Staged) -> None:
        """A session entry naming an ``agent`` is a kill by that agent's owner (rule 9)."""
        agent = self._owned(entry, staged, "kills its sessions")
        known = staged.killed(agent) | self.owner_kills(agent, entry.author)
        staged.kills[agent] = known | {str(entry.fields["session_id"])}

    def _check_report(self, entry: SignedEntry, staged: _Staged) -> None:
        """A report is about a registered agent, by anyone registered but that agent (rule 10)."""
        subject = str(entry.fields["subject"])
        if self._governed(subject, staged) is None:
            raise EntryRejected(f"{subject} is not a registered agent", code="unknown-subject")
        if subject == entry.author:
            raise EntryRejected("an agent does not report itself", code="not-allowed")
        staged.reports[entry.id] = subject

    def _check_response(self, entry: SignedEntry, staged: _Staged) -> None:
        """A response answers a report in the log (rule 11).

        Its author is the report's subject or the subject's owner.
        """
        cited = str(entry.fields["report"])
        subject = staged.report(cited)
        if subject is None:
            found = self._storage.entry_by_id(bytes.fromhex(cited))
            if found is None or found.entry.kind != "report":
                raise EntryRejected(f"no report {cited[:16]}… in this log", code="unknown-report")
            subject = str(found.entry.fields["subject"])
        governed = self._governed(subject, staged)
        owner = None if governed is None else governed.owner
        if entry.author not in {subject, owner}:
            raise EntryRejected(
                f"only {subject} or its owner answers a report about it", code="not-allowed"
            )

    def _check_approval(self, entry: SignedEntry, staged: _Staged) -> None:
        """An approval decides a pending ``ask`` decision (rule 12).

        Once, by the agent's owner, within the timeout of the decision's time.
        """
        cited = str(entry.fields["decision"])
        found = self._storage.entry_by_id(bytes.fromhex(cited))
        if found is None or found.entry.kind != "decision":
            raise EntryRejected(f"no decision {cited[:16]}… in this log", code="not-pending")
        asked = found.entry
        if asked.fields.get("outcome") != "ask":
            raise EntryRejected(
                f"decision {cited[:16]}… is {asked.fields.get('outcome')!r}, not an ask",
                code="not-pending",
            )
        governed = self._governed(asked.author, staged)
        owner = None if governed is None else governed.owner
        if owner is None or not self._may_approve(entry.author, owner, staged):
            raise EntryRejected(
                f"only the owner of {asked.author}, or an approver it named, decides its asks",
                code="not-allowed",
            )
        deadline = parse_time(asked.time) + timedelta(seconds=APPROVAL_TIMEOUT)
        if parse_time(entry.time) > deadline:
            raise EntryRejected(
                f"the ask expired at {format_time(deadline)}; it stands denied", code="expired"
            )
        if staged.was_decided(cited) or cited in self._owner_decided(owner):
            raise EntryRejected(f"decision {cited[:16]}… was decided already",
                                code="already-decided")  # fmt: skip
        staged.decided.add(cited)

    def _may_approve(self, author: str, owner: str, staged: _Staged) -> bool:
        if author == owner:
            return True
        named = staged.approver_state(owner, author)
        if named is None:
            named = author in self._owner_approvers(owner)
        return named

    def _check_approver(self, entry: SignedEntry, staged: _Staged) -> None:
        """An owner names (or withdraws) a registered key as approver of its agents' asks.

        Rule 13: the author is an owner, the approver is registered.
        """
        reg = staged.registration(entry.author) or self.registration(entry.author)
        if reg is None or reg.role != "owner":
            raise EntryRejected("only an owner names approvers", code="not-allowed")
        approver = str(entry.fields["approver"])
        if staged.registration(approver) is None and self.registration(approver) is None:
            raise EntryRejected(f"{approver} is not registered", code="unknown-subject")
        staged.approvers.setdefault(entry.author, {})[approver] = bool(entry.fields["active"])

    def _owner_approvers(self, owner: str) -> frozenset[str]:
        """The approvers ``owner`` has named and not withdrawn (read once, then cached)."""
        if owner not in self._approvers:
            active: dict[str, bool] = {}
            for stored in self._storage.entries(author=owner):
                f = stored.entry.fields
                if stored.entry.kind == "approver":
                    active[str(f["approver"])] = bool(f["active"])
            self._approvers[owner] = frozenset(a for a, on in active.items() if on)
        return self._approvers[owner]

    def _owner_decided(self, owner: str) -> frozenset[str]:
        """The ask decisions of ``owner``'s agents decided so far (read once, then cached).

        Decided by the owner, or by any approver it ever named.
        """
        if owner not in self._decided:
            deciders = {owner}
            for stored in self._storage.entries(author=owner):
                if stored.entry.kind == "approver":
                    deciders.add(str(stored.entry.fields["approver"]))
            self._decided[owner] = frozenset(
                str(stored.entry.fields["decision"])
                for author in sorted(deciders)
                for stored in self._storage.entries(author=author)
                if stored.entry.kind == "approval"
            )
        return self._decided[owner]

    def policy_version(self, agent: str, owner: str) -> int:
        """The latest policy version of ``agent`` committed, 0 if none."""
        if agent not in self._policies:
            self._read_owner(agent, owner)
        return self._policies[agent]

    def owner_kills(self, agent: str, owner: str) -> frozenset[str]:
        """The sessions of ``agent`` its owner has killed (committed)."""
        if agent not in self._kills:
            self._read_owner(agent, owner)
        return self._kills[agent]

    def _read_owner(self, agent: str, owner: str) -> None:
        """Read what ``owner`` has sealed about ``agent`` (its policy versions, its kills) once.

        Owners write little (registrations, policies, kills), so one pass over the owner's
        chain is cheap; the result is cached until another writer moves the log.
        """
        versions: list[int] = [0]
        kills: set[str] = set()
        for stored in self._storage.entries(author=owner):
            f = stored.entry.fields
            if stored.entry.kind == "policy" and f.get("agent") == agent:
                versions.append(int(f["version"]))
            elif stored.entry.kind == "session" and f.get("agent") == agent:
                kills.add(str(f["session_id"]))
        self._policies.setdefault(agent, max(versions))
        self._kills.setdefault(agent, frozenset(kills))

    def _registration_of(self, entry: SignedEntry, index: int, staged: _Staged) -> Registration:
        fields = entry.fields
        subject = str(fields["subject"])
        if staged.registration(subject) is not None or self.registration(subject) is not None:
            raise EntryRejected(f"{subject} is already registered", code="already-registered")
        role = str(fields["role"])
        if role == "owner":
            if entry.author != subject:
                raise EntryRejected("an owner registers itself", code="not-allowed")
            owner = None
        else:
            sponsor = staged.registration(entry.author) or self.registration(entry.author)
            if sponsor is None or sponsor.role != "owner":
                raise EntryRejected("only a registered owner registers agents", code="not-allowed")
            owner = entry.author
        name = fields.get("name")
        return Registration(
            address=subject,
            public_key=PublicKey.from_b64(str(fields["public_key"])).raw,
            role=role,
            owner=owner,
            name=None if name is None else str(name),
            index=index,
            time=entry.time,
        )


def _self_registration(entry: SignedEntry) -> bool:
    return entry.kind == "register" and entry.fields.get("subject") == entry.author


def _check_link(entry: SignedEntry, head: Head | None) -> None:
    expected = 0 if head is None else head.seq + 1
    if entry.seq < expected:
        raise EntryRejected(
            f"{entry.author} seq {entry.seq} is already in the log (next is {expected}): a replay",
            code="replayed-seq",
        )
    if entry.seq > expected:
        raise EntryRejected(
            f"{entry.author} seq {entry.seq} skips ahead (next is {expected})", code="skipped-seq"
        )
    want = None if head is None else head.leaf.hex()
    if entry.prev != want:
        raise EntryRejected(
            f"{entry.author} seq {entry.seq} cites prev {entry.prev}, but the chain head is {want}",
            code="bad-chain",
        )
    if head is not None and entry.time < head.time:
        raise EntryRejected(
            f"{entry.author} seq {entry.seq} is dated {entry.time}, before seq {head.seq} "
            f"({head.time}): an author's times never go backwards",
            code="time-regressed",
        )
