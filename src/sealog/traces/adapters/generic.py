"""Plain JSON traces: a run object with an event list, a JSON array or JSONL of events.

This is the `tracegate <https://pypi.org/project/tracegate/>`_ trace format, so its files work
as they are: a top-level object ``{"id", "agent", "cost_usd", "runtime_minutes", "events": [...]}``,
a JSON array of events or JSONL of events, each event ``{"type": "file_read", "path": ...}``,
``{"type": "tool_call", "tool": "shell", "input": {"command": ...}}``, ``{"type": "git_action",
"tool": "github", "action": "create_pr"}`` and so on. It is also the fallback for any home-made
log of the same spirit; detection tries it last.

**Run.** A top-level object holding a list under ``events``, ``steps``, ``spans`` or ``messages``
(the first found) is a run: ``id``/``run_id``/``session_id``/``trace_id`` → ``run_id``,
``agent``/``agent_name``/``name`` → ``agent``, ``model``, ``cwd``, ``started``/``started_at``/
``start_time`` and ``ended``/``ended_at``/``end_time``, ``cost_usd``/``cost``/``total_cost`` →
:attr:`RunInfo.cost`; ``runtime_seconds`` (or ``runtime_minutes``) and other scalar fields go to
:attr:`RunInfo.extra`. Its events' :attr:`Source.line` is their position in that list.

**Events.** The type is ``type``, ``kind``, ``event``, ``event_type`` or ``span_type``. Named
kinds map directly (``file_read``/``read_file``, ``file_write``, ``file_edit``, ``shell``/
``shell_command``, ``network_fetch``/``web_fetch``, ``git_action``/``github``, ``model_call``/
``llm_call``/``llm``, ``message``/``user_message``…, ``permission``, ``hook``/``guardrail``,
``error``); a tool call (``tool_call``, ``function_call``, ``tool_use``, or any event naming a
tool) is classified by :func:`~sealog.traces.classify.classify` from its tool and arguments
(and, as tracegate counts them, the tools ``github``, ``gh`` and ``git`` are ``git``).
Field spellings: tool ``tool``/``tool_name``/``name``/``function.name``; arguments ``args``/
``arguments``/``input``/``parameters``/``params`` (an object, or a JSON string); result
``result``/``output``/``observation``/``stdout``; time ``timestamp``/``time``/``ts``/
``created_at``/``start_time`` (ISO 8601 or Unix seconds, ms, µs or ns); ``path``/``file``/
``paths``; ``command``/``cmd``; ``url``; ``model``; ``usage`` (``input_tokens``/``prompt_tokens``,
``output_tokens``/``completion_tokens``, cache reads and writes); ``cost``/``cost_usd``;
``status`` or ``error``; ``agent``/``actor`` → :attr:`Event.actor`. An event whose type is not
known and names no tool is kept as ``unknown``.

**Results.** A tool call that carries a call id (``call_id``, ``tool_call_id``, ``tool_use_id``)
but no result or status waits for a later ``tool_result`` (``function_call_output``, or a
``{"role": "tool", "tool_call_id"}`` message) with that id, which completes it; events keep
their input order meanwhile (at most :data:`~sealog.traces.adapters._base.MAX_PENDING` wait). A
call that never gets one ends ``pending`` if the file holds results at all, else with no status.
OpenAI chat messages (``{"role": "assistant", "tool_calls": [...]}``) read the same way.

**Usage.** OpenAI spellings (``prompt_tokens``, ``*_tokens_details.cached_tokens``) count cached
tokens inside the input and are split; other spellings (``cache_read_input_tokens``,
``cache_read_tokens``) are read as beside it. The provider is ``provider`` if given, else told
from the model's name (``gpt-``/``o1``… → openai, ``claude`` → anthropic, ``gemini`` → google),
else :data:`UNKNOWN`, as is a model that is not named.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal

from sealog.policy.cost import Usage
from sealog.traces.adapters._base import MAX_PENDING, Adapter, Record, text_of, utc_time
from sealog.traces.adapters._base import nonempty as _str
from sealog.traces.classify import classify
from sealog.traces.events import TOOL_KINDS, Event, EventKind, RunInfo, Status

__all__ = ["UNKNOWN", "GenericAdapter"]

UNKNOWN = "unknown"
"""The provider or model of a usage whose event does not name it."""
CONTAINERS = ("events", "steps", "spans", "messages")
_TYPE_KEYS = ("type", "kind", "event", "event_type", "span_type")
_TOOL_KEYS = ("tool", "tool_name", "name")
_ARGS_KEYS = ("args", "arguments", "input", "parameters", "params", "tool_input")
_RESULT_KEYS = ("result", "output", "tool_output", "observation", "stdout", "response")
_TIME_KEYS = ("timestamp", "time", "ts", "created_at", "start_time", "started_at", "startTime")
_CALL_KEYS = ("call_id", "tool_call_id", "tool_use_id")
_FIELD_KEYS = ("command", "cmd", "path", "file", "file_path", "paths", "url", "query")

_Kind = EventKind | Literal["tool", "result"]


def _table(groups: Mapping[str, str]) -> dict[str, str]:
    return {name: answer for answer, names in groups.items() for name in names.split()}


_KINDS: dict[str, _Kind] = _table({  # type: ignore[assignment]
    "file_read": "file_read read_file read fs_read file_open",
    "file_write": "file_write write_file write file_create create_file",
    "file_edit": "file_edit edit_file edit patch apply_patch",
    "shell": "shell shell_command command exec bash terminal run_command",
    "network_fetch": "network_fetch web_fetch webfetch fetch http_request http web_search browse",
    "git": "git git_action github gh",
    "tool": "tool_call tool tool_use function_call function action tool_start mcp",
    "result": "tool_result tool_output function_call_output function_result tool_response "
              "observation tool_end",
    "model_call": "model_call llm_call llm llm_request llm_end generation completion chat model",
    "message": "message user_message assistant_message system_message developer_message prompt",
    "permission": "permission approval permission_request",
    "hook": "hook guardrail",
    "error": "error exception failure",
})  # fmt: skip
_STATUS: dict[str, str] = _table(
    {
        "ok": "ok success succeeded successful completed complete done pass passed finished",
        "error": "error errored failed failure fail exception timeout crashed",
        "denied": "denied rejected blocked refused forbidden not_allowed",
        "pending": "pending waiting requested running in_progress awaiting_approval",
    }
)
_PERMISSION: dict[str, str] = _table(
    {
        "granted": "allow allowed approve approved granted accept accepted yes",
        "denied": "deny denied reject rejected block blocked refuse refused no",
        "requested": "ask asked request requested pending prompt",
    }
)
_HOOK: dict[str, str] = _table(
    {
        "allow": "allow allowed approve approved pass passed continue ok",
        "block": "block blocked deny denied reject rejected stop halt",
    }
)
_PROVIDERS = (("gpt-", "openai"), ("o1", "openai"), ("o3", "openai"), ("o4", "openai"),
              ("chatgpt", "openai"), ("text-embedding", "openai"), ("claude", "anthropic"),
              ("gemini", "google"))  # fmt: skip
_KEPT_EXTRA = 20
_GIT_TOOLS = frozenset({"git", "github", "gh"})
_EVENTISH = frozenset(
    {*_TOOL_KEYS[:2], *_ARGS_KEYS, *_RESULT_KEYS, *_TIME_KEYS, *_CALL_KEYS, *_FIELD_KEYS,
     "content", "text", "status", "usage", "model", "error", "agent", "actor", "turn"}
)  # fmt: skip
"""Fields whose presence makes a record with an unfamiliar type an event (sniffing)."""


@dataclass(slots=True)
class _Held:
    """An event waiting (with those after it) for its call's result."""

    event: Event
    ready: bool = True


