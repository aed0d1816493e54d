"""The PostgreSQL backend: the same tables as the SQLite file, in one schema of a database.

Several processes (API replicas, CLI runs) may share one schema. Writes are serialized across all
of them by a transaction-scoped advisory lock whose key is derived from the schema name, so the
sequencer's "reload when the stored size moved" check sees every other writer's commits (the
write transaction runs at READ COMMITTED: each statement after the lock reads fresh data).
Durability is the server's: a batch is acknowledged after COMMIT returns, which with the default
``synchronous_commit=on`` means its WAL is flushed.

Reads use short autocommit statements on connections leased from a small pool, so any thread may
read while another writes. Tree nodes at level ≥ 1 live in ``nodes`` keyed by
``index << 6 | level``; level 0 is the ``leaf`` column of ``entries``. Every database error is
turned into a one-line :class:`~sealog.errors.StorageError`; no password ever appears in one.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus

from sealog.errors import StorageError, UsageError
from sealog.ledger.storage import Batch, Head, Registration, StoredEntry
from sealog.ledger.storage._reads import EntryReads
from sealog.ledger.storage._sqlite import SCHEMA_VERSION, _registration, _row

__all__ = ["DEFAULT_SCHEMA", "PostgresStorage"]

DEFAULT_SCHEMA = "sealog"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
    idx    BIGINT PRIMARY KEY,
    leaf   BYTEA NOT NULL,
    data   BYTEA NOT NULL,
    sig    BYTEA NOT NULL,
    author TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    kind   TEXT NOT NULL,
    time   TEXT NOT NULL
);
CREATE UNIQUE INDEX entries_author_seq ON entries (author, seq);
CREATE INDEX entries_leaf ON entries (leaf);
CREATE TABLE nodes (id BIGINT PRIMARY KEY, hash BYTEA NOT NULL);
CREATE TABLE checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE registry (
    address    TEXT PRIMARY KEY,
    public_key BYTEA NOT NULL,
    role       TEXT NOT NULL,
    owner      TEXT,
    name       TEXT,
    idx        BIGINT NOT NULL,
    time       TEXT NOT NULL
);
"""

_ENTRY_COLS = "idx, data, sig, leaf"
_REGISTRY_COLS = "address, public_key, role, owner, name, idx, time"
_ENTRY_TYPES = ["bigint", "bytea", "bytea", "bytea", "text", "bigint", "text", "text"]
"""Column types of the binary COPY into ``entries``."""
_IDLE_MAX = 8
"""Idle read connections kept open; more concurrent readers get their own, closed after use."""
_TIMEOUTS = "SET lock_timeout = '30s'"
"""Wait for the write lock as long as SQLite's busy timeout, then fail instead of hanging."""


def _node_id(level: int, index: int) -> int:
    return (index << 6) | level


