"""Where a ledger keeps its bytes: one small interface, one contract, several backends.

A backend stores entries (their exact bytes), perfect-subtree hashes, signed checkpoints and the
registry of keys, and commits each group of appends in one transaction. It checks nothing:
validation belongs to the sequencer, so every backend enforces the same rules. SQLite (WAL) is
the embedded default; PostgreSQL (the ``postgres`` extra) is the shared one. :func:`open_storage`
picks the backend from where the ledger lives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

from sealog.errors import UsageError
from sealog.ledger.entry import SignedEntry

__all__ = [
    "Batch",
    "Head",
    "Registration",
    "Storage",
    "StoredEntry",
    "WriteTxn",
    "open_storage",
]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Head(NamedTuple):
    """The latest entry of an author's chain: what its next entry must follow."""

    seq: int
    leaf: bytes
    time: str


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry at its place in the log."""

    index: int
    entry: SignedEntry


@dataclass(frozen=True, slots=True)
class Registration:
    """A key the ledger knows: who it is, what it may do, and who vouched for it."""

    address: str
    public_key: bytes
    role: str
    owner: str | None
    name: str | None
    index: int
    time: str


@dataclass(frozen=True, slots=True)
class Batch:
    """Everything one group commit writes, all or nothing."""

    first_index: int
    entries: list[SignedEntry]
    nodes: list[tuple[int, int, bytes]]
    """New perfect subtrees at level ≥ 1, as (level, index, hash)."""
    registrations: list[Registration]
    checkpoint_size: int
    checkpoint_note: str


class WriteTxn(Protocol):
    """The view of the store inside the write lock."""

    def size(self) -> int:
        """Number of entries committed."""
        ...

    def write(self, batch: Batch) -> None:
        """Stage a batch; it becomes durable when the transaction commits."""
        ...


class Storage(Protocol):
    """The backend interface; every method is safe to call from any thread."""

    def writer(self) -> AbstractContextManager[WriteTxn]:
        """Take the exclusive write lock; commit on a clean exit, roll back on an exception."""
        ...

    def size(self) -> int:
        """Number of entries committed."""
        ...

    def read_nodes(self, nodes: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Perfect-subtree hashes by (level, index); level 0 are the leaf hashes."""
        ...

    def entry(self, index: int) -> StoredEntry | None:
        """The entry at ``index``, or None."""
        ...

    def entry_by_id(self, leaf: bytes) -> StoredEntry | None:
        """The entry whose leaf hash is ``leaf``, or None."""
        ...

    def entries(
        self,
        *,
        author: str | None = None,
        start: int = 0,
        end: int | None = None,
    ) -> Iterator[StoredEntry]:
        """Entries in index order, optionally only one author's, within ``[start, end)``."""
        ...

    def raw_entries(
        self,
        *,
        author: str | None = None,
        start: int = 0,
        end: int | None = None,
    ) -> Iterator[tuple[int, bytes, bytes, bytes]]:
        """Stored rows (index, E, S, stored leaf hash) without parsing, for auditors."""
        ...

    def by_seq(self, author: str, seq: int) -> StoredEntry | None:
        """The author's entry with sequence number ``seq``, or None."""
        ...

    def head(self, author: str) -> Head | None:
        """The author's latest entry (seq, leaf hash, time), or None if it has none."""
        ...

    def registration(self, address: str) -> Registration | None:
        """The registry record of ``address``, or None if it is unregistered."""
        ...

    def registrations(self) -> list[Registration]:
        """Every registered key, in registration order."""
        ...

    def checkpoint(self, size: int | None = None) -> str | None:
        """The signed checkpoint at ``size`` (the latest if None), or None."""
        ...

    def checkpoints(self) -> list[tuple[int, str]]:
        """Every stored signed checkpoint as (size, note), smallest first."""
        ...

    def close(self) -> None:
        """Release connections and file handles."""
        ...


def open_storage(target: str | Path, *, origin: str | None = None) -> Storage:
    """Open the ledger store at ``target``: a PostgreSQL URL, else a SQLite file path.

    ``postgresql://`` and ``postgres://`` URLs (an optional ``?schema=NAME``, default
    ``sealog``) open a :class:`~sealog.ledger.storage._postgres.PostgresStorage`; anything else is
    a SQLite file (``":memory:"`` for a throwaway one). ``origin`` names the log the store
    belongs to; a shared database records it and refuses a store of another log.

    Raises:
        UsageError: a PostgreSQL URL, but the ``postgres`` extra is not installed; or the
            schema holds another log.
        StorageError: the store cannot be opened.
    """
    if isinstance(target, str) and target.startswith(_POSTGRES_SCHEMES):
        try:
            from sealog.ledger.storage._postgres import PostgresStorage  # noqa: PLC0415 - an extra
        except ImportError as exc:
            raise UsageError(
                f"a PostgreSQL ledger needs psycopg, which cannot be imported: {exc}",
                hint="install the extra: pip install 'sealog[postgres]'",
            ) from exc
        return PostgresStorage(target, origin=origin)
    from sealog.ledger.storage._sqlite import SQLiteStorage  # noqa: PLC0415 - imports this module

    return SQLiteStorage(target)