class GenericAdapter(Adapter):
    """Reads plain JSON/JSONL event traces (the tracegate format and its relatives)."""

    name: ClassVar[str] = "generic"

    def __init__(self, path: str, *, keep_raw: bool = False) -> None:
        """Start with no events read."""
        super().__init__(path, keep_raw=keep_raw)
        self._queue: deque[_Held] = deque()
        self._calls: dict[str, _Held] = {}
        self._results = False
        self._runs = 0
        self._denial: tuple[str | None, str | None] | None = None

    @classmethod
    def sniff(cls, first: Sequence[Any]) -> bool:
        """Objects only, none of another format's, at least one an event or a run of events."""
        if not first or not all(isinstance(v, Mapping) and not _foreign(v) for v in first):
            return False
        return any(_event_like(v) or _run_like(v) for v in first)

    def feed(self, record: Record) -> Iterable[Event]:
        """The events this record (an event, or a run object holding events) completes."""
        value = record.value
        items = _container(value) if isinstance(value, Mapping) else None
        if items is None:
            self._item(record)
        else:
            self._meta(value)
            for position, item in enumerate(items, 1):
                self._item(Record(position, item))
        return self._drain()

    def finish(self) -> Iterable[Event]:
        """Calls that never got their result: ``pending`` if the file holds results at all."""
        for held in self._queue:
            self._give_up(held)
        return self._drain()

    # -- events ------------------------------------------------------------------------------------

    def _item(self, record: Record) -> None:
        value = record.value
        if not isinstance(value, Mapping):
            self._emit(self.unknown(record, type(value).__name__))
            return
        kind, label = _kind_of(value)
        if kind == "result" or (kind == "message" and value.get("role") == "tool"):
            self._result(record, value, label)
        elif kind == "message":
            self._message(record, value, label)
        elif kind is None:
            self._emit(self.unknown(record, label))
        else:
            self._emit(self._event(record, value, kind, label))

    def _event(
        self, record: Record, value: Mapping[str, Any], kind: _Kind, label: str | None
    ) -> Event:
        event = Event(
            "unknown", time=_time(value), source=self.source(record, label),
            actor=_actor(value), reason=_str(value.get("reason")), raw=self.raw(value),
        )  # fmt: skip
        if kind in {"model_call", "permission", "hook", "error"}:
            _fill_other(event, value, kind)
        else:
            _fill_tool(event, value, kind)
        return event

    def _message(self, record: Record, value: Mapping[str, Any], label: str | None) -> None:
        role = _str(value.get("role"))
        if role is None and label and label.endswith("_message"):
            role = label.removesuffix("_message")
        text = _text(value)
        time, actor, source = _time(value), _actor(value), self.source(record, label)
        calls = value.get("tool_calls")
        if text is not None or not isinstance(calls, list):
            self._emit(Event("message", time=time, source=source, actor=actor, role=role,
                             text=text, raw=self.raw(value)))  # fmt: skip
        for call in calls if isinstance(calls, list) else ():
            if isinstance(call, Mapping):
                function = call.get("function")
                spec = {**call, **function} if isinstance(function, Mapping) else dict(call)
                spec.setdefault("call_id", call.get("id"))
                spec.pop("type", None)
                event = self._event(record, spec, "tool", label)
                event.time, event.actor = event.time or time, event.actor or actor
                self._emit(event)

    def _result(self, record: Record, value: Mapping[str, Any], label: str | None) -> None:
        self._results = True
        call_id = _first_str(value, _CALL_KEYS) or _str(value.get("id"))
        held = self._calls.pop(call_id, None) if call_id else None
        if held is None:
            self._emit(self.unknown(record, label or "tool_result"))
            return
        event = held.event
        event.result = text_of(_first(value, (*_RESULT_KEYS, "content", "text")))
        event.status = _status(value, event.result, fallback="ok")
        event.exit_code = event.exit_code if event.exit_code is not None else _exit_code(value)
        event.reason = event.reason or _error_text(value)
        if self.keep_raw:
            event.raw = [event.raw, value]
        held.ready = True

    # -- run and order -----------------------------------------------------------------------------

    def _meta(self, value: Mapping[str, Any]) -> None:
        self._runs += 1
        run = self.run
        if self._runs > 1:
            run.extra["runs"] = self._runs
            return
        run.run_id = _first_str(value, ("id", "run_id", "session_id", "trace_id"))
        run.agent = _agent_name(value)
        run.model = _str(value.get("model"))
        run.cwd = _str(value.get("cwd"))
        run.started = _time(value, ("started", "started_at", "start_time", "start"))
        run.ended = _time(value, ("ended", "ended_at", "end_time", "end"))
        run.cost = _money(_first(value, ("cost_usd", "cost", "total_cost")))
        _extra(run, value)

    def _emit(self, event: Event) -> None:
        held = _Held(event)
        if (
            event.kind != "unknown"
            and event.call_id
            and event.result is None
            and (event.status is None and event.call_id not in self._calls)
        ):
            held.ready = False
            self._calls[event.call_id] = held
        self._queue.append(held)
        run = self.run
        if event.kind == "model_call" and run.model is None:
            run.model = event.model
        if event.time is not None:
            if run.started is None or event.time < run.started:
                run.started = event.time
            if run.ended is None or event.time > run.ended:
                run.ended = event.time

    def _give_up(self, held: _Held) -> None:
        if not held.ready:
            held.ready = True
            self._calls.pop(held.event.call_id or "", None)
            held.event.status = "pending" if self._results else None

    def _drain(self) -> list[Event]:
        out: list[Event] = []
        while self._queue and (self._queue[0].ready or len(self._queue) > MAX_PENDING):
            held = self._queue.popleft()
            self._give_up(held)
            event = held.event
            out.append(event)
            if event.kind == "permission" and event.decision == "denied":
                self._denial = (event.tool, event.call_id)
            elif event.kind in TOOL_KINDS and event.status == "denied":
                out.extend(self._denied(event))
            elif event.kind in TOOL_KINDS:
                self._denial = None  # a recorded refusal belongs to the next call only
        return out

    def _denied(self, event: Event) -> list[Event]:
        """The ``permission`` event a refused call implies, unless the source just wrote it."""
        recorded, self._denial = self._denial, None
        same_call = recorded is not None and recorded[1] in {None, event.call_id}
        if recorded is not None and recorded[0] in {None, event.tool} and same_call:
            return []
        return [Event("permission", time=event.time, source=event.source, actor=event.actor,
                      tool=event.tool, call_id=event.call_id, decision="denied",
                      reason=event.reason)]  # fmt: skip


