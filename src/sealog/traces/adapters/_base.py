"""What every adapter is: a streaming fold from a format's records to :class:`Event` values.

The reader (:mod:`sealog.traces.reader`) hands an adapter one parsed JSON record at a time —
a line of a JSONL file, an element of a top-level JSON array, or the whole of a JSON object
document — and the adapter answers with the events that record completes. An adapter keeps
only what it must between records (calls waiting for their results, ids already counted), so
memory stays flat however long the run; :meth:`Adapter.finish` flushes what is left (a call
that never got a result is emitted with status ``pending``).

Adapters never assign :attr:`Event.index` (the driver numbers events in emission order) and
never raise on a record they do not understand: they emit an ``unknown`` event for it, so it is
counted and its raw payload stays reachable.

The contract every adapter keeps, so that a figure means the same whatever the source:

* **Streaming.** Never load the whole input; keep only pending tool calls (at most
  :data:`MAX_PENDING`, the oldest emitted as ``pending`` past it) and small id sets needed to
  de-duplicate. A million-record input runs in flat memory and linear time.
* **One event per tool call**, emitted when its result arrives (``result``, ``status``,
  ``exit_code`` filled) or from :meth:`Adapter.finish` with status ``pending``. Its kind comes
  from :func:`sealog.traces.classify.classify` (the one table of tools); ``args`` are the parsed
  arguments (a JSON string is parsed; unparseable text is kept as ``{"_raw": text}``); ``time``
  is the call's. Status: ``ok``; ``error`` (ran and failed, a non-zero exit); ``denied`` (refused
  before it ran, by a permission rule, a hook, a guardrail, an approval policy or a human);
  ``pending``.
* **Permissions and hooks.** A refused call also yields a ``permission`` event (``decision``
  ``denied``, with ``tool``, ``call_id``, ``reason``); a request for permission or escalation is
  a ``permission`` event with ``decision`` ``requested`` (``granted`` where the source shows a
  grant). A hook's decision is a ``hook`` event (``allow`` or ``block``).
* **Model calls.** One ``model_call`` per model response: ``model``, ``usage`` of that call only
  (never cumulative figures; usage a source repeats is counted once), ``cost`` only if recorded.
* **Messages** are counted once even when the source writes them twice; text a harness injects
  (environment blocks, reminders) has role ``system``, not ``user``.
* **Times** are ISO 8601 UTC strings ending in ``Z``. :attr:`Adapter.run` is filled from what the
  source says, and left None where it says nothing.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from sealog.traces.events import Event, RunInfo, Source

__all__ = ["MAX_PENDING", "Adapter", "Record", "json_object", "nonempty", "text_of", "utc_time"]

MAX_PENDING = 10_000
"""Most tool calls an adapter holds while waiting for their results; past it the oldest is
emitted as ``pending`` (so a run of unanswered calls cannot grow memory without bound)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One parsed JSON value of the input and where it starts (1-based line, or array item)."""

    line: int
    value: Any


class Adapter(ABC):
    """Base of the format adapters: the run's info, the path, and whether to keep raw records.

    Subclasses set :attr:`name`, implement :meth:`sniff`, :meth:`feed` and (when they hold
    pending calls) :meth:`finish`.
    """

    name: ClassVar[str] = ""
    """The format's name, as ``--format`` takes it (``codex``, ``claude_code`` …)."""

    def __init__(self, path: str, *, keep_raw: bool = False) -> None:
        """Read records of the file at ``path`` (for event sources); keep raw payloads if asked."""
        self.path = path
        self.keep_raw = keep_raw
        self.run = RunInfo(format=self.name)

    @classmethod
    @abstractmethod
    def sniff(cls, first: Sequence[Any]) -> bool:
        """Whether the first few records (parsed JSON values, up to 5) are of this format."""

    @abstractmethod
    def feed(self, record: Record) -> Iterable[Event]:
        """The events this record completes (often none, sometimes several)."""

    def finish(self) -> Iterable[Event]:
        """Events still held at the end of the input (calls that never got a result)."""
        return ()

    def source(self, record: Record, kind: str | None = None) -> Source:
        """Where ``record`` is, for an event's :attr:`Event.source`."""
        return Source(self.path, record.line, kind)

    def raw(self, value: Any) -> Any:
        """``value`` if raw payloads are kept, else None."""
        return value if self.keep_raw else None

    def unknown(self, record: Record, kind: str | None) -> Event:
        """An event for a record this adapter does not classify (counted, raw kept if asked)."""
        return Event("unknown", source=self.source(record, kind), raw=self.raw(record.value))


def text_of(value: Any, limit: int = 1 << 20) -> str | None:
    """A tool result or message content as text, cut at ``limit`` characters.

    Strings as they are, lists of content blocks their texts joined, anything else as compact
    JSON; None stays None.
    """
    if value is None:
        return None
    if isinstance(value, str):
        out = value
    elif isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        parts = [str(v.get("text")) for v in value if isinstance(v.get("text"), str)]
        out = "\n".join(parts) if parts else json.dumps(value, ensure_ascii=False)
    else:
        out = json.dumps(value, ensure_ascii=False, default=str)
    return out[:limit]


def nonempty(value: Any) -> str | None:
    """``value`` if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def utc_time(value: Any) -> str | None:
    """A time as ISO 8601 UTC with milliseconds and ``Z``; None if it is not a time.

    Takes ISO strings (naive ones are taken as UTC) and numbers since the epoch in seconds,
    milliseconds, microseconds or nanoseconds (told apart by magnitude), also as digit strings.
    """
    raw: Any = value
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    try:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            seconds = float(raw)
            while seconds > 1e11:  # noqa: PLR2004 - ms, µs, ns since the epoch → s
                seconds /= 1000
            moment = datetime.fromtimestamp(seconds, UTC)
        elif isinstance(raw, str) and raw.strip():
            moment = datetime.fromisoformat(raw.strip())
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_object(value: Any) -> dict[str, Any] | None:
    """A JSON object given as a mapping or as JSON text (tool arguments); None otherwise."""
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
