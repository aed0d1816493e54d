"""Opening a trace: detect its format, stream its events through the adapter, count problems.

:func:`open_trace` checks the file and picks the adapter (``--format`` or detection from the
first records); iterating the :class:`Trace` then reads the file once, numbering events in the
order the adapter emits them. Malformed lines are counted and the first of them kept with their
line numbers; with ``strict`` the first one is fatal.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sealog.errors import InputError, UsageError
from sealog.traces.adapters._base import Adapter
from sealog.traces.events import Event, RunInfo
from sealog.traces.reader import Malformed, peek, records

__all__ = ["FORMATS", "Problem", "Trace", "detect", "open_trace"]

FORMATS: dict[str, str] = {
    "sealog": "sealog.traces.adapters.sealog_run:SealogRunAdapter",
    "codex": "sealog.traces.adapters.codex:CodexAdapter",
    "claude_code": "sealog.traces.adapters.claude_code:ClaudeCodeAdapter",
    "openai_agents": "sealog.traces.adapters.openai_agents:OpenAIAgentsAdapter",
    "otel": "sealog.traces.adapters.otel:OTelAdapter",
    "generic": "sealog.traces.adapters.generic:GenericAdapter",
}
"""Every format, by the name ``--format`` takes, in detection order (``generic`` last)."""
KEPT_PROBLEMS = 100
"""Malformed lines reported one by one; past this many they are only counted."""


def _adapter(name: str) -> type[Adapter]:
    try:
        where = FORMATS[name]
    except KeyError:
        known = ", ".join(FORMATS)
        raise UsageError(f"unknown trace format {name!r}; the formats are {known}") from None
    module, _, attr = where.partition(":")
    found: type[Adapter] = getattr(importlib.import_module(module), attr)
    return found


def detect(path: Path) -> str:
    """The format of the trace at ``path``.

    Raises:
        InputError: not a trace, or no adapter recognizes it.
    """
    first = peek(path)
    if not first:
        raise InputError(f"{path} holds no JSON record that could be read")
    for name in FORMATS:
        if _adapter(name).sniff(first):
            return name
    raise InputError(
        f"{path}: not a trace format sealog knows; name one with --format ({', '.join(FORMATS)})"
    )


@dataclass(frozen=True, slots=True)
class Problem:
    """A line of the input that could not be read."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        """``path:line: message``."""
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(slots=True)
class Trace:
    """A trace file and its adapter; iterate it (once) for the events."""

    path: Path
    format: str
    strict: bool = False
    keep_raw: bool = False
    adapter: Adapter = field(init=False)
    problems: list[Problem] = field(default_factory=list)
    malformed: int = 0
    unknown: Counter[str] = field(default_factory=Counter)
    """Records no adapter rule classified, by their type in the source format."""
    events: int = 0

    def __post_init__(self) -> None:
        """Build the adapter."""
        self.adapter = _adapter(self.format)(str(self.path), keep_raw=self.keep_raw)

    @property
    def run(self) -> RunInfo:
        """What the input says about the run (complete once the events were read)."""
        return self.adapter.run

    def __iter__(self) -> Iterator[Event]:
        """Read the file, yielding events in order.

        Raises:
            InputError: with ``strict``, the first malformed line; a malformed JSON document.
        """
        adapter = self.adapter
        for item in records(self.path):
            if isinstance(item, Malformed):
                self._malformed(item)
                continue
            yield from self._number(adapter.feed(item))
        yield from self._number(adapter.finish())

    def _malformed(self, item: Malformed) -> None:
        problem = Problem(str(self.path), item.line, item.message)
        if self.strict:
            raise InputError(f"{problem} (--strict: every line must be readable)")
        self.malformed += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(problem)

    def _number(self, events: object) -> Iterator[Event]:
        for event in events:  # type: ignore[attr-defined]
            event.index = self.events
            self.events += 1
            if event.kind == "unknown":
                record = event.source.record if event.source else None
                self.unknown[record or "?"] += 1
            yield event


def open_trace(
    path: str | Path, fmt: str | None = None, *, strict: bool = False, keep_raw: bool = False
) -> Trace:
    """A trace ready to iterate: the file checked, the format named or detected.

    Raises:
        InputError: the file is not a trace (with the reason); UsageError: an unknown format.
    """
    where = Path(path)
    name = fmt or detect(where)
    _adapter(name)
    if fmt is not None:
        first = peek(where)
        if first and not _adapter(fmt).sniff(first):
            raise InputError(f"{where} does not look like a {fmt} trace; try without --format")
    return Trace(where, name, strict=strict, keep_raw=keep_raw)