# -- reading one event -----------------------------------------------------------------------------


def _kind_of(value: Mapping[str, Any]) -> tuple[_Kind | None, str | None]:
    """The event's kind (None: unknown) and its type as the source spells it."""
    label = _first_str(value, _TYPE_KEYS)
    kind = _KINDS.get(label.strip().lower().replace("-", "_").replace(".", "_")) if label else None
    if kind is not None:
        return kind, label
    if label is None and isinstance(value.get("role"), str):
        return "message", None
    named = _tool_name(value, bare=label is None and _first(value, _ARGS_KEYS) is not None)
    if named is not None or (label is None and _first(value, ("command", "cmd"))):
        return "tool", label
    if label is None and (isinstance(value.get("model"), str) or "usage" in value):
        return "model_call", None
    return None, label


def _fill_tool(event: Event, value: Mapping[str, Any], kind: _Kind) -> None:
    tool = _tool_name(value)
    args, freeform = _args(value)
    probe = {k: value[k] for k in _FIELD_KEYS if k in value and value[k] is not None}
    probe.update(args or {})
    found = classify(tool, probe, freeform)
    final: EventKind = found.kind if kind == "tool" else kind  # type: ignore[assignment]
    if final in {"tool_call", "shell"} and (tool or "").lower() in _GIT_TOOLS:
        final = "git"  # tracegate's GitHub category: tools github, gh (and git)
    if isinstance(value.get("action"), str) and (args is None or "action" not in args):
        args = {**(args or {}), "action": value["action"]}
    event.kind, event.tool = final, tool
    event.call_id = _first_str(value, _CALL_KEYS)
    event.args = args if args is not None else ({"_raw": freeform} if freeform else None)
    event.result = text_of(_first(value, _RESULT_KEYS))
    event.exit_code = _exit_code(value)
    event.status = _status(value, event.result, fallback=None)
    if event.status is None and event.exit_code not in {None, 0}:
        event.status = "error"
    event.reason = event.reason or _error_text(value)
    command = _first(value, ("command", "cmd"))
    event.command = _command(command) or found.command
    if final == "shell" and event.command is None:
        event.command = _command((args or {}).get("command") or (args or {}).get("cmd"))
    paths = _paths(value) or found.paths
    if final in {"file_read", "file_write", "file_edit"} and not paths and args:
        paths = classify("read", args).paths
    event.paths = paths
    event.url = _str(value.get("url")) or found.url
    if final == "network_fetch" and event.url is None:
        event.url = _str(value.get("query")) or (classify("fetch", args).url if args else None)


