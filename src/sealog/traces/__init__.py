"""Runs recorded elsewhere: imported into one event model, inspected, guarded by a policy.

* :func:`open_trace` — a trace file, its format detected (or named), its events streamed.
* :class:`Event`, :class:`RunInfo` — the normalized model (:mod:`sealog.traces.events`).
"""

from __future__ import annotations

from sealog.traces.events import EVENT_KINDS, Event, EventKind, RunInfo, Source
from sealog.traces.trace import FORMATS, Problem, Trace, detect, open_trace

__all__ = [
    "EVENT_KINDS",
    "FORMATS",
    "Event",
    "EventKind",
    "Problem",
    "RunInfo",
    "Source",
    "Trace",
    "detect",
    "open_trace",
]
