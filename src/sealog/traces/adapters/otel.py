"""OpenTelemetry GenAI spans in OTLP/JSON, as :class:`Event` values.

The input is one ``ExportTraceServiceRequest`` (``{"resourceSpans": [...]}``) per file, or JSONL
of them (a collector's file exporter). Attribute values are OTLP ``AnyValue`` objects and are
decoded to plain values (``intValue`` is a decimal string; ``arrayValue`` and ``kvlistValue``
nest). The spans of one request come in no particular order, so each request is sorted by
``startTimeUnixNano`` and its events emitted in that order; requests follow file order.

The span's operation is ``gen_ai.operation.name`` (else the first word of its name):

* ``invoke_agent`` → no event: ``gen_ai.agent.name`` is the :attr:`Event.actor` of every span
  beneath it (found by walking ``parentSpanId``; instrumentations put placeholder agent names
  on other spans, so a span's own ``gen_ai.agent.name`` is used only when no ``invoke_agent``
  is above it), and the first agent invoked is :attr:`RunInfo.agent`. An ``invoke_agent`` with
  no agent name (a workflow's root) and ``invoke_workflow`` name the workflow in
  :attr:`RunInfo.extra`.
* ``chat`` (and ``text_completion``, ``generate_content``, ``embeddings``) → ``model_call``:
  model from ``gen_ai.response.model``, else ``gen_ai.request.model``; usage from
  ``gen_ai.usage.input_tokens``/``output_tokens``/``cache_read.input_tokens``/
  ``cache_creation.input_tokens`` (the conventions count cached tokens inside the input, so
  they are taken out of it); provider from ``gen_ai.provider.name``, else ``gen_ai.system``.
  A usage whose provider or model is not recorded names :data:`UNKNOWN`. The usage totals on
  ``invoke_agent`` spans repeat their chat spans' and are not counted, unless no chat span of
  the request carries usage: then each outermost agent's totals become one ``model_call``
  whose reason says so.
* ``execute_tool`` → a tool event via :func:`~sealog.traces.classify.classify`
  (``gen_ai.tool.name``, ``gen_ai.tool.call.id``, ``gen_ai.tool.call.arguments``,
  ``gen_ai.tool.call.result``). Status: ERROR is ``error``, or ``denied`` (plus a ``permission``
  event) when ``error.type`` is ``tool_rejected`` or the status message says it was manually
  rejected; arguments recorded with no result is ``pending`` (content capture records both, so
  the tool never answered); else ``ok``.
* ``guardrail_check`` / ``apply_guardrail`` → ``hook`` (``gen_ai.guardrail.name``, ``block``
  when ``gen_ai.guardrail.triggered``). ``agent_handoff`` → a ``system`` ``message``.
* Anything else → ``unknown`` (its span name is the record type), or ``error`` when its status
  is ERROR. A model call or hook whose status is ERROR is followed by an ``error`` event.

Times are ``startTimeUnixNano`` as ISO 8601 UTC. :attr:`RunInfo.run_id` is the first trace id
(later ones are listed in ``extra["other_traces"]``); ``extra`` also names the service and the
instrumentation scopes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from sealog.policy.cost import Usage
from sealog.traces.adapters._base import MAX_PENDING, Adapter, Record, text_of
from sealog.traces.adapters._base import json_object as _json_object
from sealog.traces.adapters._base import nonempty as _str
from sealog.traces.classify import classify
from sealog.traces.events import Event, EventKind, Source

__all__ = ["UNKNOWN", "OTelAdapter", "any_value", "nanos_time"]

UNKNOWN = "unknown"
"""The provider or model of a usage whose span does not name it."""
_MODEL_OPS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
_HOOK_OPS = frozenset({"guardrail_check", "apply_guardrail"})
_QUIET_OPS = frozenset({"invoke_workflow", "create_agent"})
_ERROR = 2
_REJECTED_CALL = re.compile(r"for (\S+) was manually rejected")
_KEPT_IDS = 100


def any_value(value: Any) -> Any:  # noqa: PLR0911 - one answer per value type
    """An OTLP ``AnyValue`` as a plain value (None when it holds none)."""
    if not isinstance(value, Mapping):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return None
    if "doubleValue" in value:
        number = value["doubleValue"]
        return float(number) if isinstance(number, int | float | str) else None
    if "arrayValue" in value:
        items = (value["arrayValue"] or {}).get("values") or []
        return [any_value(v) for v in items]
    if "kvlistValue" in value:
        return attributes((value["kvlistValue"] or {}).get("values"))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes(items: Any) -> dict[str, Any]:
    """An OTLP ``KeyValue`` list as a dict."""
    out: dict[str, Any] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and isinstance(item.get("key"), str):
            out[item["key"]] = any_value(item.get("value"))
    return out


def nanos_time(value: Any) -> str | None:
    """Unix nanoseconds (an int or a decimal string) as ISO 8601 UTC with milliseconds."""
    nanos = _nanos(value)
    if nanos is None:
        return None
    seconds, rest = divmod(nanos, 1_000_000_000)
    try:
        moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _nanos(value: Any) -> int | None:
    try:
        nanos = int(value)
    except (TypeError, ValueError):
        return None
    return nanos if nanos > 0 else None


@dataclass(slots=True)
class _Span:
    """One span of a request, its attributes decoded."""

    raw: Mapping[str, Any]
    attrs: dict[str, Any]
    op: str
    order: int
    start: int

    @property
    def id(self) -> str | None:
        return _str(self.raw.get("spanId"))

    @property
    def parent(self) -> str | None:
        return _str(self.raw.get("parentSpanId"))

    @property
    def agent(self) -> str | None:
        """The agent this span invokes, if it is an ``invoke_agent`` span naming one."""
        return _str(self.attrs.get("gen_ai.agent.name")) if self.op == "invoke_agent" else None

    @property
    def failed(self) -> bool:
        status = self.raw.get("status")
        return isinstance(status, Mapping) and status.get("code") in {_ERROR, "STATUS_CODE_ERROR"}

    @property
    def message(self) -> str | None:
        status = self.raw.get("status")
        text = status.get("message") if isinstance(status, Mapping) else None
        return text if isinstance(text, str) and text else self._exception()

    def _exception(self) -> str | None:
        for event in self.raw.get("events") or ():
            if isinstance(event, Mapping) and event.get("name") == "exception":
                found = attributes(event.get("attributes")).get("exception.message")
                if isinstance(found, str):
                    return found
        return None


class OTelAdapter(Adapter):
    """Reads OTLP/JSON trace exports carrying OpenTelemetry GenAI spans."""

    name: ClassVar[str] = "otel"

    def __init__(self, path: str, *, keep_raw: bool = False) -> None:
        """Start with no request read."""
        super().__init__(path, keep_raw=keep_raw)
        self._actors: dict[str, str | None] = {}
        self._entry: tuple[int, str] | None = None

    @classmethod
    def sniff(cls, first: Sequence[Any]) -> bool:
        """Every record is an ``ExportTraceServiceRequest`` (``resourceSpans``)."""
        return bool(first) and all(
            isinstance(v, Mapping) and isinstance(v.get("resourceSpans"), list) for v in first
        )

    def feed(self, record: Record) -> Iterable[Event]:
        """The events of one export request, in span start order."""
        value = record.value
        if not isinstance(value, Mapping) or not isinstance(value.get("resourceSpans"), list):
            return [self.unknown(record, None)]
        spans = sorted(self._spans(value), key=lambda s: (s.start == 0, s.start, s.order))
        by_id: dict[str | None, _Span] = {s.id: s for s in spans if s.id is not None}
        actors = {s.id: self._actor(s, by_id) for s in spans if s.id is not None}
        usage_on_chat = any(s.op in _MODEL_OPS and _has_usage(s.attrs) for s in spans)
        out: list[Event] = []
        for span in spans:
            actor = actors.get(span.id) if span.id is not None else None
            out.extend(self._events(record, span, actor, by_id, totals=not usage_on_chat))
        for span_id, actor in actors.items():
            if span_id is not None:
                self._actors[span_id] = actor
        while len(self._actors) > MAX_PENDING:
            del self._actors[next(iter(self._actors))]
        return out

    # -- spans -------------------------------------------------------------------------------------

    def _spans(self, request: Mapping[str, Any]) -> Iterator[_Span]:
        order = 0
        for resource_spans in request["resourceSpans"]:
            if not isinstance(resource_spans, Mapping):
                continue
            resource = resource_spans.get("resource")
            self._resource(attributes(resource.get("attributes")) if isinstance(resource, Mapping)
                           else {})  # fmt: skip
            groups = resource_spans.get("scopeSpans") or resource_spans.get(
                "instrumentationLibrarySpans"  # OTLP before 0.15
            )
            for scope_spans in groups or ():
                if not isinstance(scope_spans, Mapping):
                    continue
                self._scope(scope_spans.get("scope") or scope_spans.get("instrumentationLibrary"))
                for raw in scope_spans.get("spans") or ():
                    if not isinstance(raw, Mapping):
                        continue
                    attrs = attributes(raw.get("attributes"))
                    name = str(raw.get("name") or "")
                    op = _str(attrs.get("gen_ai.operation.name")) or (name.split() or [""])[0]
                    yield _Span(raw, attrs, op, order, _nanos(raw.get("startTimeUnixNano")) or 0)
                    order += 1

    def _actor(self, span: _Span, by_id: Mapping[str | None, _Span]) -> str | None:
        """The agent of the nearest ``invoke_agent`` at or above ``span``."""
        current: _Span | None = span
        seen: set[str | None] = set()
        while current is not None and current.id not in seen:
            if current.agent is not None:
                return current.agent
            seen.add(current.id)
            parent = current.parent
            if parent is not None and parent not in by_id and parent in self._actors:
                return self._actors[parent]
            current = by_id.get(parent)
        return None

    def _events(  # noqa: PLR0911 - one answer per operation
        self,
        record: Record,
        span: _Span,
        actor: str | None,
        by_id: Mapping[str | None, _Span],
        *,
        totals: bool,
    ) -> list[Event]:
        time = nanos_time(span.raw.get("startTimeUnixNano"))
        self._times(span, time)
        source = Source(self.path, record.line, span.op or _str(span.raw.get("name")))
        own = _str(span.attrs.get("gen_ai.agent.name"))
        named = actor if actor is not None else own
        if span.op == "invoke_agent":
            return self._invoke_agent(span, source, time, by_id, totals=totals)
        if span.op in _QUIET_OPS:
            if span.op == "invoke_workflow":
                workflow = _str(span.attrs.get("gen_ai.workflow.name"))
                self._workflow(workflow or _str(span.raw.get("name")))
            return self._failure(span, source, time, actor)
        if span.op in _MODEL_OPS:
            return [self._model_call(span, source, time, named),
                    *self._failure(span, source, time, named)]  # fmt: skip
        if span.op == "execute_tool":
            return self._tool(span, source, time, named)
        if span.op in _HOOK_OPS:
            triggered = span.attrs.get("gen_ai.guardrail.triggered") is True
            hook = self._event("hook", span, source, time, named,
                               tool=_str(span.attrs.get("gen_ai.guardrail.name")),
                               decision="block" if triggered else "allow",
                               reason="tripwire triggered" if triggered else None)  # fmt: skip
            return [hook, *self._failure(span, source, time, named)]
        if span.op in {"agent_handoff", "handoff"}:
            text = (f"handoff from {span.attrs.get('gen_ai.handoff.from_agent')} "
                    f"to {span.attrs.get('gen_ai.handoff.to_agent')}")  # fmt: skip
            return [self._event("message", span, source, time, named, role="system", text=text)]
        if span.failed:
            return self._failure(span, source, time, actor)
        unknown = Source(self.path, record.line, _str(span.raw.get("name")) or span.op or None)
        return [self._event("unknown", span, unknown, time, actor)]

    def _invoke_agent(
        self,
        span: _Span,
        source: Source,
        time: str | None,
        by_id: Mapping[str | None, _Span],
        *,
        totals: bool,
    ) -> list[Event]:
        agent = span.agent
        if agent is None:
            self._workflow(_str(span.raw.get("name")))
            return self._failure(span, source, time, None)
        agents = self.run.extra.setdefault("agents", [])
        if agent not in agents and len(agents) < _KEPT_IDS:
            agents.append(agent)
        if span.start and (self._entry is None or span.start < self._entry[0]):
            self._entry = (span.start, agent)
            self.run.agent = agent
        elif self.run.agent is None:
            self.run.agent = agent
        if isinstance(span.attrs.get("gen_ai.conversation.id"), str):
            self.run.extra.setdefault("conversation_id", span.attrs["gen_ai.conversation.id"])
        out: list[Event] = []
        if totals and _has_usage(span.attrs) and not _agent_with_usage_above(span, by_id):
            call = self._model_call(span, source, time, agent)
            call.reason = "agent total from invoke_agent: no chat span records usage"
            out.append(call)
        return [*out, *self._failure(span, source, time, agent)]

    def _model_call(
        self, span: _Span, source: Source, time: str | None, actor: str | None
    ) -> Event:
        attrs = span.attrs
        model = _str(attrs.get("gen_ai.response.model")) or _str(attrs.get("gen_ai.request.model"))
        if model is None and span.op in _MODEL_OPS:
            words = str(span.raw.get("name") or "").split(maxsplit=1)
            model = words[1] if len(words) == 2 else None  # noqa: PLR2004 - "chat <model>"
        if model is not None and span.op in _MODEL_OPS:
            self.run.model = self.run.model or model
        provider = _str(attrs.get("gen_ai.provider.name")) or _str(attrs.get("gen_ai.system"))
        return self._event("model_call", span, source, time, actor, model=model,
                           usage=_usage(attrs, provider, model))  # fmt: skip

    def _tool(
        self, span: _Span, source: Source, time: str | None, actor: str | None
    ) -> list[Event]:
        attrs = span.attrs
        tool = _str(attrs.get("gen_ai.tool.name"))
        if tool is None:
            words = str(span.raw.get("name") or "").split(maxsplit=1)
            tool = words[1] if len(words) == 2 else None  # noqa: PLR2004 - "execute_tool <name>"
        raw_args = attrs.get("gen_ai.tool.call.arguments")
        args = _json_object(raw_args)
        freeform = raw_args if isinstance(raw_args, str) and args is None else None
        found = classify(tool, args, freeform)
        result = attrs.get("gen_ai.tool.call.result")
        message = span.message
        rejected = attrs.get("error.type") == "tool_rejected" or "manually rejected" in (
            message or ""
        )
        if span.failed:
            status = "denied" if rejected else "error"
        else:
            status = "pending" if result is None and raw_args is not None else "ok"
        call_id = _str(attrs.get("gen_ai.tool.call.id"))
        if call_id is None and rejected:
            match = _REJECTED_CALL.search(message or "")
            call_id = match.group(1) if match else None
        event = self._event(
            found.kind, span, source, time, actor, tool=tool, call_id=call_id,
            args=args if args is not None else ({"_raw": freeform} if freeform else None),
            result=text_of(result), status=status, command=found.command, paths=found.paths,
            url=found.url, reason=message if span.failed else None,
        )  # fmt: skip
        if status != "denied":
            return [event]
        denial = Event("permission", time=time, source=source, actor=actor, tool=tool,
                       call_id=call_id, decision="denied", reason=message)  # fmt: skip
        return [event, denial]

    def _failure(
        self, span: _Span, source: Source, time: str | None, actor: str | None
    ) -> list[Event]:
        if not span.failed:
            return []
        text = span.message or "span status ERROR"
        reason = _str(span.attrs.get("error.type"))
        return [self._event("error", span, source, time, actor, text=text, reason=reason)]

    def _event(
        self,
        kind: EventKind,
        span: _Span,
        source: Source,
        time: str | None,
        actor: str | None,
        **fields: Any,
    ) -> Event:
        return Event(kind, time=time, source=source, actor=actor, raw=self.raw(span.raw), **fields)

    # -- run info ----------------------------------------------------------------------------------

    def _times(self, span: _Span, started: str | None) -> None:
        run = self.run
        ended = nanos_time(span.raw.get("endTimeUnixNano"))
        if started is not None and (run.started is None or started < run.started):
            run.started = started
        if ended is not None and (run.ended is None or ended > run.ended):
            run.ended = ended
        trace_id = _str(span.raw.get("traceId"))
        if trace_id is None:
            return
        if run.run_id is None:
            run.run_id = trace_id
        elif trace_id != run.run_id:
            others = run.extra.setdefault("other_traces", [])
            if trace_id not in others and len(others) < _KEPT_IDS:
                others.append(trace_id)

    def _workflow(self, name: str | None) -> None:
        if name is not None:
            self.run.extra.setdefault("workflow", name)

    def _resource(self, attrs: Mapping[str, Any]) -> None:
        service = _str(attrs.get("service.name"))
        if service is not None:
            self.run.extra.setdefault("service", service)

    def _scope(self, scope: Any) -> None:
        if not isinstance(scope, Mapping) or _str(scope.get("name")) is None:
            return
        label = " ".join(str(p) for p in (scope["name"], scope.get("version")) if p)
        scopes = self.run.extra.setdefault("scopes", [])
        if label not in scopes and len(scopes) < _KEPT_IDS:
            scopes.append(label)
        if self.run.tool_version is None and scope.get("version"):
            self.run.tool_version = label


def _has_usage(attrs: Mapping[str, Any]) -> bool:
    return "gen_ai.usage.input_tokens" in attrs or "gen_ai.usage.output_tokens" in attrs


def _agent_with_usage_above(span: _Span, by_id: Mapping[str | None, _Span]) -> bool:
    seen: set[str | None] = {span.id}
    current = by_id.get(span.parent)
    while current is not None and current.id not in seen:
        if current.agent is not None and _has_usage(current.attrs):
            return True
        seen.add(current.id)
        current = by_id.get(current.parent)
    return False


def _tokens(attrs: Mapping[str, Any], key: str) -> int:
    value = attrs.get(f"gen_ai.usage.{key}")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _usage(attrs: Mapping[str, Any], provider: str | None, model: str | None) -> Usage | None:
    if not _has_usage(attrs):
        return None
    total = _tokens(attrs, "input_tokens")
    read = _tokens(attrs, "cache_read.input_tokens")
    write = _tokens(attrs, "cache_creation.input_tokens")
    uncached = total - read - write if read + write <= total else total
    return Usage(provider or UNKNOWN, model or UNKNOWN, uncached,
                 _tokens(attrs, "output_tokens"), read, write)  # fmt: skip
