"""The embedded backend: one SQLite file in WAL mode.

Durability: ``synchronous=FULL``, so a committed group survives power loss, and one fsync serves a
whole group commit. Readers use their own connection per thread and never block the writer.
Tree nodes at level ≥ 1 live in ``nodes`` keyed by ``index << 6 | level``; level 0 is the
``leaf`` column of ``entries``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sealog.errors import StorageError
from sealog.ledger.storage import Batch, Head, Registration, StoredEntry
from sealog.ledger.storage._reads import EntryReads, entry_row

__all__ = ["SQLiteStorage"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    idx    INTEGER PRIMARY KEY,
    leaf   BLOB NOT NULL,
    data   BLOB NOT NULL,
    sig    BLOB NOT NULL,
    author TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    time   TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS entries_author_seq ON entries (author, seq);
CREATE INDEX IF NOT EXISTS entries_leaf ON entries (leaf);
CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS registry (
    address    TEXT PRIMARY KEY,
    public_key BLOB NOT NULL,
    role       TEXT NOT NULL,
    owner      TEXT,
    name       TEXT,
    idx        INTEGER NOT NULL,
    time       TEXT NOT NULL
);
"""

_ENTRY_COLS = "idx, data, sig, leaf"


def _node_id(level: int, index: int) -> int:
    return (index << 6) | level


class SQLiteStorage(EntryReads):
    """SQLite (WAL) storage; pass ``":memory:"`` for a throwaway ledger."""

    def __init__(self, path: Path | str) -> None:
        """Open or create the database at ``path``.

        Raises:
            StorageError: the file cannot be opened, or is not a sealog ledger.
        """
        self._path = str(path)
        self._memory = self._path == ":memory:"
        self._local = threading.local()
        self._shared: sqlite3.Connection | None = None
        self._shared_lock = threading.RLock()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        try:
            conn = self._conn()
            with self._locked():
                # Create the schema only in a new file: an existing ledger is opened as it is,
                # so an auditor can still read one whose indexes were dropped or tampered with.
                if _schema_version(conn) is None:
                    conn.executescript(_SCHEMA)
                    conn.execute(
                        "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                    )
                version = _schema_version(conn)
                if version != str(SCHEMA_VERSION):
                    raise StorageError(f"ledger schema v{version} is not supported (v1 is)")
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"cannot open ledger {self._path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA cache_size=-65536")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._memory:
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize use of the one connection an in-memory database has."""
        if self._memory:
            with self._shared_lock:
                yield
        else:
            yield

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        try:
            with self._locked():
                return self._conn().execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"ledger read failed: {exc}") from exc

    @contextmanager
    def writer(self) -> Iterator[_Txn]:
        """Take the write lock (BEGIN IMMEDIATE); commit on success, roll back on error."""
        with self._locked():
            conn = self._conn()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise StorageError(f"cannot lock ledger for writing: {exc}") from exc
            try:
                yield _Txn(conn)
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError):
                    raise StorageError(f"ledger write failed, nothing stored: {exc}") from exc
                raise

    def size(self) -> int:
        """Number of entries committed."""
        return int(self._query("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries")[0][0])

    def read_nodes(self, nodes: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Perfect-subtree hashes by (level, index), in two queries at most."""
        wanted = list(nodes)
        out: dict[tuple[int, int], bytes] = {}
        leaves = [i for level, i in wanted if level == 0]
        inner = [_node_id(level, i) for level, i in wanted if level > 0]
        if leaves:
            marks = ",".join("?" * len(leaves))
            for idx, leaf in self._query(
                f"SELECT idx, leaf FROM entries WHERE idx IN ({marks})", leaves
            ):
                out[(0, idx)] = bytes(leaf)
        if inner:
            marks = ",".join("?" * len(inner))
            for node, digest in self._query(
                f"SELECT id, hash FROM nodes WHERE id IN ({marks})", inner
            ):
                out[(node & 63, node >> 6)] = bytes(digest)
        return out

    def by_seq(self, author: str, seq: int) -> StoredEntry | None:
        """The author's entry with sequence number ``seq``, or None."""
        rows = self._query(
            f"SELECT {_ENTRY_COLS} FROM entries WHERE author = ? AND seq = ?",
            (author, seq),
        )
        return _row(rows[0]) if rows else None

    def head(self, author: str) -> Head | None:
        """The author's latest entry (seq, leaf hash, time)."""
        rows = self._query(
            "SELECT seq, leaf, time FROM entries WHERE author = ? ORDER BY seq DESC LIMIT 1",
            (author,),
        )
        return Head(int(rows[0][0]), bytes(rows[0][1]), str(rows[0][2])) if rows else None

    def registration(self, address: str) -> Registration | None:
        """The registry record of ``address``."""
        rows = self._query("SELECT * FROM registry WHERE address = ?", (address,))
        return _registration(rows[0]) if rows else None

    def registrations(self) -> list[Registration]:
        """Every registered key, in registration order."""
        return [_registration(r) for r in self._query("SELECT * FROM registry ORDER BY idx")]

    def checkpoint(self, size: int | None = None) -> str | None:
        """The signed checkpoint at ``size``, or the latest."""
        if size is None:
            rows = self._query("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")
        else:
            rows = self._query("SELECT note FROM checkpoints WHERE size = ?", (size,))
        return str(rows[0][0]) if rows else None

    def checkpoints(self) -> list[tuple[int, str]]:
        """Every stored signed checkpoint as (size, note), smallest first."""
        return [
            (int(a), str(b))
            for a, b in self._query("SELECT size, note FROM checkpoints ORDER BY size")
        ]

    def close(self) -> None:
        """Close every connection this storage opened."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._shared = None
        self._local = threading.local()


class _Txn:
    """Writes inside one BEGIN IMMEDIATE transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def size(self) -> int:
        row = self._conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries").fetchone()
        return int(row[0])

    def write(self, batch: Batch) -> None:
        conn = self._conn
        conn.executemany(
            "INSERT INTO entries (idx, leaf, data, sig, author, seq, kind, time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    batch.first_index + i,
                    e.leaf,
                    e.data,
                    e.signature,
                    e.author,
                    e.seq,
                    e.kind,
                    e.time,
                )
                for i, e in enumerate(batch.entries)
            ],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO nodes (id, hash) VALUES (?, ?)",
            [(_node_id(level, index), h) for level, index, h in batch.nodes],
        )
        conn.executemany(
            "INSERT INTO registry VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (r.address, r.public_key, r.role, r.owner, r.name, r.index, r.time)
                for r in batch.registrations
            ],
        )
        conn.execute(
            "INSERT OR REPLACE INTO checkpoints (size, note) VALUES (?, ?)",
            (batch.checkpoint_size, batch.checkpoint_note),
        )


def _schema_version(conn: sqlite3.Connection) -> str | None:
    """The schema version recorded in the file, or None for a file without a ledger yet."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone():
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return None if row is None else str(row[0])


_row = entry_row


def _registration(row: tuple[Any, ...]) -> Registration:
    address, public_key, role, owner, name, index, time = row
    return Registration(address, bytes(public_key), role, owner, name, int(index), time)
