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

from sealog.crypto import PublicKey, SigningKey
from sealog.errors import EntryRejected, Error, StorageError
from sealog.ledger._merkle import CompactRange
from sealog.ledger._parallel import Job, SignatureChecker
from sealog.ledger.checkpoint import Checkpoint
from sealog.ledger.entry import SignedEntry, check_schema
from sealog.ledger.storage import Batch, Head, Registration, Storage

__all__ = ["MAX_BATCH", "REFUSALS", "Receipt", "Sequencer", "SequencerStats"]

REFUSALS = frozenset(
    {"unknown-author", "bad-signature", "replayed-seq", "skipped-seq", "bad-chain"}
    | {"time-regressed", "already-registered", "not-allowed", "policy-version", "stale-policy"}
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
                staged_heads: dict[str, Head] = {}
                staged_keys: dict[str, Registration] = {}
                staged_policies: dict[str, int] = {}
                accepted: list[_Pending] = []
                for pending in group:
                    try:
                        heads, keys, policies = self._check(
                            pending.entries, staged_heads, staged_keys, staged_policies, size
                        )
                    except EntryRejected as exc:
                        pending.fail(exc)
                        continue
                    staged_heads.update(heads)
                    staged_keys.update(keys)
                    staged_policies.update(policies)
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
                        registrations=list(staged_keys.values()),
                        checkpoint_size=tree.size,
                        checkpoint_note=text,
                    )
                )
        except BaseException as exc:
            self._tree = None
            self._heads.clear()
            self._policies.clear()
            error = exc if isinstance(exc, Error) else StorageError(f"commit failed: {exc}")
            for pending in group:
                if not pending.event.is_set():
                    pending.fail(error)
            if not isinstance(exc, Exception):
                raise
            return
        self._heads.update(staged_heads)
        self._keys.update(staged_keys)
        self._policies.update(staged_policies)
        self._tally.commit(len(accepted), tree.size - first, time.perf_counter() - started)
        index = first
        for pending in accepted:
            for entry in pending.entries:
                pending.receipts.append(Receipt(index, entry.id, tree.size, text))
                index += 1
            pending.event.set()

    def _load_tree(self, size: int) -> CompactRange:
        """The frontier at ``size``; reload everything if another writer moved the log."""
        if self._tree is not None and self._tree.size == size:
            return self._tree
        self._heads.clear()
        self._policies.clear()
        wanted = CompactRange.nodes_for(size)
        found = self._storage.read_nodes(wanted)
        if len(found) != len(wanted):
            raise StorageError(f"tree nodes for size {size} are missing: the ledger is damaged")
        self._tree = CompactRange(size, [found[n] for n in wanted])
        return self._tree

    def _check(
        self,
        entries: list[SignedEntry],
        staged_heads: dict[str, Head],
        staged_keys: dict[str, Registration],
        staged_policies: dict[str, int],
        first_index: int,
    ) -> tuple[dict[str, Head], dict[str, Registration], dict[str, int]]:
        """Chain, registry and policy rules for one submission, against committed + staged state."""
        heads: dict[str, Head] = {}
        keys: dict[str, Registration] = {}
        policies: dict[str, int] = {}
        total = len(entries)
        for position, entry in enumerate(entries, 1):
            try:
                author = entry.author
                if (
                    author not in keys
                    and author not in staged_keys
                    and self.registration(author) is None
                    and not _self_registration(entry)
                ):
                    raise EntryRejected(f"author {author} is not registered", code="unknown-author")
                head = heads.get(author) or staged_heads.get(author) or self.head(author)
                _check_link(entry, head)
                heads[author] = Head(entry.seq, entry.leaf, entry.time)
                if entry.kind == "register":
                    reg = self._registration_of(
                        entry, first_index + position - 1, keys, staged_keys
                    )
                    keys[reg.address] = reg
                elif entry.kind == "policy":
                    agent = str(entry.fields["agent"])
                    governed = keys.get(agent) or staged_keys.get(agent) or self.registration(agent)
                    if governed is None or governed.role != "agent" or governed.owner != author:
                        raise EntryRejected(
                            f"only the owner of agent {agent} sets its policy", code="not-allowed"
                        )
                    latest = policies.get(agent) or staged_policies.get(agent)
                    latest = latest or self.policy_version(agent, governed.owner)
                    if entry.fields["version"] != latest + 1:
                        raise EntryRejected(
                            f"policy version {entry.fields['version']} of {agent} does not follow "
                            f"version {latest}",
                            code="policy-version",
                        )
                    policies[agent] = int(entry.fields["version"])
                elif entry.kind == "decision":
                    self._check_decision(entry, keys, staged_keys, policies, staged_policies)
            except EntryRejected as exc:
                raise _at(position, total, exc) from exc
        return heads, keys, policies

    def _check_decision(
        self,
        entry: SignedEntry,
        keys: dict[str, Registration],
        staged_keys: dict[str, Registration],
        policies: dict[str, int],
        staged_policies: dict[str, int],
    ) -> None:
        """A decision is an agent's, under the policy version in force (none: no version)."""
        author = entry.author
        reg = keys.get(author) or staged_keys.get(author) or self.registration(author)
        if reg is None or reg.role != "agent" or reg.owner is None:
            raise EntryRejected("only agents seal decisions", code="not-allowed")
        latest = policies.get(author) or staged_policies.get(author)
        latest = latest or self.policy_version(author, reg.owner)
        cited = entry.fields.get("policy_version") or 0
        if cited != latest:
            said = f"policy version {cited}" if cited else "no sealed policy"
            raise EntryRejected(
                f"decision cites {said} but version {latest} of {author} is in force",
                code="stale-policy",
            )

    def policy_version(self, agent: str, owner: str) -> int:
        """The latest policy version of ``agent`` committed, 0 if none.

        Read once from its owner's ``policy`` entries, then cached.
        """
        if agent not in self._policies:
            versions = [
                int(stored.entry.fields["version"])
                for stored in self._storage.entries(author=owner)
                if stored.entry.kind == "policy" and stored.entry.fields.get("agent") == agent
            ]
            self._policies[agent] = max(versions, default=0)
        return self._policies[agent]

    def _registration_of(
        self,
        entry: SignedEntry,
        index: int,
        keys: dict[str, Registration],
        staged_keys: dict[str, Registration],
    ) -> Registration:
        fields = entry.fields
        subject = str(fields["subject"])
        if subject in keys or subject in staged_keys or self.registration(subject) is not None:
            raise EntryRejected(f"{subject} is already registered", code="already-registered")
        role = str(fields["role"])
        if role == "owner":
            if entry.author != subject:
                raise EntryRejected("an owner registers itself", code="not-allowed")
            owner = None
        else:
            sponsor = keys.get(entry.author) or staged_keys.get(entry.author)
            sponsor = sponsor or self.registration(entry.author)
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