def _fill_other(event: Event, value: Mapping[str, Any], kind: _Kind) -> None:
    event.kind = kind  # type: ignore[assignment]
    decision = _str(_first(value, ("decision", "outcome", "result", "status")))
    tool = _tool_name(value)
    if kind == "model_call":
        model = _str(value.get("model")) or _str(value.get("model_name"))
        event.model, event.usage = model, _usage(value, model)
        event.cost = _money(_first(value, ("cost_usd", "cost", "total_cost")))
    elif kind == "permission":
        event.tool, event.call_id = tool, _first_str(value, _CALL_KEYS)
        event.decision = _PERMISSION.get((decision or "").lower(), decision)
    elif kind == "hook":
        event.tool = tool or _str(value.get("hook"))
        event.decision = _HOOK.get((decision or "").lower(), decision)
        event.text = text_of(_first(value, ("output", "text", "message")))
    else:
        event.text = _error_text(value) or _text(value)


def _tool_name(value: Mapping[str, Any], *, bare: bool = True) -> str | None:
    """The tool's name; a bare ``name`` counts only when ``bare`` (else it may name anything)."""
    function = value.get("function")
    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
        return str(function["name"])
    return _first_str(value, _TOOL_KEYS if bare else _TOOL_KEYS[:2])


def _args(value: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The call's arguments as an object, or the freeform text they were given as."""
    function = value.get("function")
    raw = _first(function, ("arguments",)) if isinstance(function, Mapping) else None
    raw = raw if raw is not None else _first(value, _ARGS_KEYS)
    if isinstance(raw, Mapping):
        return dict(raw), None
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return None, raw
        return (parsed, None) if isinstance(parsed, dict) else (None, raw)
    return None, None


def _paths(value: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for key in ("path", "file", "file_path", "paths", "files"):
        item = value.get(key)
        if isinstance(item, str) and item:
            found.append(item)
        elif isinstance(item, list):
            found.extend(p for p in item if isinstance(p, str) and p)
    return tuple(dict.fromkeys(found))


def _status(
    value: Mapping[str, Any], result: str | None, *, fallback: Status | None
) -> Status | None:
    status = value.get("status")
    if isinstance(status, str):
        found = _STATUS.get(status.strip().lower().replace(" ", "_"))
        if found is not None:
            return found  # type: ignore[return-value]
    for key in ("ok", "success"):
        if isinstance(value.get(key), bool):
            return "ok" if value[key] else "error"
    if value.get("is_error") is True or value.get("error"):
        return "error"
    return "ok" if result is not None else fallback


def _usage(value: Mapping[str, Any], model: str | None) -> Usage | None:
    raw = value.get("usage") or value.get("token_usage")
    usage: Mapping[str, Any] = raw if isinstance(raw, Mapping) else value
    total = _first(usage, ("input_tokens", "prompt_tokens", "tokens_in"))
    output = _first(usage, ("output_tokens", "completion_tokens", "tokens_out"))
    if total is None and output is None:
        return None
    details = _first(usage, ("input_tokens_details", "prompt_tokens_details"))
    inside = _int(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
    if not inside and "prompt_tokens" in usage:
        inside = _int(usage.get("cached_tokens"))
    inside = inside or _int(usage.get("cached_input_tokens"))
    beside = _first(usage, ("cache_read_input_tokens", "cache_read_tokens", "cached_tokens"))
    read = inside or _int(beside)
    write = _first(usage, ("cache_creation_input_tokens", "cache_write_tokens",
                           "cache_creation_tokens"))  # fmt: skip
    total = _int(total)
    uncached = total - inside if inside <= total else total
    provider = _str(value.get("provider")) or _str(value.get("model_provider"))
    if provider is None and model is not None:
        provider = next((p for prefix, p in _PROVIDERS if model.lower().startswith(prefix)), None)
    return Usage(provider or UNKNOWN, model or UNKNOWN, uncached, _int(output), read, _int(write))


# -- small readers ---------------------------------------------------------------------------------


def _first(value: Any, keys: Iterable[str]) -> Any:
    if not isinstance(value, Mapping):
        return None
    return next((value[k] for k in keys if value.get(k) is not None), None)


def _first_str(value: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    return next((str(value[k]) for k in keys if isinstance(value.get(k), str) and value[k]), None)


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else 0


def _text(value: Mapping[str, Any]) -> str | None:
    found = _first(value, ("text", "content", "message", "body"))
    return text_of(found) if found not in ("", []) else None


def _error_text(value: Mapping[str, Any]) -> str | None:
    error = value.get("error")
    if isinstance(error, Mapping):
        return text_of(error.get("message") or error)
    if isinstance(error, str) and error:
        return error
    return _str(value.get("message")) if value.get("type") in {"error", "exception"} else None


def _exit_code(value: Mapping[str, Any]) -> int | None:
    code = _first(value, ("exit_code", "exitCode", "returncode", "return_code"))
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _command(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return classify("shell", {"command": value}).command
    return None


def _actor(value: Mapping[str, Any]) -> str | None:
    return _first_str(value, ("agent", "actor", "agent_name")) or _agent_name(value, nested=True)


def _agent_name(value: Mapping[str, Any], *, nested: bool = False) -> str | None:
    agent = value.get("agent")
    if isinstance(agent, Mapping):
        return _str(agent.get("name"))
    if nested:
        return None
    return _first_str(value, ("agent", "agent_name", "name"))


def _time(value: Mapping[str, Any], keys: Iterable[str] = _TIME_KEYS) -> str | None:
    return utc_time(_first(value, keys))


def _money(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value).strip().lstrip("$"))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _extra(run: RunInfo, value: Mapping[str, Any]) -> None:
    used = {"id", "run_id", "session_id", "trace_id", "agent", "agent_name", "name", "model",
            "cwd", "started", "started_at", "start_time", "start", "ended", "ended_at",
            "end_time", "end", "cost_usd", "cost", "total_cost", *CONTAINERS}  # fmt: skip
    if isinstance(value.get("runtime_minutes"), int | float) and "runtime_seconds" not in value:
        run.extra["runtime_seconds"] = value["runtime_minutes"] * 60
    for key, item in value.items():
        if len(run.extra) >= _KEPT_EXTRA:
            break
        if key not in used and isinstance(item, str | int | float | bool):
            run.extra.setdefault(key, item[:200] if isinstance(item, str) else item)


# -- detection -------------------------------------------------------------------------------------


def _container(value: Mapping[str, Any]) -> list[Any] | None:
    return next((value[k] for k in CONTAINERS if isinstance(value.get(k), list)), None)


def _event_like(value: Mapping[str, Any]) -> bool:
    """An event: a known type, or a type with an event's fields, or a tool call or a message."""
    label = _first_str(value, _TYPE_KEYS)
    if label is not None:
        known = label.strip().lower().replace("-", "_").replace(".", "_") in _KINDS
        return known or any(k in value for k in _EVENTISH)
    if _tool_name(value, bare=False) is not None or _first_str(value, ("command", "cmd")):
        return True
    if isinstance(value.get("role"), str):
        return any(k in value for k in ("content", "text", "tool_calls"))
    return isinstance(value.get("model"), str) and isinstance(value.get("usage"), Mapping)


def _run_like(value: Mapping[str, Any]) -> bool:
    items = _container(value)
    if items is None:
        return False
    return not items or (isinstance(items[0], Mapping) and _event_like(items[0]))


def _foreign(value: Mapping[str, Any]) -> bool:
    """Another adapter's record: an OTLP export, an OpenAI Agents trace, span or ingest body."""
    if "resourceSpans" in value or "resource_spans" in value:
        return True
    if value.get("object") in {"trace", "trace.span"}:
        return True
    data = value.get("data")
    return (
        isinstance(data, list)
        and bool(data)
        and isinstance(data[0], Mapping)
        and data[0].get("object") in {"trace", "trace.span"}
    )
