"""Entry reads both SQL backends share: the same queries, only the parameter mark differs.

A backend mixes in :class:`EntryReads`, sets ``_MARK`` (``?`` for SQLite, ``%s`` for psycopg)
and provides ``_query(sql, params) -> rows``. Rows come back as ``(idx, data, sig, leaf)``
and are parsed by :func:`entry_row`, which also checks the stored leaf column.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any

from sealog.errors import FormatError
from sealog.ledger.entry import SignedEntry
from sealog.ledger.storage import StoredEntry

__all__ = ["ENTRY_COLS", "PAGE", "EntryReads", "entry_row"]

ENTRY_COLS = "idx, data, sig, leaf"
PAGE = 2000
"""Rows fetched per query when streaming entries, so memory stays flat."""


def entry_row(row: tuple[Any, ...]) -> StoredEntry:
    """Parse a stored ``(idx, data, sig, leaf)`` row, refusing one whose leaf column lies."""
    index, data, sig, leaf = row
    try:
        entry = SignedEntry.parse(bytes(data), bytes(sig))
    except Exception as exc:
        raise FormatError(f"stored entry {index} is unreadable: {exc}") from exc
    if entry.leaf != bytes(leaf):
        raise FormatError(f"stored entry {index} does not match its leaf hash")
    return StoredEntry(int(index), entry)


class EntryReads(ABC):
    """``entry``, ``entry_by_id``, ``entries`` and ``raw_entries`` over ``_query``."""

    _MARK = "?"

    @abstractmethod
    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        """Rows of ``sql`` run with ``params`` (the backend's own connection and locking)."""

    def entry(self, index: int) -> StoredEntry | None:
        """The entry at ``index``, or None."""
        rows = self._query(f"SELECT {ENTRY_COLS} FROM entries WHERE idx = {self._MARK}", (index,))
        return entry_row(rows[0]) if rows else None

    def entry_by_id(self, leaf: bytes) -> StoredEntry | None:
        """The entry whose leaf hash is ``leaf``, or None."""
        rows = self._query(f"SELECT {ENTRY_COLS} FROM entries WHERE leaf = {self._MARK}", (leaf,))
        return entry_row(rows[0]) if rows else None

    def entries(
        self, *, author: str | None = None, start: int = 0, end: int | None = None
    ) -> Iterator[StoredEntry]:
        """Entries in index order, fetched in pages so memory stays flat."""
        for row in self.raw_entries(author=author, start=start, end=end):
            yield entry_row(row)

    def raw_entries(
        self, *, author: str | None = None, start: int = 0, end: int | None = None
    ) -> Iterator[tuple[int, bytes, bytes, bytes]]:
        """Stored rows (index, E, S, leaf column) unparsed: what an auditor must read as is."""
        stop = end if end is not None else 1 << 62
        mark = self._MARK
        where = f"idx >= {mark} AND idx < {mark}" + (f" AND author = {mark}" if author else "")
        cursor = start
        while True:
            params: list[Any] = [cursor, stop, *([author] if author else [])]
            rows = self._query(
                f"SELECT {ENTRY_COLS} FROM entries WHERE {where} ORDER BY idx LIMIT {PAGE}", params
            )
            for index, data, sig, leaf in rows:
                yield int(index), bytes(data), bytes(sig), bytes(leaf)
            if len(rows) < PAGE:
                return
            cursor = int(rows[-1][0]) + 1