def _one_line(exc: BaseException) -> str:
    """The database's message on one line (libpq's run over several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


class PostgresStorage(EntryReads):
    """Ledger storage in one schema of a PostgreSQL database (psycopg 3).

    ``url`` is a libpq connection URL or conninfo string. The schema is ``schema`` if given, else
    the URL's ``?schema=`` query parameter (stripped before connecting), else ``sealog``; it and
    its tables are created on first open.
    """

    _MARK = "%s"

    def __init__(self, url: str, *, schema: str | None = None, origin: str | None = None) -> None:
        """Connect, create the schema if it is new, and check its version.

        Args:
            url: where the database is (``postgresql://user@host:port/dbname``).
            schema: the schema holding this ledger's tables.
            origin: the log this store belongs to; recorded in a new schema, and an existing
                schema recorded for another log is refused, so two homes never mix entries.

        Raises:
            StorageError: the server cannot be reached, or the schema is not a sealog ledger.
            UsageError: the URL is malformed, or the schema holds another log.
        """
        conninfo, from_url = _split_schema(url)
        self.schema = schema or from_url or DEFAULT_SCHEMA
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.Error as exc:
            raise UsageError(f"not a PostgreSQL connection URL: {_one_line(exc)}") from exc
        params.setdefault("connect_timeout", 10)
        self._conninfo = make_conninfo("", **params)
        self._where = _describe(params, self.schema)
        digest = hashlib.sha256(f"sealog-write:{self.schema}".encode()).digest()
        self._lock_key = int.from_bytes(digest[:8], "big", signed=True)
        self._idle: list[psycopg.Connection[Any]] = []
        self._pool_lock = threading.Lock()
        self._closed = False
        try:
            self._create(origin)
        except psycopg.Error as exc:
            self.close()
            raise StorageError(f"cannot open ledger {self._where}: {_one_line(exc)}") from exc
        except BaseException:
            self.close()
            raise

    def _create(self, origin: str | None) -> None:
        """Create the schema and tables if missing (under the write lock, as opens may race)."""
        with self._lease() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            # An existing ledger is opened as it is, so an auditor can still read one whose
            # indexes were dropped or tampered with.
            if conn.execute("SELECT to_regclass('meta')").fetchone() in (None, (None,)):
                conn.execute(_SCHEMA)
                conn.execute("INSERT INTO meta VALUES ('schema', %s)", (str(SCHEMA_VERSION),))
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            version = meta.get("schema")
            if version != str(SCHEMA_VERSION):
                raise StorageError(
                    f"ledger schema v{version} in {self._where} is not supported (v1 is)"
                )
            if origin is None:
                return
            if "origin" not in meta:
                conn.execute("INSERT INTO meta VALUES ('origin', %s)", (origin,))
            elif meta["origin"] != origin:
                raise UsageError(
                    f"{self._where} holds the log {meta['origin']!r}, not {origin!r}",
                    hint="pick another schema with ?schema=NAME",
                )

    # -- connections --------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._conninfo, autocommit=True)
        try:
            conn.execute(
                sql.SQL("SET search_path TO {}; " + _TIMEOUTS).format(sql.Identifier(self.schema))
            )
            # The write lock makes later statements see other writers' commits only at READ
            # COMMITTED; a stricter server default would freeze the snapshot before the lock.
            conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _lease(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for one operation; back to the idle list after, unless it broke."""
        with self._pool_lock:
            closed, conn = self._closed, (self._idle.pop() if self._idle else None)
        if closed:
            raise StorageError(f"ledger {self._where} is closed")
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            reusable = not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE
            with self._pool_lock:
                if reusable and not self._closed and len(self._idle) < _IDLE_MAX:
                    self._idle.append(conn)
                    conn = None
            if conn is not None:
                conn.close()

    def _query(self, query: str, params: Iterable[Any] = ()) -> list[Any]:
        """Run one read, retried once if a pooled connection died (server restart, idle timeout).

        The idle connections are then all dropped: what killed one most likely killed them all.
        """
        for attempt in (1, 2):
            with self._pool_lock:
                pooled = bool(self._idle)
            used: psycopg.Connection[Any] | None = None
            try:
                with self._lease() as used:
                    return used.execute(query, tuple(params)).fetchall()
            except psycopg.Error as exc:
                if attempt == 1 and pooled and used is not None and used.closed:
                    self._discard_idle()
                    continue
                raise StorageError(f"ledger read failed: {_one_line(exc)}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the Storage protocol -----------------------------------------------------------------

    @contextmanager
    def writer(self) -> Iterator[_Txn]:
        """Take the advisory write lock in a new transaction; commit on success, else roll back.

        A pooled connection the server dropped meanwhile is replaced once, before the lock.

        Raises:
            StorageError: the lock, a write or the commit failed. The batch was rolled back,
                unless the connection dropped during COMMIT itself: then it may be stored (the
                message says so), and the sequencer reloads its view before the next write.
        """
        for attempt in (1, 2):
            with self._pool_lock:
                pooled = bool(self._idle)
            used: psycopg.Connection[Any] | None = None
            stage = "lock"
            try:
                with self._lease() as used, used.transaction():
                    used.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
                    stage = "write"
                    yield _Txn(used)
                    stage = "commit"
            except psycopg.Error as exc:
                dropped = used is not None and used.closed
                if stage == "lock" and attempt == 1 and pooled and dropped:
                    self._discard_idle()
                    continue
                if stage == "commit":
                    raise StorageError(
                        f"ledger commit failed, the batch may be stored: {_one_line(exc)}"
                    ) from exc
                raise StorageError(
                    f"ledger write failed, nothing stored: {_one_line(exc)}"
                ) from exc
            return

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
            for idx, leaf in self._query(
                "SELECT idx, leaf FROM entries WHERE idx = ANY(%s::bigint[])", (leaves,)
            ):
                out[(0, int(idx))] = bytes(leaf)
        if inner:
            for node, digest in self._query(
                "SELECT id, hash FROM nodes WHERE id = ANY(%s::bigint[])", (inner,)
            ):
                out[(int(node) & 63, int(node) >> 6)] = bytes(digest)
        return out

    def by_seq(self, author: str, seq: int) -> StoredEntry | None:
        """The author's entry with sequence number ``seq``, or None."""
        rows = self._query(
            f"SELECT {_ENTRY_COLS} FROM entries WHERE author = %s AND seq = %s", (author, seq)
        )
        return _row(rows[0]) if rows else None

    def head(self, author: str) -> Head | None:
        """The author's latest entry (seq, leaf hash, time)."""
        rows = self._query(
            "SELECT seq, leaf, time FROM entries WHERE author = %s ORDER BY seq DESC LIMIT 1",
            (author,),
        )
        return Head(int(rows[0][0]), bytes(rows[0][1]), str(rows[0][2])) if rows else None

    def registration(self, address: str) -> Registration | None:
        """The registry record of ``address``."""
        rows = self._query(f"SELECT {_REGISTRY_COLS} FROM registry WHERE address = %s", (address,))
        return _registration(rows[0]) if rows else None

    def registrations(self) -> list[Registration]:
        """Every registered key, in registration order."""
        rows = self._query(f"SELECT {_REGISTRY_COLS} FROM registry ORDER BY idx")
        return [_registration(r) for r in rows]

    def checkpoint(self, size: int | None = None) -> str | None:
        """The signed checkpoint at ``size``, or the latest."""
        if size is None:
            rows = self._query("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")
        else:
            rows = self._query("SELECT note FROM checkpoints WHERE size = %s", (size,))
        return str(rows[0][0]) if rows else None

    def checkpoints(self) -> list[tuple[int, str]]:
        """Every stored signed checkpoint as (size, note), smallest first."""
        return [
            (int(a), str(b))
            for a, b in self._query("SELECT size, note FROM checkpoints ORDER BY size")
        ]

    def close(self) -> None:
        """Close the idle connections; leased ones close when their operation ends."""
        with self._pool_lock:
            self._closed = True
        self._discard_idle()

    def _discard_idle(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class _Txn:
    """Writes inside one transaction holding the advisory write lock."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def size(self) -> int:
        row = self._conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries").fetchone()
        assert row is not None
        return int(row[0])

    def write(self, batch: Batch) -> None:
        """Stage a batch in a handful of round trips.

        Entries go by binary COPY and nodes as two binary arrays in one upsert (nodes are
        replaced, as in SQLite): measured on 1,000-entry batches, 2-4x faster than
        ``executemany`` or text parameters.
        """
        conn = self._conn
        with conn.cursor() as cur:
            if batch.entries:
                with cur.copy(
                    "COPY entries (idx, leaf, data, sig, author, seq, kind, time) "
                    "FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(_ENTRY_TYPES)
                    for i, e in enumerate(batch.entries):
                        copy.write_row(
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
                        )
            if batch.nodes:
                cur.execute(
                    "INSERT INTO nodes (id, hash) "
                    "SELECT * FROM unnest(%b::bigint[], %b::bytea[]) "
                    "ON CONFLICT (id) DO UPDATE SET hash = EXCLUDED.hash",
                    (
                        [_node_id(level, index) for level, index, _ in batch.nodes],
                        [h for _, _, h in batch.nodes],
                    ),
                )
            if batch.registrations:
                cur.executemany(
                    f"INSERT INTO registry ({_REGISTRY_COLS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [
                        (r.address, r.public_key, r.role, r.owner, r.name, r.index, r.time)
                        for r in batch.registrations
                    ],
                )
            cur.execute(
                "INSERT INTO checkpoints (size, note) VALUES (%s, %s) "
                "ON CONFLICT (size) DO UPDATE SET note = EXCLUDED.note",
                (batch.checkpoint_size, batch.checkpoint_note),
            )


def _split_schema(url: str) -> tuple[str, str | None]:
    """Take a ``schema`` query parameter out of a URL (libpq would refuse it)."""
    if not url.startswith(("postgresql://", "postgres://")):
        return url, None
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema or None


def _describe(params: dict[str, Any], schema: str) -> str:
    """Where the ledger is, for messages: never the password."""
    host = params.get("host") or "localhost"
    port = f":{params['port']}" if params.get("port") else ""
    user = f"{params['user']}@" if params.get("user") else ""
    return f"postgresql://{user}{host}{port}/{params.get('dbname', '')}?schema={schema}"
