"""sealog's own normalized run (``sealog import --out run.json``), read back exactly.

The document is ``{"format": "sealog-run/v1", "events": [...], "run": {...}, "input": {...}}``;
each event is the dict :func:`sealog.traces.render.event_json` writes, so reading it back gives
the same events, kinds and figures as the original trace — no classification happens again.
A document too large to parse whole streams its ``events``, which are recognized one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, cast

from sealog.errors import UsageError
from sealog.policy.cost import Usage
from sealog.traces.adapters._base import Adapter, Record
from sealog.traces.events import EVENT_KINDS, Event, EventKind, Source, Status

__all__ = ["FORMAT", "SealogRunAdapter"]

FORMAT = "sealog-run/v1"
_TEXT = ("time", "actor", "role", "tool", "call_id", "command", "url", "model", "decision",
         "reason", "text", "result")  # fmt: skip
_STATUSES = frozenset({"ok", "error", "denied", "pending"})


def _is_event(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("kind") in EVENT_KINDS and "index" in value


class SealogRunAdapter(Adapter):
    """Reads a normalized run document (or its streamed events) back into events."""

    name: ClassVar[str] = "sealog"

    @classmethod
    def sniff(cls, first: Sequence[Any]) -> bool:
        """A ``sealog-run/v1`` document, or the events of one streamed."""
        head = first[0] if first else None
        return (isinstance(head, Mapping) and head.get("format") == FORMAT) or (
            bool(first) and all(_is_event(v) for v in first)
        )

    def feed(self, record: Record) -> Iterable[Event]:
        """The document's events (and its run info), or one streamed event."""
        value = record.value
        if isinstance(value, Mapping) and value.get("format") == FORMAT:
            self._run(value.get("run"))
            events = value.get("events")
            for position, item in enumerate(events if isinstance(events, list) else [], 1):
                yield self._event(Record(position, item))
            return
        yield self._event(record)

    def _run(self, run: Any) -> None:
        if not isinstance(run, Mapping):
            return
        for name in ("run_id", "agent", "tool_version", "model", "sandbox", "approval",
                     "started", "ended"):  # fmt: skip
            if isinstance(run.get(name), str):
                setattr(self.run, name, run[name])
        self.run.cost = _money(run.get("recorded_cost_usd"))
        if isinstance(run.get("format"), str):
            self.run.extra["imported_from"] = run["format"]

    def _event(self, record: Record) -> Event:
        value = record.value
        if not _is_event(value):
            return self.unknown(record, "not-an-event")
        event = Event(cast("EventKind", value["kind"]), raw=self.raw(value))
        for name in _TEXT:
            if isinstance(value.get(name), str):
                setattr(event, name, value[name])
        status = value.get("status")
        event.status = cast("Status", status) if status in _STATUSES else None
        if isinstance(value.get("exit_code"), int):
            event.exit_code = value["exit_code"]
        paths = value.get("paths")
        if isinstance(paths, list):
            event.paths = tuple(str(p) for p in paths)
        if isinstance(value.get("args"), Mapping):
            event.args = dict(value["args"])
        event.usage = _usage(value.get("usage"))
        event.cost = _money(value.get("cost"))
        source = value.get("source")
        line = source.get("line") if isinstance(source, Mapping) else None
        kind = source.get("record") if isinstance(source, Mapping) else None
        event.source = Source(self.path, line if isinstance(line, int) else record.line,
                              kind if isinstance(kind, str) else None)  # fmt: skip
        return event


def _usage(value: Any) -> Usage | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return Usage(
            str(value.get("provider") or ""), str(value.get("model") or ""),
            input_tokens=value.get("input_tokens", 0), output_tokens=value.get("output_tokens", 0),
            cache_read_tokens=value.get("cache_read_tokens", 0),
            cache_write_tokens=value.get("cache_write_tokens", 0),
        )  # fmt: skip
    except UsageError:
        return None


def _money(value: Any) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        found = Decimal(value)
    except InvalidOperation:
        return None
    return found if found.is_finite() else None
