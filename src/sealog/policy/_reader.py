"""Typed, located access to a parsed policy document, collecting problems instead of raising.

The shape builders read every value through :class:`Reader`: each accessor checks a type,
records ``file:line: key.path: what is wrong`` on failure and returns ``None`` (or an empty
value), so that one load reports every problem at once and nothing half-built escapes.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sealog.errors import PolicyError
from sealog.policy.model import Mode

__all__ = ["KeyPath", "Reader", "dotted", "show"]

KeyPath = tuple[str | int, ...]
"""Where a value sits in the document: keys and list indexes."""
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def dotted(path: KeyPath) -> str:
    """``limits.max_cost_usd`` / ``conditions[0].require`` from a key path."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


@dataclass
class Reader:
    """Typed access to the parsed document that records problems with their locations."""

    source: str
    lines: dict[KeyPath, int]
    raws: dict[KeyPath, str]
    problems: list[str] = field(default_factory=list)

    def problem(self, path: KeyPath, message: str) -> None:
        """Record ``source:line: key.path: message`` (the line of the nearest known ancestor)."""
        probe = path
        while probe not in self.lines and probe:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        self.problems.append(f"{self.source}:{line}: {dotted(path)}: {message}")

    def raise_if_problems(self) -> None:
        """Raise one :class:`PolicyError` naming the first problem and carrying them all."""
        if self.problems:
            more = len(self.problems) - 1
            message = self.problems[0] + (f" (and {more} more)" if more else "")
            raise PolicyError(message, problems=tuple(self.problems))

    def mapping(
        self,
        value: Any,
        path: KeyPath,
        allowed: Collection[str],
        *,
        suggest: Collection[str] = (),
    ) -> dict[str, Any]:
        """A mapping whose keys are all in ``allowed`` (typos get a did-you-mean).

        ``suggest`` adds names to draw suggestions from (keys of the other shapes).
        """
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping, got {show(value)}")
            return {}
        for key in value:
            if key not in allowed:
                names = [*allowed, *suggest]
                close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]}?" if close else ""
                self.problem((*path, str(key)), f"unknown key{hint}")
        return {k: v for k, v in value.items() if k in allowed}

    def string(self, value: Any, path: KeyPath) -> str | None:
        """A non-empty string."""
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.problem(path, f"expected a non-empty string, got {show(value)}")
        return None

    def strings(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        """A list of non-empty strings (a single string counts as a list of one)."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.problem(path, f"expected a list of strings, got {show(value)}")
            return ()
        items = [self.string(item, (*path, i)) for i, item in enumerate(value)]
        return tuple(item for item in items if item is not None)

    def count(self, value: Any, path: KeyPath, *, positive: bool = False) -> int | None:
        """A non-negative (or positive) integer."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(path, f"expected a whole number, got {show(value)}")
            return None
        if value < (1 if positive else 0):
            self.problem(
                path, f"expected a {'positive' if positive else 'non-negative'} number, got {value}"
            )
            return None
        return value

    def money(self, value: Any, path: KeyPath) -> Decimal | None:
        """A non-negative decimal amount, read from the scalar's own text (never via float)."""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.problem(path, f"expected a number, got {show(value)}")
            return None
        text = self.raws.get(path, str(value)) if not isinstance(value, str) else value
        try:
            amount = Decimal(text.strip().replace("_", ""))
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            self.problem(path, f"expected a number, got {show(value)}")
            return None
        if amount < 0:
            self.problem(path, f"expected a non-negative number, got {text}")
            return None
        return amount

    def fraction(self, value: Any, path: KeyPath) -> Decimal | None:
        """A fraction in (0, 1]."""
        amount = self.money(value, path)
        if amount is not None and not Decimal(0) < amount <= 1:
            self.problem(path, f"expected a fraction in (0, 1], got {amount}")
            return None
        return amount

    def duration(self, value: Any, path: KeyPath) -> int | None:
        """Whole seconds from ``90s``, ``30m``, ``2h``, ``1d`` or a plain integer of seconds."""
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            number, unit = text[:-1], text[-1:]
            if unit in _UNITS and number.isdigit():
                return int(number) * _UNITS[unit]
            if text.isdigit():
                return int(text)
        self.problem(
            path, f"expected a duration such as 90s, 30m, 2h, 1d or seconds, got {show(value)}"
        )
        return None

    def mode(self, value: Any, path: KeyPath, allowed: tuple[Mode, ...]) -> Mode | None:
        """One of the allowed modes (``kill``, ``deny``, ``alert``, ``log``)."""
        for mode in allowed:
            if value == mode:
                return mode
        self.problem(path, f"expected one of {', '.join(allowed)}, got {show(value)}")
        return None

    def boolean(self, value: Any, path: KeyPath) -> bool | None:
        """``true`` or ``false``."""
        if isinstance(value, bool):
            return value
        self.problem(path, f"expected true or false, got {show(value)}")
        return None

    def timestamp(self, value: Any, path: KeyPath) -> datetime | None:
        """A timezone-aware timestamp (ISO 8601, ``Z`` allowed), returned in UTC."""
        moment: datetime | None = None
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                moment = None
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
        if moment is None:
            self.problem(
                path, f"expected a timestamp such as 2026-12-31T00:00:00Z, got {show(value)}"
            )
            return None
        if moment.tzinfo is None:
            self.problem(path, "timestamp has no timezone; add Z or an offset")
            return None
        return moment.astimezone(UTC)

    def risk(self, value: Any, path: KeyPath) -> int | None:
        """A risk weight 0–100."""
        weight = self.count(value, path)
        if weight is not None and weight > 100:  # noqa: PLR2004 - the scale is 0–100
            self.problem(path, f"expected a risk weight 0-100, got {weight}")
            return None
        return weight


def show(value: Any) -> str:
    """A short description of a wrong value for an error message."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."  # noqa: PLR2004 - message width
