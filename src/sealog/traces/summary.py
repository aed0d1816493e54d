"""What a run did, in figures: one streaming fold over its events (``sealog inspect``).

Counts are exact; the lists it keeps (files, hosts, tools) are bounded so a run of any length
summarizes in flat memory, and say how many they left out. Cost is what the trace recorded, or
else computed from token usage with the price table (:mod:`sealog.policy.cost`); when neither is
known for some model call, the cost is reported as partial, never as a guess.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from sealog.errors import Error
from sealog.policy.cost import price
from sealog.traces.classify import git_action
from sealog.traces.events import Event, RunInfo

__all__ = ["MAX_LISTED", "Summary"]

MAX_LISTED = 1000
"""Most distinct files, hosts or commands a summary lists; the rest are counted."""


@dataclass(slots=True)
class _Bounded:
    """Distinct values in first-seen order, at most :data:`MAX_LISTED`, the rest counted."""

    values: dict[str, None] = field(default_factory=dict)
    dropped: int = 0

    def add(self, value: str) -> None:
        if value in self.values:
            return
        if len(self.values) < MAX_LISTED:
            self.values[value] = None
        else:
            self.dropped += 1

    def to_list(self) -> list[str]:
        return list(self.values)


@dataclass(slots=True)
class Summary:
    """The run's figures, folded one event at a time (:meth:`add`)."""

    events: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    tools: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    shell_commands: int = 0
    git_actions: int = 0
    permissions: Counter[str] = field(default_factory=Counter)
    hooks: Counter[str] = field(default_factory=Counter)
    read: _Bounded = field(default_factory=_Bounded)
    written: _Bounded = field(default_factory=_Bounded)
    hosts: _Bounded = field(default_factory=_Bounded)
    models: Counter[str] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    recorded_cost: Decimal = Decimal(0)
    computed_cost: Decimal = Decimal(0)
    model_calls: int = 0
    unpriced: int = 0
    """Model calls whose cost is neither recorded nor computable (no usage, unknown model)."""
    first: str | None = None
    last: str | None = None

    def add(self, event: Event) -> None:
        """Count one event."""
        self.events += 1
        self.kinds[event.kind] += 1
        if event.time is not None:
            self.first = self.first or event.time
            self.last = event.time if self.last is None or event.time > self.last else self.last
        if event.tool is not None and event.kind not in {"permission", "hook"}:
            self.tools[event.tool] += 1
        if event.status is not None:
            self.statuses[event.status] += 1
        kind = event.kind
        if kind == "shell":
            self.shell_commands += 1
            if event.command and git_action(event.command):
                self.git_actions += 1
        elif kind == "git":
            self.git_actions += 1
        elif kind == "file_read":
            for p in event.paths:
                self.read.add(p)
        elif kind in {"file_write", "file_edit"}:
            for p in event.paths:
                self.written.add(p)
        elif kind == "network_fetch" and event.url:
            self.hosts.add(urlsplit(event.url).hostname or event.url[:200])
        elif kind == "permission":
            self.permissions[event.decision or "unknown"] += 1
        elif kind == "hook":
            self.hooks[event.decision or "unknown"] += 1
        elif kind == "model_call":
            self._model_call(event)

    def _model_call(self, event: Event) -> None:
        self.model_calls += 1
        if event.model:
            self.models[event.model] += 1
        usage = event.usage
        if usage is not None:
            self.tokens.update(
                input=usage.input_tokens,
                output=usage.output_tokens,
                cache_read=usage.cache_read_tokens,
                cache_write=usage.cache_write_tokens,
            )
        if event.cost is not None:
            self.recorded_cost += event.cost
            return
        if usage is None:
            self.unpriced += 1
            return
        try:
            self.computed_cost += price(usage).usd
        except Error:
            self.unpriced += 1

    def duration_seconds(self, run: RunInfo) -> float | None:
        """Seconds from the first to the last time known (the run's own, else its events')."""
        start, end = run.started or self.first, run.ended or self.last
        if start is None or end is None:
            return None
        try:
            a, b = datetime.fromisoformat(start), datetime.fromisoformat(end)
        except ValueError:
            return None
        return max((b - a).total_seconds(), 0.0)

    def cost(self, run: RunInfo) -> tuple[Decimal | None, str]:
        """The run's cost and where it comes from.

        ``recorded``, ``computed`` (from usage and the price table), ``partial`` (some model
        calls could not be priced: a lower bound) or ``unknown``.
        """
        if run.cost is not None:
            return run.cost, "recorded"
        total = self.recorded_cost + self.computed_cost
        if self.model_calls == 0:
            return None, "unknown"
        if self.unpriced == self.model_calls:
            return None, "unknown"
        if self.unpriced:
            return total, "partial"
        return total, "computed" if self.computed_cost else "recorded"

    def to_dict(self, run: RunInfo) -> dict[str, Any]:
        """JSON-ready figures (no payloads, no command text)."""
        cost, basis = self.cost(run)
        return {
            "events": self.events,
            "by_kind": dict(sorted(self.kinds.items())),
            "shell_commands": self.shell_commands,
            "file_reads": self.kinds["file_read"],
            "file_writes": self.kinds["file_write"] + self.kinds["file_edit"],
            "network_fetches": self.kinds["network_fetch"],
            "git_actions": self.git_actions,
            "tool_calls": sum(self.tools.values()),
            "tools": dict(self.tools.most_common()),
            "statuses": dict(sorted(self.statuses.items())),
            "permissions": dict(sorted(self.permissions.items())),
            "hooks": dict(sorted(self.hooks.items())),
            "files_read": self.read.to_list(),
            "files_written": self.written.to_list(),
            "files_not_listed": self.read.dropped + self.written.dropped,
            "hosts": self.hosts.to_list(),
            "model_calls": self.model_calls,
            "models": dict(self.models.most_common()),
            "tokens": {k: self.tokens[k] for k in ("input", "output", "cache_read", "cache_write")},
            "cost_usd": None if cost is None else str(cost),
            "cost_basis": basis,
            "duration_seconds": self.duration_seconds(run),
        }
