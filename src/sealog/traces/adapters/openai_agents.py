"""OpenAI Agents SDK traces: what a ``TracingProcessor`` exports, as :class:`Event` values.

The input is one JSON object a line — ``{"object": "trace", ...}`` and ``{"object": "trace.span",
"span_data": {"type": ...}, ...}`` as ``Trace.export()`` and ``Span.export()`` give them — or the
exporter's single document ``{"data": [trace, span, ...]}`` (the traces-ingest body). Spans are
exported when they *end*, so children come before their parents; events are emitted in that
order (the file order), each stamped with its span's start time.

How each span becomes events:

* ``function`` → a tool event, its kind from :func:`~sealog.traces.classify.classify` (name, the
  JSON ``input``), ``output`` as the result. Status: ``error`` when the span has an error;
  ``denied`` when that error says the call was *manually rejected* (an approval's
  ``always_reject``), followed by a ``permission`` event (``denied``); ``pending`` when both
  ``output`` and ``error`` are null (the run was interrupted for an approval and the tool never
  ran); else ``ok``. A call refused by a *tool guardrail* is indistinguishable from a result: the
  SDK records only the rejection text as its output, so it stays ``ok``; a call rejected when
  the run resumes leaves no span at all. Function spans carry no call id; on the Chat
  Completions backend it is recovered from the ``generation`` span's ``tool_calls`` (same turn,
  name and arguments).
* ``generation`` (Chat Completions) → ``message`` events for system, developer and user input
  not seen before in the trace, a ``model_call`` (``model``, ``usage``), then a ``message`` for
  each assistant output with text. ``response`` (Responses API) → a ``model_call`` with usage
  only: the export names no model, so :attr:`Event.model` stays None and the usage's model is
  :data:`UNKNOWN_MODEL` (pricing it fails, closed). Provider is ``openai``; cached input tokens
  are counted apart from ``input_tokens``, which include them in the export.
* Usage is taken per model call. The ``turn`` and ``task`` custom spans repeat the same tokens
  as aggregates and are not counted — except when a run (a ``task`` span) ends with no
  per-call usage recorded since the previous one (``ScriptedModel`` fills only the aggregates):
  then the task's usage becomes one ``model_call`` event whose :attr:`Event.reason` says it is a
  run total, so totals are not lost and nothing is counted twice.
* ``guardrail`` → a ``hook`` event (``tool`` = the guardrail's name; ``block`` when triggered,
  else ``allow``). ``handoff`` → a ``message`` from the ``system`` role naming both agents.
* ``agent`` → no event: its name becomes the :attr:`Event.actor` of every event beneath it (the
  entry agent is :attr:`RunInfo.agent`, all are listed in ``extra["agents"]``). Because the agent
  span ends last, events wait in order until an ancestor names the agent (a ``turn`` span's
  ``agent_name`` usually does first); a span id → actor map (bounded) serves children that end
  after their parent. At most :data:`~sealog.traces.adapters._base.MAX_PENDING` events wait;
  past that the oldest goes out with no actor.
* ``custom`` ``task``/``turn`` → :attr:`RunInfo.extra` (``workflow``, ``runs``, ``turns``); any
  other custom span (the user's own) → ``unknown``, as are span types not listed here.
  A span with an error that is not a tool call also yields an ``error`` event.

:attr:`RunInfo.run_id` is the trace id; ``workflow_name``, ``group_id`` and ``metadata`` go to
:attr:`RunInfo.extra`; ``started``/``ended`` span the spans' times.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sealog.policy.cost import Usage
from sealog.traces.adapters._base import MAX_PENDING, Adapter, Record, text_of, utc_time
from sealog.traces.adapters._base import json_object as _json_object
from sealog.traces.adapters._base import nonempty as _str
from sealog.traces.classify import classify
from sealog.traces.events import Event, Status

__all__ = ["UNKNOWN_MODEL", "OpenAIAgentsAdapter"]

UNKNOWN_MODEL = "unknown"
"""The model of a usage whose model the trace does not name (``response`` spans)."""
PROVIDER = "openai"
_REJECTED = re.compile(r"manually rejected|rejected by user", re.IGNORECASE)
_REJECTED_CALL = re.compile(r"for (\S+) was manually rejected")
_PROMPT_ROLES = frozenset({"system", "developer", "user"})
_KEPT_IDS = 100


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def openai_usage(raw: Any, model: str | None) -> Usage | None:
    """A :class:`Usage` from an Agents SDK usage dict (per call, turn or task); None if absent.

    ``input_tokens`` include the cached ones (``input_tokens_details.cached_tokens``, or
    ``cached_input_tokens`` in the aggregates); they are moved to ``cache_read_tokens``.
    """
    if not isinstance(raw, Mapping) or not ({"input_tokens", "output_tokens"} & raw.keys()):
        return None
    total = _count(raw.get("input_tokens"))
    details = raw.get("input_tokens_details")
    cached = _count(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
    cached = min(cached or _count(raw.get("cached_input_tokens")), total)
    return Usage(PROVIDER, model or UNKNOWN_MODEL, total - cached, _count(raw.get("output_tokens")),
                 cached, 0)  # fmt: skip


@dataclass(slots=True)
class _Held:
    """An event waiting for its actor (and for those before it) to be known."""

    event: Event
    ready: bool = False
    done: bool = False


class OpenAIAgentsAdapter(Adapter):
    """Reads the OpenAI Agents SDK's trace and span exports (JSONL or ``{"data": [...]}``)."""

    name: ClassVar[str] = "openai_agents"

    def __init__(self, path: str, *, keep_raw: bool = False) -> None:
        """Start with no spans seen."""
        super().__init__(path, keep_raw=keep_raw)
        self._queue: deque[_Held] = deque()
        self._waiting: dict[str, list[_Held | str]] = {}
        self._actors: dict[str, str | None] = {}
        self._call_ids: dict[tuple[str | None, str, str], deque[str]] = {}
        self._prompts: dict[int, None] = {}
        self._per_call_usage: dict[str, bool] = {}
        self._entry_start: str | None = None

    @classmethod
    def sniff(cls, first: Sequence[Any]) -> bool:
        """All records are objects, and one is a trace or span export or an ingest body."""
        return all(isinstance(v, Mapping) for v in first) and any(
            _is_export(v) or _is_ingest(v) for v in first
        )

    def feed(self, record: Record) -> Iterable[Event]:
        """The events this record's spans complete, in order."""
        value = record.value
        if _is_ingest(value):
            for position, item in enumerate(value["data"], 1):
                self._object(Record(position, item))
        else:
            self._object(record)
        return self._drain()

    def finish(self) -> Iterable[Event]:
        """Every event still waiting, its actor unknown if no agent span came."""
        for held in self._queue:
            held.ready = True
        return self._drain()

    # -- records ---------------------------------------------------------------------------------

    def _object(self, record: Record) -> None:
        value = record.value
        kind = value.get("object") if isinstance(value, Mapping) else None
        if kind == "trace":
            self._trace(value)
        elif kind == "trace.span" and isinstance(value.get("span_data"), Mapping):
            self._span(record, value)
        else:
            self._push([self.unknown(record, kind if isinstance(kind, str) else None)], None)

    def _trace(self, value: Mapping[str, Any]) -> None:
        run = self.run
        trace_id = value.get("id")
        if run.run_id is None and isinstance(trace_id, str):
            run.run_id = trace_id
        elif isinstance(trace_id, str) and trace_id != run.run_id:
            others = run.extra.setdefault("other_traces", [])
            if len(others) < _KEPT_IDS and trace_id not in others:
                others.append(trace_id)
        for key, extra in (("workflow_name", "workflow"), ("group_id", "group_id")):
            if isinstance(value.get(key), str):
                run.extra.setdefault(extra, value[key])
        if isinstance(value.get("metadata"), Mapping) and value["metadata"]:
            run.extra.setdefault("metadata", dict(value["metadata"]))

    def _span(self, record: Record, span: Mapping[str, Any]) -> None:
        data: Mapping[str, Any] = span["span_data"]
        kind = data.get("type")
        time = utc_time(span.get("started_at"))
        self._times(span, time)
        events, own = self._events(record, span, data, time)
        error = span.get("error")
        if error and kind != "function":
            events.append(self._error(record, span, error, time))
        span_id = _str(span.get("id")) or f"#{record.line}"
        self._push(events, (span_id, _str(span.get("parent_id")), own))

    def _events(  # noqa: PLR0911 - one answer per span type
        self, record: Record, span: Mapping[str, Any], data: Mapping[str, Any], time: str | None
    ) -> tuple[list[Event], str | type[_Held] | None]:
        """The span's events and the actor it names itself (``_Held`` when it names none)."""
        kind = data.get("type")
        if kind == "function":
            return self._function(record, span, data, time), _Held
        if kind in {"generation", "response"}:
            return self._model_call(record, span, data, time), _Held
        if kind == "guardrail":
            triggered = data.get("triggered") is True
            hook = Event("hook", time=time, source=self.source(record, "guardrail"),
                         tool=_str(data.get("name")), decision="block" if triggered else "allow",
                         reason="tripwire triggered" if triggered else None,
                         raw=self.raw(span))  # fmt: skip
            return [hook], _Held
        if kind == "handoff":
            text = f"handoff from {data.get('from_agent')} to {data.get('to_agent')}"
            source = self.source(record, "handoff")
            return [Event("message", time=time, source=source, role="system", text=text,
                          raw=self.raw(span))], _Held  # fmt: skip
        if kind == "agent":
            name = _str(data.get("name"))
            self._agent(name, time)
            return [], name
        if kind == "custom":
            return self._custom(record, span, data, time)
        return [self.unknown(record, _str(kind))], _Held

    def _function(
        self, record: Record, span: Mapping[str, Any], data: Mapping[str, Any], time: str | None
    ) -> list[Event]:
        tool = _str(data.get("name"))
        raw_input = data.get("input")
        args = _json_object(raw_input)
        freeform = raw_input if isinstance(raw_input, str) and args is None else None
        found = classify(tool, args, freeform)
        output, error = data.get("output"), span.get("error")
        detail = _error_detail(error)
        status: Status = "ok"
        if error:
            status = "denied" if _REJECTED.search(detail or "") else "error"
        elif output is None:
            status = "pending"
        call_id = self._call_id(span, tool, raw_input, detail)
        source = self.source(record, "function")
        event = Event(
            found.kind, time=time, source=source, tool=tool, call_id=call_id,
            args=args if args is not None else ({"_raw": freeform} if freeform else None),
            result=text_of(output), status=status, command=found.command, paths=found.paths,
            url=found.url, reason=detail if error else None, raw=self.raw(span),
        )  # fmt: skip
        if status != "denied":
            return [event]
        denial = Event("permission", time=time, source=source, tool=tool, call_id=call_id,
                       decision="denied", reason=detail)  # fmt: skip
        return [event, denial]

    def _call_id(
        self, span: Mapping[str, Any], tool: str | None, raw_input: Any, detail: str | None
    ) -> str | None:
        key = (
            _str(span.get("parent_id")),
            tool or "",
            raw_input if isinstance(raw_input, str) else "",
        )
        waiting = self._call_ids.get(key)
        if waiting:
            found = waiting.popleft()
            if not waiting:
                del self._call_ids[key]
            return found
        match = _REJECTED_CALL.search(detail or "")
        return match.group(1) if match else None

    def _model_call(
        self, record: Record, span: Mapping[str, Any], data: Mapping[str, Any], time: str | None
    ) -> list[Event]:
        kind = str(data.get("type"))
        model = _str(data.get("model"))
        usage = openai_usage(data.get("usage"), model)
        trace_id = _str(span.get("trace_id")) or ""
        if usage is not None:
            self._per_call_usage[trace_id] = True
        source = self.source(record, kind)
        events = self._prompt_messages(trace_id, data.get("input"), source, time)
        if model is not None:
            self.run.model = self.run.model or model
        events.append(Event("model_call", time=time, source=source, model=model, usage=usage,
                            raw=self.raw(span)))  # fmt: skip
        outputs = data.get("output")
        for message in outputs if isinstance(outputs, list) else ():
            if not isinstance(message, Mapping):
                continue
            text = text_of(message.get("content"))
            if text:
                events.append(Event("message", time=time, source=source, role="assistant",
                                    text=text))  # fmt: skip
            self._remember_calls(_str(span.get("parent_id")), message.get("tool_calls"))
        return events

    def _prompt_messages(
        self, trace_id: str, messages: Any, source: Any, time: str | None
    ) -> list[Event]:
        out: list[Event] = []
        for message in messages if isinstance(messages, list) else ():
            if not isinstance(message, Mapping) or message.get("role") not in _PROMPT_ROLES:
                continue
            text = text_of(message.get("content"))
            key = hash((trace_id, message["role"], text))
            if not text or key in self._prompts:
                continue
            self._prompts[key] = None
            if len(self._prompts) > MAX_PENDING:
                del self._prompts[next(iter(self._prompts))]
            out.append(Event("message", time=time, source=source, role=str(message["role"]),
                             text=text))  # fmt: skip
        return out

    def _remember_calls(self, parent: str | None, calls: Any) -> None:
        for call in calls if isinstance(calls, list) else ():
            function = call.get("function") if isinstance(call, Mapping) else None
            if not isinstance(function, Mapping) or not isinstance(call.get("id"), str):
                continue
            key = (parent, str(function.get("name") or ""), str(function.get("arguments") or ""))
            self._call_ids.setdefault(key, deque()).append(call["id"])
        while len(self._call_ids) > MAX_PENDING:
            del self._call_ids[next(iter(self._call_ids))]

    def _custom(
        self, record: Record, span: Mapping[str, Any], data: Mapping[str, Any], time: str | None
    ) -> tuple[list[Event], str | type[_Held] | None]:
        name = _str(data.get("name"))
        payload: Mapping[str, Any] = data["data"] if isinstance(data.get("data"), Mapping) else {}
        sdk = payload.get("sdk_span_type")
        extra = self.run.extra
        if sdk == "turn" or (name == "turn" and "turn" in payload):
            extra["turns"] = extra.get("turns", 0) + 1
            agent = _str(payload.get("agent_name"))
            return [], agent if agent is not None else _Held
        if sdk != "task" and name != "task":
            return [self.unknown(record, f"custom/{name}")], _Held
        extra["runs"] = extra.get("runs", 0) + 1
        if isinstance(payload.get("name"), str):
            extra.setdefault("workflow", payload["name"])
        trace_id = _str(span.get("trace_id")) or ""
        counted = self._per_call_usage.pop(trace_id, False)
        usage = openai_usage(payload.get("usage"), None)
        if counted or usage is None:
            return [], _Held
        reason = "run total from the task span: the trace records no per-call usage"
        total = Event("model_call", time=time, source=self.source(record, "custom/task"),
                      usage=usage, reason=reason, raw=self.raw(span))  # fmt: skip
        return [total], _Held

    def _error(
        self, record: Record, span: Mapping[str, Any], error: Any, time: str | None
    ) -> Event:
        message = error.get("message") if isinstance(error, Mapping) else error
        detail = error.get("data") if isinstance(error, Mapping) else None
        kind = span["span_data"].get("type")
        return Event("error", time=time, source=self.source(record, _str(kind)),
                     text=text_of(message), reason=text_of(detail) if detail else None,
                     raw=self.raw(span))  # fmt: skip

    # -- run info ----------------------------------------------------------------------------------

    def _times(self, span: Mapping[str, Any], started: str | None) -> None:
        run = self.run
        ended = utc_time(span.get("ended_at"))
        if started is not None and (run.started is None or started < run.started):
            run.started = started
        if ended is not None and (run.ended is None or ended > run.ended):
            run.ended = ended
        trace_id = span.get("trace_id")
        if run.run_id is None and isinstance(trace_id, str):
            run.run_id = trace_id

    def _agent(self, name: str | None, started: str | None) -> None:
        if name is None:
            return
        agents = self.run.extra.setdefault("agents", [])
        if name not in agents and len(agents) < _KEPT_IDS:
            agents.append(name)
        if self.run.agent is None or (
            started is not None and (self._entry_start is None or started < self._entry_start)
        ):
            self.run.agent, self._entry_start = name, started

    # -- ordering and actors -----------------------------------------------------------------------

    def _push(
        self, events: list[Event], place: tuple[str, str | None, str | type[_Held] | None] | None
    ) -> None:
        """Queue ``events`` in order; settle their actor now or when an ancestor names it.

        ``place`` is the span's id, its parent's id and the actor it names itself (``_Held``
        when it names none); None for a record that is no span (no actor).
        """
        held = [_Held(e) for e in events]
        self._queue.extend(held)
        if place is None:
            for h in held:
                h.ready = True
            return
        span_id, parent, own = place
        self._waiting.setdefault(span_id, []).extend(held)
        if own is not _Held:
            self._settle(span_id, own if isinstance(own, str) else None)
        elif parent is None:
            self._settle(span_id, None)
        elif parent in self._actors:
            self._settle(span_id, self._actors[parent])
        else:
            self._waiting.setdefault(parent, []).append(span_id)
        while len(self._waiting) > MAX_PENDING:  # give up on the oldest: its actor stays unknown
            self._settle(next(iter(self._waiting)), None)

    def _settle(self, span_id: str, actor: str | None) -> None:
        """Give ``span_id`` and everything waiting beneath it the actor ``actor``."""
        stack = [span_id]
        while stack:
            current = stack.pop()
            self._actors[current] = actor
            for item in self._waiting.pop(current, ()):
                if isinstance(item, str):
                    stack.append(item)
                elif not item.done:
                    item.event.actor, item.ready = actor, True
        while len(self._actors) > MAX_PENDING:
            del self._actors[next(iter(self._actors))]

    def _drain(self) -> list[Event]:
        out: list[Event] = []
        queue = self._queue
        while queue and (queue[0].ready or len(queue) > MAX_PENDING):
            held = queue.popleft()
            held.done = True
            out.append(held.event)
        return out


def _is_export(value: Any) -> bool:
    if not isinstance(value, Mapping):
        return False
    if value.get("object") == "trace":
        return isinstance(value.get("id"), str)
    return value.get("object") == "trace.span" and isinstance(value.get("span_data"), Mapping)


def _is_ingest(value: Any) -> bool:
    if not isinstance(value, Mapping) or "object" in value:
        return False
    data = value.get("data")
    return isinstance(data, list) and bool(data) and _is_export(data[0])


def _error_detail(error: Any) -> str | None:
    """The most specific text of a span error: ``data.error``, else its message."""
    if not isinstance(error, Mapping):
        return text_of(error) if error else None
    data = error.get("data")
    if isinstance(data, Mapping) and isinstance(data.get("error"), str):
        return str(data["error"])
    return text_of(error.get("message"))
