"""Listing a tenant's entries: filters, opaque cursors, and a bounded scan.

A page is read in log order from just after the cursor's index. The log is append-only and
indexes never move, so a cursor (the last index a page *examined*) stays valid while the log
grows: new entries land after it and show on later pages — no duplicates, no skips.

How entries are found (no secondary index yet): the tenant's authors' entries are read
through the ledger's per-author query (``entries(agent=, start=)``) and merged by index when
they are few; with many authors one pass over the log from the cursor keeps the author set
as a filter instead. Either way a request examines at most :data:`SCAN_BUDGET` entries: a
selective filter may return a short (even empty) page with a ``next_cursor`` to go on from.
Only ``next_cursor: null`` means the end of the log as it stood when the page was read.
"""

from __future__ import annotations

import base64
import binascii
import heapq
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sealog.errors import NotFound, UsageError
from sealog.ledger import Ledger, StoredEntry, wire_entry
from sealog.ledger.entry import parse_time
from sealog.service import PolicyMatch, policy_match

__all__ = ["SCAN_BUDGET", "Filters", "Page", "decode_cursor", "encode_cursor", "read_page"]

SCAN_BUDGET = 20_000
"""Entries one request may examine before it answers with what it found and a cursor."""
MERGE_AUTHORS = 16
"""Up to this many authors are read author by author; more, in one pass over the log."""
_CURSOR = b"sealog-cursor/v1:"


def encode_cursor(index: int) -> str:
    """The opaque cursor that resumes after entry ``index``."""
    return base64.urlsafe_b64encode(_CURSOR + str(index).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The index a cursor resumes after.

    Raises:
        UsageError: code ``invalid-cursor``: not a cursor this server gave out.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise UsageError("cursor is not one this server gave out", code="invalid-cursor") from exc
    digits = raw.removeprefix(_CURSOR)
    if not raw.startswith(_CURSOR) or not digits.isdigit() or len(digits) > 18:  # noqa: PLR2004
        raise UsageError("cursor is not one this server gave out", code="invalid-cursor")
    return int(digits)


@dataclass(frozen=True, slots=True)
class Filters:
    """What a listing keeps; every filter given must hold (None: any)."""

    kind: str | None = None
    action: str | None = None
    target_prefix: str | None = None
    policy_match: PolicyMatch | None = None
    status: str | None = None
    run: str | None = None
    session: str | None = None
    since: datetime | None = None
    """Entry time at or after (inclusive)."""
    until: datetime | None = None
    """Entry time before (exclusive)."""

    def keeps(self, stored: StoredEntry, match: PolicyMatch | None) -> bool:
        """True if the entry passes every filter (``match``: its policy match, if any)."""
        e = stored.entry
        f = e.fields
        metadata = f.get("metadata")
        status = metadata.get("status") if isinstance(metadata, Mapping) else None
        target = f.get("target")
        checks = (
            (self.kind, e.kind),
            (self.action, f.get("action")),
            (self.policy_match, match),
            (self.status, status if e.kind == "action" else None),
            (self.run, f.get("run_id")),
            (self.session, f.get("session_id")),
        )
        if any(wanted is not None and wanted != found for wanted, found in checks):
            return False
        if self.target_prefix is not None and not (
            isinstance(target, str) and target.startswith(self.target_prefix)
        ):
            return False
        if self.since is None and self.until is None:
            return True
        at = parse_time(e.time)
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)


@dataclass(frozen=True, slots=True)
class Page:
    """Entries kept (with their policy match) and where the next page starts (None: the end)."""

    items: list[tuple[StoredEntry, PolicyMatch | None]]
    next_cursor: str | None


class Matcher:
    """Policy matches: a decision's outcome; an action's, of the decision it cites (cached)."""

    def __init__(self, ledger: Ledger) -> None:
        """Look cited decisions up in ``ledger``."""
        self._ledger = ledger
        self._cited: dict[str, PolicyMatch | None] = {}

    def __call__(self, stored: StoredEntry) -> PolicyMatch | None:
        """The entry's policy match, None for entries that are neither."""
        e = stored.entry
        if e.kind == "decision":
            return policy_match(e.fields.get("outcome"))
        cited = e.fields.get("decision")
        if e.kind != "action" or not isinstance(cited, str):
            return None
        if cited not in self._cited:
            try:
                decision = self._ledger.get(cited).entry
            except (NotFound, UsageError):
                self._cited[cited] = None
            else:
                outcome = decision.fields.get("outcome") if decision.kind == "decision" else None
                self._cited[cited] = policy_match(outcome)
        return self._cited[cited]


def _stream(
    ledger: Ledger, authors: Collection[str], start: int, end: int
) -> Iterator[StoredEntry]:
    """The authors' entries in [start, end), in log order (others' too in one-pass mode)."""
    if len(authors) <= MERGE_AUTHORS:
        streams = [ledger.entries(agent=a, start=start, end=end) for a in sorted(authors)]
        return heapq.merge(*streams, key=lambda s: s.index)
    return ledger.entries(start=start, end=end)


def read_page(
    ledger: Ledger,
    authors: Collection[str],
    filters: Filters,
    *,
    after: int | None,
    limit: int,
    budget: int = SCAN_BUDGET,
) -> Page:
    """One page of the authors' entries after index ``after`` (None: from the start)."""
    start = 0 if after is None else after + 1
    end = ledger.size()
    wanted = frozenset(authors)
    match_of = Matcher(ledger)
    items: list[tuple[StoredEntry, PolicyMatch | None]] = []
    for examined, stored in enumerate(_stream(ledger, wanted, start, end) if wanted else (), 1):
        if stored.entry.author in wanted:
            match = match_of(stored)
            if filters.keeps(stored, match):
                items.append((stored, match))
        if len(items) == limit or examined >= budget:
            return Page(items, encode_cursor(stored.index))
    return Page(items, None)


def entry_json(stored: StoredEntry, match: PolicyMatch | None) -> dict[str, Any]:
    """An entry as a listing shows it: place, decoded fields, policy match, and E and S."""
    e = stored.entry
    return {
        "index": stored.index,
        "id": e.id,
        "kind": e.kind,
        "author": e.author,
        "seq": e.seq,
        "time": e.time,
        "policy_match": match,
        "fields": dict(e.fields),
        **wire_entry(e),
    }
