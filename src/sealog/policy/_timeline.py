"""A session's allowed actions, indexed so windowed counts and sums cost O(log n) per decision.

:class:`Timeline` is an immutable view — ``len`` records of a shared, append-only store.
Appending to the newest view appends to the store in place (amortized O(1)); appending to an
older view (a branch: two futures of one state) copies the store first, so every view keeps
seeing exactly its own records. The store keeps, for each *selector* a policy asked about (a
count rule's globs, an aggregate's globs and argument), the matching records' positions and
times (sorted, since records arrive in time order) and exact prefix sums, extended on append.

Results equal the naive scan of the records, bit for bit: a window is ``at > now - span``
found by bisection; a sum is a difference of exact prefix sums, given the exponent the naive
``Decimal`` sum would have (the smallest in the window, at most 0). Whenever that equality is not
guaranteed — records out of time order, a number outside ±10¹² or finer than 10⁻⁹ (where the
naive sum might round), a context precision below 28 digits — the naive scan is used instead.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal, getcontext
from typing import Any

__all__ = ["Match", "Recorded", "Timeline"]

Match = Callable[[str, "str | None"], bool]
"""Whether a record (action name, tool name) is selected."""

_LOCK = threading.Lock()
_EXACT = Context(prec=80)
_ZERO = Decimal(0)
_FINEST, _LARGEST = -9, 12
"""Numbers with an exponent ≥ -9 and magnitude < 10¹² sum exactly in 28 digits (< 10⁶ terms)."""
_MAX_TERMS, _MIN_PREC = 10**6, 28


@dataclass(frozen=True, slots=True)
class Recorded:
    """One allowed action as the session remembers it (enough for windows and sums)."""

    at: datetime
    action: str
    tool: str | None
    numbers: tuple[tuple[str, Decimal], ...]


def _number(record: Recorded, arg: str) -> Decimal | None:
    for key, value in record.numbers:
        if key == arg:
            return value
    return None


class _Series:
    """The records one selector matches: positions, times, and for sums exact prefix sums."""

    __slots__ = ("arg", "cum", "exps", "idx", "match", "memo", "safe", "times")

    def __init__(self, match: Match | None, arg: str | None) -> None:
        self.match, self.arg, self.memo = match, arg, dict[tuple[str, str | None], bool]()
        self.idx: list[int] = []
        self.times: list[datetime] = []
        self.cum: list[Decimal] = [_ZERO]
        self.exps: dict[int, list[int]] = {}
        self.safe = True

    def add(self, i: int, r: Recorded) -> None:
        if self.match is not None:
            key = (r.action, r.tool)
            hit = self.memo.get(key)
            if hit is None:
                hit = self.memo[key] = self.match(r.action, r.tool)
            if not hit:
                return
        if self.arg is not None:
            value = _number(r, self.arg)
            if value is None:
                return
            exp = value.as_tuple().exponent
            assert isinstance(exp, int)  # finite by construction
            self.safe = self.safe and exp >= _FINEST and value.adjusted() < _LARGEST
            self.exps.setdefault(exp, []).append(len(self.idx))
            self.cum.append(_EXACT.add(self.cum[-1], value))
        self.idx.append(i)
        self.times.append(r.at)


class _Store:
    """Append-only records shared by a line of :class:`Timeline` views."""

    __slots__ = ("disorder", "records", "series")

    def __init__(self, records: list[Recorded]) -> None:
        self.records: list[Recorded] = []
        self.disorder = 1 << 62
        """Length of the longest prefix whose records are in time order."""
        self.series: dict[Hashable, _Series] = {}
        for r in records:
            self.add(r)

    def add(self, r: Recorded) -> None:
        i = len(self.records)
        if i and i < self.disorder and r.at < self.records[-1].at:
            self.disorder = i
        self.records.append(r)
        for s in self.series.values():
            s.add(i, r)

    def get(self, key: Hashable, match: Match | None, arg: str | None) -> _Series:
        found = self.series.get(key)
        if found is None:
            with _LOCK:
                found = self.series.get(key)
                if found is None:
                    found = _Series(match, arg)
                    for i, r in enumerate(self.records):
                        found.add(i, r)
                    self.series[key] = found
        return found


class Timeline:
    """The first ``len(self)`` records of a shared store: immutable from the caller's view."""

    __slots__ = ("_n", "_store")

    def __init__(self, records: tuple[Recorded, ...] = ()) -> None:
        self._store, self._n = _Store(list(records)), len(records)

    def __len__(self) -> int:
        return self._n

    def records(self) -> tuple[Recorded, ...]:
        """The records, oldest first."""
        return tuple(self._store.records[: self._n])

    def append(self, record: Recorded) -> Timeline:
        """A new view with ``record`` added; this one is unchanged."""
        with _LOCK:
            store = self._store
            if len(store.records) != self._n:  # a branch: copy, never disturb the other line
                store = _Store(store.records[: self._n])
            store.add(record)
        out = Timeline.__new__(Timeline)
        out._store, out._n = store, self._n + 1  # noqa: SLF001 - a view of this class
        return out

    def count(self, key: Hashable, match: Match | None, since: datetime | None) -> int:
        """Records selected by ``match`` (all when None) with ``at > since`` (all when None)."""
        store, n = self._store, self._n
        if n > store.disorder:
            rs = store.records[:n]
            return sum(1 for r in rs if (since is None or r.at > since)
                       and (match is None or match(r.action, r.tool)))  # fmt: skip
        s = store.get(key, match, None)
        hi = bisect_left(s.idx, n)
        return hi if since is None else hi - bisect_right(s.times, since, 0, hi)

    def total(self, key: Hashable, match: Match, arg: str, since: datetime) -> Decimal:
        """The naive ``sum(args[arg] of selected records with at > since, Decimal(0))``."""
        store, n = self._store, self._n
        s = store.get(key, match, arg)
        hi = bisect_left(s.idx, n)
        lo = bisect_right(s.times, since, 0, hi) if n <= store.disorder else 0
        if (
            n > store.disorder
            or not s.safe
            or hi - lo > _MAX_TERMS
            or getcontext().prec < _MIN_PREC
        ):
            rs = store.records[:n]
            return sum(
                (dict(r.numbers).get(arg, _ZERO) for r in rs
                 if r.at > since and match(r.action, r.tool)),
                _ZERO,
            )  # fmt: skip
        if lo == hi:
            return _ZERO
        exp = 0
        for e, positions in s.exps.items():
            if e < exp and (j := bisect_left(positions, lo)) < len(positions) and positions[j] < hi:
                exp = e
        value = _EXACT.subtract(s.cum[hi], s.cum[lo])
        if not value:
            return Decimal((0, (0,), exp))
        return _EXACT.quantize(value, Decimal((0, (1,), exp)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeline):
            return NotImplemented
        n = self._n
        if n != other._n:
            return False
        return self._store is other._store or self._store.records[:n] == other._store.records[:n]

    def __hash__(self) -> int:
        return hash(self.records())

    def __repr__(self) -> str:
        return f"Timeline({self._n} records)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Timeline, (self.records(),))
