"""The Ledger: the one service every surface (SDK, CLI, later the server and hooks) calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sealog.crypto import PublicKey, SigningKey
from sealog.errors import (
    EntryRejected,
    Error,
    NotFound,
    UsageError,
)
from sealog.home import Home
from sealog.ledger._checks import EntryVerification, audit_log, check_entry
from sealog.ledger._merkle import EMPTY_ROOT, consistency_proof, inclusion_proof, tree_root
from sealog.ledger._parallel import SignatureChecker
from sealog.ledger._sequencer import Receipt, Sequencer, SequencerStats
from sealog.ledger.checkpoint import Checkpoint
from sealog.ledger.entry import ENTRY_VERSION, SignedEntry, format_time, sign_entry
from sealog.ledger.proofs import ConsistencyProof, InclusionProof
from sealog.ledger.storage import Batch, Head, Registration, Storage, StoredEntry, open_storage
from sealog.ledger.storage._sqlite import SQLiteStorage
from sealog.ledger.tiles import TileRef, bundle_span, entry_bundle, tile_hashes
from sealog.ledger.verify import VerifyReport

__all__ = ["EntryVerification", "Ledger"]

_COMMON = frozenset({"v", "kind", "author", "seq", "prev", "time"})
_RETRYABLE = frozenset({"replayed-seq", "skipped-seq", "bad-chain"})


class Ledger:
    """An append-only, signed, verifiable log of agents' statements.

    Open one with :meth:`open` (a ``.sealog`` home), :meth:`init` (create one) or
    :meth:`in_memory` (tests, demos). It is thread-safe; appends from many threads are committed
    in groups.
    """

    def __init__(self, storage: Storage, log_key: SigningKey, origin: str) -> None:
        """Serve the log in ``storage``, signing checkpoints as ``origin`` with ``log_key``."""
        self._storage = storage
        self._log_key = log_key
        self.origin = origin
        self._checker = SignatureChecker()
        self._sequencer = Sequencer(storage, log_key, origin, self._checker)
        self._sign_lock = threading.Lock()
        self._pending: dict[str, Head] = {}

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, home: Path | str | None = None, *, db: str | None = None) -> Ledger:
        """Open the ledger of a home (found like git finds ``.git`` when None).

        Args:
            home: the ``.sealog`` folder holding the log key (and, by default, the entries).
            db: where the entries live instead of the home's SQLite file: a
                ``postgresql://…[?schema=NAME]`` URL (the ``postgres`` extra) or a file path.
                A new store is sealed with the empty tree's checkpoint; a shared database
                refuses a schema that holds another home's log.

        Raises:
            NotFound: no home there.
            UsageError: ``db`` holds another log, or needs an extra that is not installed.
            StorageError: the database cannot be opened.
        """
        found = Home.find(home)
        origin, key = found.log_key()
        if db is None:
            return cls(open_storage(found.ledger_path), key, origin)
        ledger = cls(open_storage(db, origin=origin), key, origin)
        try:
            ledger._seal_empty()
        except BaseException:
            ledger.close()
            raise
        return ledger

    @classmethod
    def init(cls, path: Path | str, origin: str | None = None) -> Ledger:
        """Create a home with a fresh log key and an empty ledger at ``path``.

        Raises:
            UsageError: a ledger exists there already.
        """
        home = Home.init(Path(path), origin)
        ledger = cls.open(home.path)
        ledger._seal_empty()  # noqa: SLF001 - our own class
        return ledger

    @classmethod
    def in_memory(
        cls, origin: str = "sealog.local/memory", log_key: SigningKey | None = None
    ) -> Ledger:
        """A throwaway ledger in memory (tests, demos)."""
        ledger = cls(SQLiteStorage(":memory:"), log_key or SigningKey.generate(), origin)
        ledger._seal_empty()
        return ledger

    def _seal_empty(self) -> None:
        """Store the signed checkpoint of the empty tree, so even an empty log verifies."""
        if self._storage.checkpoint() is None:
            note = Checkpoint(self.origin, 0, EMPTY_ROOT).sign(self._log_key).render()
            with self._storage.writer() as txn:
                if txn.size() == 0:
                    txn.write(Batch(0, [], [], [], 0, note))

    def close(self) -> None:
        """Release the database and the signature-checking threads."""
        self._checker.close()
        self._storage.close()

    def __enter__(self) -> Self:
        """Use as a context manager that closes the ledger."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close on exit."""
        self.close()

    @property
    def log_key(self) -> PublicKey:
        """The log's public key."""
        return self._log_key.public_key

    @property
    def vkey(self) -> str:
        """The C2SP verifier key line of the log (what auditors pin)."""
        return self._log_key.public_key.vkey(self.origin)

    # -- writing ------------------------------------------------------------------------------

    def submit(self, entries: Sequence[SignedEntry]) -> list[Receipt]:
        """Append entries signed elsewhere, all or nothing; receipts once durable.

        Raises:
            EntryRejected: an entry is refused (the code says why); nothing was stored.
            StorageError: the commit failed; nothing was stored.
        """
        try:
            return self._sequencer.submit(entries)
        except Error:
            self.release(entries)
            raise

    def release(self, refused: Sequence[SignedEntry]) -> None:
        """Drop the heads :meth:`sign_next` built on entries that were never stored.

        :meth:`submit` does it for entries it refuses; a caller that signs entries and then
        does not submit them (a service refusing them first) calls it, so the author's next
        entry follows its last stored one.
        """
        first: dict[str, int] = {}
        for entry in refused:
            author, seq = entry.fields.get("author"), entry.fields.get("seq")
            if isinstance(author, str) and type(seq) is int:
                first[author] = min(seq, first.get(author, seq))
        with self._sign_lock:
            for author, seq in first.items():
                pending = self._pending.get(author)
                if pending is not None and pending.seq >= seq:
                    del self._pending[author]

    def sign_next(
        self, key: SigningKey, kind: str, fields: Mapping[str, Any], *, time: datetime | None = None
    ) -> SignedEntry:
        """Sign the author's next entry (its seq and prev filled in) without appending it.

        Raises:
            UsageError: ``fields`` sets a common field (seq, prev …) itself.
            EntryRejected: the fields break the entry format.
        """
        clash = _COMMON & fields.keys()
        if clash:
            raise UsageError(f"fields may not set {', '.join(sorted(clash))}: the ledger does")
        author = key.address
        with self._sign_lock:
            head = self._pending.get(author) or self._sequencer.head(author)
            body = {
                **fields,
                "v": ENTRY_VERSION,
                "kind": kind,
                "author": author,
                "seq": 0 if head is None else head.seq + 1,
                "prev": None if head is None else head.leaf.hex(),
                "time": _entry_time(time, head),
            }
            entry = sign_entry(key, body)
            self._pending[author] = Head(entry.seq, entry.leaf, entry.time)
        return entry

    def append_entry(
        self, key: SigningKey, kind: str, fields: Mapping[str, Any], *, time: datetime | None = None
    ) -> Receipt:
        """Sign and append one entry of any known kind as ``key``; its receipt once durable.

        If another writer moved the author's chain meanwhile, the entry is signed again on
        the new head once.

        Raises:
            EntryRejected: the entry is refused (not registered, bad fields …).
            StorageError: the commit failed.
        """
        for attempt in (1, 2):
            entry = self.sign_next(key, kind, fields, time=time)
            try:
                return self.submit([entry])[0]
            except EntryRejected as exc:
                if attempt == 2 or exc.code not in _RETRYABLE:  # noqa: PLR2004 - the retry
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def register_owner(self, key: SigningKey, name: str | None = None) -> Receipt:
        """Register ``key`` as an owner (self-signed).

        Raises:
            EntryRejected: already registered (code ``already-registered``).
        """
        return self.append_entry(key, "register", _registration(key.public_key, "owner", name))

    def register_agent(
        self, agent: PublicKey | SigningKey, owner: SigningKey, name: str | None = None
    ) -> Receipt:
        """Register an agent key under ``owner``, registering the owner first if needed.

        Raises:
            EntryRejected: the agent is registered already, or ``owner`` is an agent.
        """
        public = agent.public_key if isinstance(agent, SigningKey) else agent
        if self._sequencer.registration(owner.address) is None:
            self.register_owner(owner)
        return self.append_entry(owner, "register", _registration(public, "agent", name))

    def append(
        self,
        key: SigningKey,
        action: str,
        *,
        target: str | None = None,
        content_hash: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        time: datetime | None = None,
    ) -> Receipt:
        """Log an action taken by ``key``'s agent; its receipt once durable.

        Args:
            key: the agent's signing key (registered).
            action: what was done (``post_reply``, ``trade`` …).
            target: what it was done to.
            content_hash: ``sha256:<hex>`` of the content (see :func:`sealog.content_hash`);
                the content itself is never stored.
            metadata: any JSON object (no floats: write fractions as strings).
            extra: further entry fields (``run_id``, ``session_id``, ``tool_call_id``,
                ``cost``, ``sources``, ``decision``, ``policy_version``).
            time: when it happened (now if None).

        Raises:
            EntryRejected: refused (unregistered author, bad field …); nothing stored.
        """
        fields: dict[str, Any] = {"action": action, "metadata": dict(metadata or {})}
        if target is not None:
            fields["target"] = target
        if content_hash is not None:
            fields["content_hash"] = content_hash
        fields.update(extra or {})
        return self.append_entry(key, "action", fields, time=time)

    # -- reading ------------------------------------------------------------------------------

    def stats(self) -> SequencerStats:
        """What this ledger's write path has done since it was opened (commits, refusals …)."""
        return self._sequencer.stats()

    def size(self) -> int:
        """Entries in the log."""
        return self._storage.size()

    def agent(self, address: str) -> Registration:
        """The registration of ``address``.

        Raises:
            NotFound: the address is not registered here.
        """
        found = self._sequencer.registration(address)
        if found is None:
            raise NotFound(f"no agent or owner {address} is registered with this ledger")
        return found

    def head(self, address: str) -> Head | None:
        """The author's latest committed entry (seq, leaf, time), None before its first."""
        return self._sequencer.head(address)

    def policy_version(self, agent: str) -> int:
        """The number of the agent's policy version in force, 0 when none is sealed.

        Raises:
            NotFound: ``agent`` is not a registered agent.
        """
        registration = self.agent(agent)
        if registration.owner is None:
            raise NotFound(f"{agent} is an owner; policies govern agents")
        return self._sequencer.policy_version(agent, registration.owner)

    def registrations(self) -> list[Registration]:
        """Every registered key."""
        return self._storage.registrations()

    def get(self, ref: int | str) -> StoredEntry:
        """An entry by index or by id (64 hex digits).

        Raises:
            NotFound: no such entry.
            UsageError: ``ref`` is neither an index nor an id.
        """
        if isinstance(ref, int):
            found = self._storage.entry(ref)
        else:
            try:
                leaf = bytes.fromhex(ref)
            except ValueError as exc:
                raise UsageError(f"{ref!r} is neither an index nor a 64-hex entry id") from exc
            found = self._storage.entry_by_id(leaf) if len(leaf) == 32 else None  # noqa: PLR2004
        if found is None:
            raise NotFound(f"no entry {ref} in this ledger")
        return found

    def entries(
        self, *, agent: str | None = None, start: int = 0, end: int | None = None
    ) -> Iterator[StoredEntry]:
        """Entries in log order, optionally one author's."""
        return self._storage.entries(author=agent, start=start, end=end)

    def checkpoint(self) -> str:
        """The latest log-signed checkpoint note."""
        note = self._storage.checkpoint()
        if note is None:  # pragma: no cover - every ledger is created with one
            raise NotFound("this ledger has no checkpoint yet")
        return note

    def root_at(self, size: int) -> bytes:
        """The tree root at ``size`` (≤ the current size), from stored nodes.

        Raises:
            UsageError: ``size`` is beyond the log.
        """
        if not 0 <= size <= self.size():
            raise UsageError(f"tree size {size} is beyond the log's {self.size()} entries")
        return tree_root(size, self._storage.read_nodes)

    def prove_inclusion(self, index: int, size: int | None = None) -> InclusionProof:
        """Inclusion proof of entry ``index`` in the tree of ``size`` (the latest if None).

        Raises:
            UsageError: the index or size is out of range.
        """
        size = self.size() if size is None else size
        if not 0 <= index < size <= self.size():
            raise UsageError(
                f"no proof for entry {index} in a tree of {size} (log has {self.size()})"
            )
        hashes = inclusion_proof(index, size, self._storage.read_nodes)
        leaf = self._storage.read_nodes([(0, index)])[(0, index)]
        return InclusionProof(index, size, leaf, tuple(hashes))

    def prove_consistency(self, old: int, new: int | None = None) -> ConsistencyProof:
        """Consistency proof from tree size ``old`` to ``new`` (the latest if None).

        Raises:
            UsageError: not ``0 < old ≤ new ≤ size``.
        """
        new = self.size() if new is None else new
        if not 0 < old <= new <= self.size():
            raise UsageError(f"no consistency proof from {old} to {new} (log has {self.size()})")
        return ConsistencyProof(
            old, new, tuple(consistency_proof(old, new, self._storage.read_nodes))
        )

    def tile(self, ref: TileRef) -> bytes:
        """A C2SP tlog-tiles resource: a hash tile, or an entry bundle when ``ref.level`` is None.

        Tiles are immutable: the bytes of a path never change once it exists.

        Raises:
            NotFound: the log does not hold the tile (to that width) yet.
            UsageError: an entry of the bundle is too long for the format (spec §11).
        """
        size = self.size()
        if ref.level is not None:
            return tile_hashes(ref, size, self._storage.read_nodes)
        start, end = bundle_span(ref, size)
        return entry_bundle(
            s.entry.signature + s.entry.data for s in self.entries(start=start, end=end)
        )

    # -- verifying ----------------------------------------------------------------------------

    def verify(
        self, *, agent: str | None = None, since_checkpoint: str | None = None
    ) -> VerifyReport:
        """Audit the whole stored log (see :mod:`sealog.ledger.verify`).

        Args:
            agent: check signatures and chain of this author only; the tree is always whole.
            since_checkpoint: a signed checkpoint note saved earlier; the log must extend it.

        Raises:
            VerificationError: ``since_checkpoint`` is not signed by this log.
        """
        return audit_log(
            self._storage,
            self.vkey,
            self._checker,
            agent=agent,
            since_checkpoint=since_checkpoint,
        )

    def verify_entry(self, ref: int | str) -> EntryVerification:
        """Check one entry: its signature, its links in the author's chain, its inclusion.

        Raises:
            NotFound: no such entry.
        """
        return check_entry(self._storage, self.vkey, self.get(ref), self.prove_inclusion)


def _entry_time(given: datetime | None, head: Head | None) -> str:
    """The time to sign: as given, or now but never before the author's previous entry."""
    if given is not None:
        return format_time(given)
    now = format_time(datetime.now(UTC))
    return now if head is None or now >= head.time else head.time


def _registration(key: PublicKey, role: str, name: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"subject": key.address, "public_key": key.b64, "role": role}
    if name is not None:
        fields["name"] = name
    return fields
