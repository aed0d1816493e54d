"""Codex CLI rollouts (``$CODEX_HOME/sessions/…/rollout-*.jsonl``) as events.

Each line of a rollout is ``{timestamp, type, payload}`` (0.169 adds ``ordinal``, and
``metadata`` on ``response_item`` lines). The line types read here:

* ``session_meta`` — the run: ids, ``cli_version``, ``cwd``, ``source`` (a sub-agent's name).
* ``turn_context`` — one a turn: the model, ``sandbox_policy`` and ``approval_policy``. The run
  keeps the first of each; a later change is listed in ``RunInfo.extra`` (``sandbox_changes`` …).
* ``response_item`` — the model's items: ``message``, ``function_call`` / ``custom_tool_call`` /
  ``local_shell_call`` / ``web_search_call`` and the ``*_output`` answering a call.
* ``event_msg`` — what the harness reported: ``token_count``, ``item_completed`` (0.169), and the
  older ``user_message``, ``agent_message``, ``exec_command_end``, ``patch_apply_*`` …
* ``token_usage_record`` (0.169) — one model response's usage; ``compacted``; ``world_state``.

Three things need care:

1. **Said twice.** A user message is both a ``response_item`` and an event (``user_message``,
   0.169's ``item_completed/UserMessage``); assistant text likewise (``agent_message`` /
   ``AgentMessage``). The first copy is emitted, its twin from the other stream is not.
   Harness-injected context (``<environment_context>`` …) and the compaction summary are
   role ``system``: neither the user nor the agent said them.
2. **Tokens.** ``token_count.info.total_token_usage`` is cumulative over the thread, and lines
   repeat. Each ``token_usage_record`` is one response's usage; a ``token_count`` adds a model
   call only for what the cumulative total holds beyond the usage already emitted. So a duplicate
   line adds nothing, a rollout without records (pre-0.169) gets one call per new total, and the
   run's sum equals the last cumulative total either way. Codex's ``input_tokens`` includes the
   cached tokens; :class:`Usage` counts them apart.
3. **Denials.** A call the harness refused (``approval policy is Never; reject command``,
   ``rejected by user``, the guardian's ``Rejected(…)``, ``patch rejected: …``) or a command the
   sandbox blocked (Codex's own test: a failure whose output says ``Read-only file system``,
   ``Operation not permitted`` …) is status ``denied`` plus a ``permission`` event ``denied``. An
   escalation (``sandbox_permissions: "require_escalated"``, or ``with_escalated_permissions``
   before 0.169) is a ``permission`` event ``requested`` with the justification as its reason;
   one that then ran was granted, and gets a ``permission`` event ``granted``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sealog.policy.cost import Usage
from sealog.traces.adapters._base import MAX_PENDING, Adapter, Record, text_of
from sealog.traces.adapters._base import nonempty as _str
from sealog.traces.classify import classify, command_text, patch_paths
from sealog.traces.events import Event, EventKind, Source, Status

__all__ = ["CodexAdapter"]

_LINE_TYPES = frozenset(
    {"session_meta", "turn_context", "response_item", "event_msg", "compacted", "world_state",
     "token_usage_record"}
)  # fmt: skip
_QUIET_ITEMS = frozenset(
    {"reasoning", "ghost_snapshot", "compaction", "compaction_summary", "other"}
)  # fmt: skip
"""``response_item`` types that say nothing an event model holds (reasoning, snapshots)."""
_QUIET_EVENTS = frozenset(
    {"task_started", "task_complete", "turn_started", "turn_complete", "turn_aborted",
     "thread_settings_applied", "session_configured", "agent_reasoning", "agent_reasoning_delta",
     "agent_reasoning_raw_content", "agent_reasoning_raw_content_delta",
     "agent_reasoning_section_break", "agent_message_delta", "exec_command_begin",
     "exec_command_output_delta", "web_search_begin", "mcp_tool_call_begin", "mcp_tool_call_end",
     "mcp_list_tools_response", "turn_diff", "plan_update", "context_compacted",
     "entered_review_mode", "exited_review_mode", "background_event", "shutdown_complete",
     "item_started", "item_updated", "view_image_tool_call", "warning", "deprecation_notice",
     "thread_name_updated", "undo_started", "undo_completed", "thread_rolled_back"}
)  # fmt: skip
"""``event_msg`` subtypes read for nothing: progress, deltas, the things a ``response_item``
already says (an MCP call is its ``function_call``)."""
_QUIET_THINGS = frozenset({"Reasoning", "ContextCompaction", "McpToolCall", "Plan", "TodoList"})
_HARNESS_PREFIXES = (
    "<environment_context>", "<user_instructions>", "# AGENTS.md instructions", "<INSTRUCTIONS>",
    "<user_shell_command>", "<turn_aborted>", "<subagent_notification>",
    "<permissions instructions>", "<skills_instructions>",
)  # fmt: skip
_HARNESS_KINDS = frozenset({"environment_context", "user_instructions"})

_HEADER = re.compile(
    r"\A(?:(?:Chunk ID|Wall time|Process exited with code|Exit code|Original token count"
    r"|Process running with session ID|Total output lines)\b[^\n]*\n)+Output:\n?"
)
"""The head of an exec result in text (0.169's unified exec, ``shell_command``, apply_patch)."""
_EXIT = re.compile(r"^(?:Process exited with code|Exit code:)\s*(-?\d+)\s*$", re.MULTILINE)
_REJECTED = re.compile(
    r"approval policy is \w+; reject command|rejected by user|\bRejected\(|unacceptable risk"
    r"|^patch rejected\b|sandbox denied|blocked by policy",
    re.IGNORECASE | re.MULTILINE,
)
"""A bare output saying the harness refused the call before it ran."""
_FAILED = re.compile(
    r"^(?:[\w.]+ failed\b|failed to\b|error\b|apply_patch verification failed|unsupported call"
    r"|unknown (?:tool|function))",
    re.IGNORECASE,
)
_REASON = re.compile(r"Reason: (.+?)(?:\\+n|\n|\\+\"|$)")
_DENIAL_WORDS = (
    "operation not permitted", "read-only file system", "permission denied", "seccomp",
    "landlock", "failed to write file",
)  # fmt: skip
"""Codex's own words for a command the sandbox blocked (``is_likely_sandbox_denied``), less its
bare ``sandbox``, which any failing command that prints the word would match."""
_UNSANDBOXED = frozenset({"danger-full-access", "none", "off"})
_APPLY_PATCH = re.compile(r"(?:^|&&|;|\n)\s*(?:apply_patch|applypatch)\b")
_USER_SHELL = frozenset({"user_shell", "userShell", "user"})
_RECENT = 4096
"""Ids and texts remembered for de-duplication; older ones are forgotten (memory stays flat)."""

_Tokens = tuple[int, int, int, int, int, int]
"""Codex's usage: input (cached included), cached, cache write, output, reasoning, total."""
_ZERO: _Tokens = (0, 0, 0, 0, 0, 0)


def _count(value: Any) -> int:
    return value if type(value) is int and value > 0 else 0


def _tokens(raw: Any) -> _Tokens | None:
    if not isinstance(raw, Mapping) or not ({"input_tokens", "output_tokens"} & raw.keys()):
        return None
    names = ("input", "cached_input", "cache_write_input", "output", "reasoning_output", "total")
    return tuple(_count(raw.get(f"{n}_tokens")) for n in names)  # type: ignore[return-value]


def _minus(a: _Tokens, b: _Tokens) -> _Tokens:
    return tuple(x - y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _plus(a: _Tokens, b: _Tokens) -> _Tokens:
    return tuple(x + y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _content(value: Any) -> str | None:
    """A message's text: a string, or its text parts joined (images and the like left out)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [
            v["text"] for v in value if isinstance(v, Mapping) and isinstance(v.get("text"), str)
        ]
        return "\n".join(parts) if parts else None
    return None


def _key(text: str) -> str:
    return "".join(text.split())


def _arguments(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {"raw": value}
        return dict(parsed) if isinstance(parsed, Mapping) else {"raw": parsed}
    return {} if value is None else {"raw": value}


def _policy(value: Any, *keys: str) -> str | None:
    """A policy's name: a string as it is, else its ``type``/``mode`` key or its only key."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        for key in keys:
            if isinstance(value.get(key), str):
                return str(value[key])
        if len(value) == 1:
            return str(next(iter(value)))
    return None


def _subagent(source: Any) -> str | None:
    """The sub-agent's name in ``session_meta.source`` (``{"subagent": {"other": "guardian"}}``)."""
    sub = source.get("subagent") if isinstance(source, Mapping) else None
    if isinstance(sub, str):
        return sub
    if isinstance(sub, Mapping):
        for key, value in sub.items():
            if isinstance(value, str) and value:
                return value
            if isinstance(value, Mapping):
                return _str(value.get("agent_nickname")) or _str(value.get("agent_role")) or key
            return str(key)
    return None


def _harness(payload: Mapping[str, Any], text: str) -> bool:
    """Whether a ``role: user`` message is context the harness injected, not the user's words."""
    meta = payload.get("internal_chat_message_metadata_passthrough")
    if isinstance(meta, Mapping):
        kinds = meta.get("content_item_metadata")
        found = [
            k["provenance"].get("type")
            for k in (kinds if isinstance(kinds, list) else [])
            if isinstance(k, Mapping) and isinstance(k.get("provenance"), Mapping)
        ]
        if found:
            return "user" not in found
    return text.lstrip().startswith(_HARNESS_PREFIXES)


def _reason(text: str | None) -> str | None:
    """The gist of a refusal: the guardian's stated reason, else the message's first line."""
    if not text or not text.strip():
        return None
    found = _REASON.search(text)
    if found:
        return found.group(1).strip()
    return text.strip().splitlines()[0][:500]


class _Recent:
    """An insertion-ordered set that forgets its oldest members past a size."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def add(self, item: str) -> None:
        self._items[item] = None
        if len(self._items) > _RECENT:
            del self._items[next(iter(self._items))]


class _Twins:
    """Texts seen on one of two streams, each waiting for its copy on the other."""

    def __init__(self) -> None:
        self._waiting: tuple[Counter[str], Counter[str]] = (Counter(), Counter())

    def first(self, key: str, side: int) -> bool:
        """True for a text not yet seen on the other stream (emit it); False for the copy."""
        other, mine = self._waiting[1 - side], self._waiting[side]
        if other[key]:
            other[key] -= 1
            if not other[key]:
                del other[key]
            return False
        mine[key] += 1
        if len(mine) > _RECENT:
            del mine[next(iter(mine))]
        return True


@dataclass(slots=True)
class _Exec:
    """How a command ended, from ``CommandExecution`` (0.169) or ``exec_command_end``."""

    command: str | None
    exit_code: int | None
    status: str | None
    output: str | None
    item: bool
    """From a 0.169 ``CommandExecution`` item (which Codex never writes for a sandbox denial)."""


@dataclass(slots=True)
class _Output:
    """A call's output, read: its text, and the exit code when it is an exec result."""

    text: str | None = None
    exit_code: int | None = None
    structured: bool = False
    """An exec result (a header, or ``{"output", "metadata"}``), not a bare harness message."""
    success: bool | None = None


@dataclass(slots=True)
class _Call:
    """A tool call waiting for its output."""

    kind: EventKind
    tool: str
    call_id: str | None
    args: dict[str, Any]
    time: str | None
    source: Source
    command: str | None = None
    paths: tuple[str, ...] = ()
    url: str | None = None
    escalated: bool = False
    """Asked to run outside the sandbox."""
    asked: bool = False
    """An approval was asked for: an escalation, or an ``exec_approval_request``."""
    exec: _Exec | None = None
    patch_ok: bool | None = None
    raw: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Line:
    record: Record
    kind: str
    time: str | None
    payload: Mapping[str, Any]
    meta: Mapping[str, Any]


class CodexAdapter(Adapter):
    """Codex CLI rollout JSONL: the ``{timestamp, type, payload}`` lines, 0.169 and before."""

    name: ClassVar[str] = "codex"

    def __init__(self, path: str, *, keep_raw: bool = False) -> None:
        """Read the rollout at ``path``; keep raw records if asked."""
        super().__init__(path, keep_raw=keep_raw)
        self.run.agent = "codex"
        self._calls: dict[str, _Call] = {}
        self._done = _Recent()
        self._responses = _Recent()
        self._twins = _Twins()
        self._now: dict[str, str | None] = {"model": None, "sandbox": None, "approval": None}
        self._provider = "openai"
        self._actor: str | None = None
        self._meta = False
        self._summary = False
        self._emitted: _Tokens = _ZERO
        self._base: _Tokens = _ZERO
        self._total: _Tokens | None = None
        self._anonymous = 0

    @classmethod
    def sniff(cls, first: Sequence[Any]) -> bool:
        """Rollout lines: ``{"type": "session_meta" | "response_item" | …, "payload": {…}}``."""
        return any(
            isinstance(v, Mapping)
            and v.get("type") in _LINE_TYPES
            and isinstance(v.get("payload"), Mapping)
            for v in first
        )

    def feed(self, record: Record) -> Iterable[Event]:
        """The events one rollout line completes."""
        value = record.value
        if not isinstance(value, Mapping):
            return [self.unknown(record, None)]
        kind, payload = value.get("type"), value.get("payload")
        time = _str(value.get("timestamp"))
        if time:
            self.run.ended = time
        if not isinstance(kind, str) or not isinstance(payload, Mapping):
            return [self.unknown(record, kind if isinstance(kind, str) else None)]
        meta = value.get("metadata")
        line = _Line(record, kind, time, payload, meta if isinstance(meta, Mapping) else {})
        if kind in {"response_item", "event_msg"}:
            sub = _str(payload.get("type")) or "?"
            line = _Line(record, f"{kind}/{sub}", time, payload, line.meta)
            table = _ITEMS if kind == "response_item" else _EVENTS
            quiet = _QUIET_ITEMS if kind == "response_item" else _QUIET_EVENTS
            method = table.get(sub)
            if method is None:
                return [] if sub in quiet else [self.unknown(record, line.kind)]
        else:
            method = _LINES.get(kind)
            if method is None:
                return [self.unknown(record, kind)]
        events: list[Event] = getattr(self, method)(line)
        return events

    def finish(self) -> Iterable[Event]:
        """Calls never answered: ``pending``, unless an exec result says how they ended."""
        calls, self._calls = list(self._calls.values()), {}
        for call in calls:
            yield from self._complete(call, None, None)

    # --- run info ----------------------------------------------------------------------------

    def _session_meta(self, line: _Line) -> list[Event]:
        p, run = line.payload, self.run
        if self._meta:  # a later one (a fork's copied history) does not replace the run's
            return []
        self._meta = True
        run.run_id = _str(p.get("id")) or _str(p.get("session_id"))
        session = _str(p.get("session_id"))
        if session and session != run.run_id:
            run.extra["session_id"] = session
        run.tool_version = _str(p.get("cli_version"))
        run.cwd = _str(p.get("cwd")) or run.cwd
        run.started = _str(p.get("timestamp")) or line.time
        run.model = run.model or _str(p.get("model"))
        provider = _str(p.get("model_provider"))
        if provider:
            self._provider = provider.lower()
            run.extra["model_provider"] = provider
        for key in ("originator", "thread_source", "parent_thread_id"):
            if _str(p.get(key)):
                run.extra[key] = p[key]
        if isinstance(p.get("git"), Mapping):
            run.extra["git"] = dict(p["git"])
        source = p.get("source")
        agent = _subagent(source)
        if agent and isinstance(source, Mapping):
            run.agent = self._actor = agent
            run.extra["subagent"] = source["subagent"]
        elif source is not None:
            run.extra["source"] = source
        return []

    def _turn_context(self, line: _Line) -> list[Event]:
        p = line.payload
        settings = p.get("collaboration_mode")
        model = _str(p.get("model"))
        if model is None and isinstance(settings, Mapping):
            inner = settings.get("settings")
            model = _str(inner.get("model")) if isinstance(inner, Mapping) else None
        self._setting("model", model, line)
        self._setting("sandbox", _policy(p.get("sandbox_policy"), "type", "mode"), line)
        self._setting("approval", _policy(p.get("approval_policy"), "type"), line)
        if _str(p.get("approvals_reviewer")):
            self.run.extra.setdefault("approvals_reviewer", p["approvals_reviewer"])
        self.run.cwd = self.run.cwd or _str(p.get("cwd"))
        return []

    def _setting(self, name: str, value: str | None, line: _Line) -> None:
        """The run keeps a setting's first value; later changes go to ``extra[name_changes]``."""
        if value is None:
            return
        now = self._now[name]
        if getattr(self.run, name) is None:
            setattr(self.run, name, value)
        elif now is not None and value != now:
            change = {"time": line.time, "from": now, "to": value}
            turn = _str(line.payload.get("turn_id"))
            if turn:
                change["turn_id"] = turn
            self.run.extra.setdefault(f"{name}_changes", []).append(change)
        self._now[name] = value

    def _nothing(self, _line: _Line) -> list[Event]:
        return []

    # --- messages ----------------------------------------------------------------------------

    def _say(self, role: str, text: str, line: _Line) -> Event:
        actor = self._actor if role == "assistant" else None
        source = self.source(line.record, line.kind)
        raw = self.raw(line.record.value)
        return Event(
            "message", time=line.time, source=source, actor=actor, role=role, text=text, raw=raw
        )

    def _said(
        self, side: int, stream: str, role: str, text: str | None, line: _Line
    ) -> list[Event]:
        """A message that the other stream repeats: emitted on its first sighting only."""
        if not text or not text.strip():
            return []
        if not self._twins.first(f"{stream}\0{_key(text)}", side):
            return []
        return [self._say(role, text, line)]

    def _message(self, line: _Line) -> list[Event]:
        p = line.payload
        role = _str(p.get("role")) or "assistant"
        text = _content(p.get("content"))
        if not text or not text.strip():
            return []
        if role == "user":
            return self._said(0, "in", "system" if _harness(p, text) else "user", text, line)
        if role == "assistant":
            if line.meta.get("compaction_output"):  # the compaction summary: not the agent's word
                self._summary = True
                return [self._say("system", text, line)]
            return self._said(0, "out", "assistant", text, line)
        return [self._say(role, text, line)]

    def _user_message(self, line: _Line) -> list[Event]:
        kind = line.payload.get("kind")
        role = "system" if kind in _HARNESS_KINDS else "user"
        return self._said(1, "in", role, _str(line.payload.get("message")), line)

    def _agent_message(self, line: _Line) -> list[Event]:
        return self._said(1, "out", "assistant", _str(line.payload.get("message")), line)

    def _compacted(self, line: _Line) -> list[Event]:
        self.run.extra["compactions"] = self.run.extra.get("compactions", 0) + 1
        if self._summary:  # 0.169 wrote the summary as a message already
            self._summary = False
            return []
        text = _str(line.payload.get("message"))
        return [self._say("system", text, line)] if text else []

    def _error(self, line: _Line) -> list[Event]:
        text = _str(line.payload.get("message"))
        source = self.source(line.record, line.kind)
        return [
            Event(
                "error", time=line.time, source=source, text=text, raw=self.raw(line.record.value)
            )
        ]

    # --- tool calls --------------------------------------------------------------------------

    def _function_call(self, line: _Line) -> list[Event]:
        p = line.payload
        args = _arguments(p.get("arguments"))
        return self._call(_str(p.get("name")) or "?", p, args, None, line)

    def _custom_tool_call(self, line: _Line) -> list[Event]:
        p = line.payload
        text = p.get("input")
        raw_input = text if isinstance(text, str) else None
        return self._call(_str(p.get("name")) or "?", p, {"input": text}, raw_input, line)

    def _local_shell_call(self, line: _Line) -> list[Event]:
        action = line.payload.get("action")
        args = dict(action) if isinstance(action, Mapping) else {}
        return self._call("local_shell_call", line.payload, args, None, line)

    def _call(
        self,
        tool: str,
        p: Mapping[str, Any],
        args: dict[str, Any],
        raw_input: str | None,
        line: _Line,
    ) -> list[Event]:
        found = classify(tool, args, raw_input)
        kind, command, paths = found.kind, found.command, found.paths
        if kind == "shell" and command is None:
            command = raw_input or (args["input"] if isinstance(args.get("input"), str) else None)
        if (
            kind == "shell"
            and command
            and "*** Begin Patch" in command
            and _APPLY_PATCH.search(command)
        ):  # apply_patch sent through the shell tool: Codex applies it, no shell runs
            kind, paths = "file_edit", patch_paths(command)
        call = _Call(
            kind,
            tool,
            _str(p.get("call_id")) or _str(p.get("id")),
            args,
            line.time,
            self.source(line.record, line.kind),
            command=command,
            paths=paths,
            url=found.url,
            escalated=args.get("with_escalated_permissions") is True
            or args.get("sandbox_permissions") == "require_escalated",
        )
        if self.keep_raw:
            call.raw.append(line.record.value)
        out: list[Event] = []
        if call.escalated:
            call.asked = True
            reason = _str(args.get("justification"))
            out.append(self._permission(call, "requested", reason, line.time, call.source))
        key = call.call_id
        if key is None:  # nothing can answer it
            self._anonymous += 1
            key = f"\0{self._anonymous}"
        if key in self._calls:
            out.extend(self._complete(self._calls.pop(key), None, None))
        self._calls[key] = call
        if len(self._calls) > MAX_PENDING:
            out.extend(self._complete(self._calls.pop(next(iter(self._calls))), None, None))
        return out

    def _output(self, line: _Line) -> list[Event]:
        p = line.payload
        call_id = _str(p.get("call_id"))
        out = _read_output(p.get("output"))
        call = self._calls.pop(call_id, None) if call_id else None
        if call is not None:
            if self.keep_raw:
                call.raw.append(line.record.value)
            return self._complete(call, out, line)
        if call_id in self._done:
            return []
        # An output whose call is not in the file (cut, or compacted away): what it was is unknown.
        status = _status_of(out)
        return [
            Event(
                "tool_call",
                time=line.time,
                source=self.source(line.record, line.kind),
                actor=self._actor,
                call_id=call_id,
                result=out.text,
                status=status,
                raw=self.raw(line.record.value),
            )
        ]

    def _complete(self, call: _Call, out: _Output | None, line: _Line | None) -> list[Event]:
        """The call's event, and a ``permission`` event if it was refused or escalated and ran."""
        if call.call_id:
            self._done.add(call.call_id)
        ran = call.exec
        exit_code = ran.exit_code if ran and ran.exit_code is not None else None
        if exit_code is None and out is not None:
            exit_code = out.exit_code
        text = out.text if out is not None and out.text is not None else None
        if text is None and ran is not None:
            text = ran.output
        refusal: str | None = None
        if out is None and ran is None and call.patch_ok is None:
            status: Status = "pending"
        else:
            status, refusal = self._judge(call, out or _Output(), exit_code)
        shell = call.kind == "shell"
        event = Event(
            call.kind,
            time=call.time,
            source=call.source,
            actor=self._actor,
            tool=call.tool,
            call_id=call.call_id,
            args=call.args,
            result=text,
            status=status,
            exit_code=exit_code if shell else None,
            command=(call.command or (ran.command if ran else None)) if shell else None,
            paths=call.paths,
            url=call.url,
            raw=(call.raw or None) if self.keep_raw else None,
        )
        events = [event]
        time = line.time if line else call.time
        where = self.source(line.record, line.kind) if line else call.source
        if status == "denied":
            events.append(self._permission(call, "denied", refusal, time, where))
        elif call.asked and status in {"ok", "error"}:  # it ran: the approval was given
            events.append(self._permission(call, "granted", None, time, where))
        return events

    def _judge(self, call: _Call, out: _Output, exit_code: int | None) -> tuple[Status, str | None]:
        """How a call ended, and why it was refused if it was."""
        ran = call.exec
        said = out.text or ""
        if ran is not None and ran.status in {"declined", "denied", "rejected"}:
            return "denied", _reason(said) or f"command {ran.status}"
        if not out.structured and _REJECTED.search(said):
            return "denied", _reason(said)
        if call.kind == "shell" and (sandboxed := self._sandbox_denial(call, said, exit_code)):
            return "denied", sandboxed
        failed = (
            (exit_code is not None and exit_code != 0)
            or (ran is not None and ran.status in {"failed", "error"})
            or call.patch_ok is False
        )
        if failed or out.success is False or (not out.structured and _FAILED.match(said)):
            return "error", None
        return "ok", None

    def _sandbox_denial(self, call: _Call, said: str, exit_code: int | None) -> str | None:
        """Codex's test for a command the sandbox blocked: a failure that says so."""
        sandbox = self._now["sandbox"]
        if exit_code in {None, 0} or call.escalated or sandbox is None or sandbox in _UNSANDBOXED:
            return None
        if call.exec is not None and call.exec.item:  # 0.169 writes no item for a blocked command
            return None
        body = said + "\n" + ((call.exec.output or "") if call.exec else "")
        for row in body.splitlines():
            if any(word in row.lower() for word in _DENIAL_WORDS):
                return f"{sandbox} sandbox: {row.strip()}"[:500]
        return None

    def _permission(
        self, call: _Call, decision: str, reason: str | None, time: str | None, source: Source
    ) -> Event:
        return Event(
            "permission",
            time=time,
            source=source,
            actor=self._actor,
            tool=call.tool,
            call_id=call.call_id,
            decision=decision,
            reason=reason,
        )

    def _exec(self, call_id: str | None, ran: _Exec, line: _Line) -> list[Event]:
        """An exec result: kept for its call; a command no call asked for is a shell event."""
        call = self._calls.get(call_id) if call_id else None
        if call is not None:
            call.exec = ran
            if self.keep_raw:
                call.raw.append(line.record.value)
            return []
        if call_id in self._done:
            return []
        user = line.payload.get("source") in _USER_SHELL
        orphan = _Call(
            "shell",
            "user_shell" if user else "exec",
            call_id,
            {},
            line.time,
            self.source(line.record, line.kind),
            command=ran.command,
            exec=ran,
        )
        if self.keep_raw:
            orphan.raw.append(line.record.value)
        events = self._complete(orphan, None, None)
        if user:
            events[0].actor = "user"
        return events

    def _exec_end(self, line: _Line) -> list[Event]:
        p = line.payload
        output = _str(p.get("aggregated_output")) or _str(p.get("formatted_output"))
        if output is None:
            output = "".join(s for s in (p.get("stdout"), p.get("stderr")) if isinstance(s, str))
        ran = _Exec(
            command_text(p.get("command")),
            p.get("exit_code") if type(p.get("exit_code")) is int else None,
            _str(p.get("status")),
            output,
            item=False,
        )
        return self._exec(_str(p.get("call_id")), ran, line)

    def _patch_begin(self, line: _Line) -> list[Event]:
        call = self._calls.get(_str(line.payload.get("call_id")) or "")
        changes = line.payload.get("changes")
        if call is not None and isinstance(changes, Mapping) and changes:
            call.paths = tuple(str(k) for k in changes)
        return []

    def _patch_end(self, line: _Line) -> list[Event]:
        call = self._calls.get(_str(line.payload.get("call_id")) or "")
        if call is not None and isinstance(line.payload.get("success"), bool):
            call.patch_ok = bool(line.payload["success"])
        return []

    def _approval_request(self, line: _Line) -> list[Event]:
        p = line.payload
        call_id = _str(p.get("call_id"))
        call = self._calls.get(call_id or "")
        if call is not None:
            if call.asked:  # an escalation: its request was counted at the call
                return []
            call.asked = True
        tool = call.tool if call else ("apply_patch" if "patch" in line.kind else "exec")
        stub = call or _Call("tool_call", tool, call_id, {}, line.time, self.source(line.record))
        where = self.source(line.record, line.kind)
        return [self._permission(stub, "requested", _str(p.get("reason")), line.time, where)]

    def _web_search(self, line: _Line) -> list[Event]:
        p = line.payload
        action = p.get("action")
        action = action if isinstance(action, Mapping) else {}
        queries = action.get("queries")
        url = (
            _str(action.get("query"))
            or _str(action.get("url"))
            or _str(p.get("query"))
            or (_str(queries[0]) if isinstance(queries, list) and queries else None)
        )
        side = 0 if line.kind.startswith("response_item") else 1
        if url and not self._twins.first(f"search\0{url}", side):
            return []
        status: Status = "error" if p.get("status") == "failed" else "ok"
        args = dict(action) if action else ({"query": url} if url else {})
        return [
            Event(
                "network_fetch",
                time=line.time,
                source=self.source(line.record, line.kind),
                actor=self._actor,
                tool="web_search",
                call_id=_str(p.get("id")) or _str(p.get("call_id")),
                args=args,
                status=status,
                url=url,
                raw=self.raw(line.record.value),
            )
        ]

    def _item(self, line: _Line) -> list[Event]:  # noqa: PLR0911 - one answer per item type
        """0.169's ``item_completed``: a message's twin, an exec or patch result, a search."""
        item = line.payload.get("item")
        if not isinstance(item, Mapping):
            return [self.unknown(line.record, line.kind)]
        kind = _str(item.get("type")) or "?"
        sub = _Line(line.record, f"{line.kind}/{kind}", line.time, item, line.meta)
        if kind == "UserMessage":
            return self._said(1, "in", "user", _content(item.get("content")), sub)
        if kind == "AgentMessage":
            return self._said(1, "out", "assistant", _content(item.get("content")), sub)
        if kind == "CommandExecution":
            code = item.get("exit_code")
            ran = _Exec(
                command_text(item.get("command")),
                code if type(code) is int else None,
                _str(item.get("status")),
                _str(item.get("aggregated_output")),
                item=True,
            )
            return self._exec(_str(item.get("id")), ran, sub)
        if kind == "FileChange":
            return self._file_change(item)
        if kind == "WebSearch":
            return self._web_search(sub)
        return [] if kind in _QUIET_THINGS else [self.unknown(line.record, sub.kind)]

    def _file_change(self, item: Mapping[str, Any]) -> list[Event]:
        call = self._calls.get(_str(item.get("id")) or "")
        changes = item.get("changes")
        if call is None:
            return []
        if isinstance(changes, Mapping) and changes:
            moved = [v.get("move_path") for v in changes.values() if isinstance(v, Mapping)]
            moved_to = [m for m in moved if isinstance(m, str) and m]
            call.paths = tuple(dict.fromkeys([*map(str, changes), *moved_to]))
        if item.get("status") in {"failed", "declined"}:
            call.patch_ok = False
        return []

    # --- tokens ------------------------------------------------------------------------------

    def _model_call(self, tokens: _Tokens, line: _Line, model: str | None = None) -> Event:
        inp, cached, write, out = tokens[0], tokens[1], tokens[2], tokens[3]
        fresh = inp - cached - write if inp >= cached + write else max(0, inp - cached)
        name = model or self._now["model"] or self.run.model
        usage = Usage(self._provider, name or "unknown", fresh, out, cached, write)
        self._emitted = _plus(self._emitted, tokens)
        return Event(
            "model_call",
            time=line.time,
            source=self.source(line.record, line.kind),
            actor=self._actor,
            model=name,
            usage=usage,
            raw=self.raw(line.record.value),
        )

    def _usage_record(self, line: _Line) -> list[Event]:
        p = line.payload
        response = _str(p.get("response_id"))
        if response:
            if response in self._responses:
                return []
            self._responses.add(response)
        tokens = _tokens(p.get("usage"))
        return [self._model_call(tokens, line, _str(p.get("model")))] if tokens else []

    def _token_count(self, line: _Line) -> list[Event]:
        """A model call for what the cumulative total holds beyond the usage already emitted."""
        info = line.payload.get("info")
        if not isinstance(info, Mapping):
            flat = _tokens(line.payload)  # the early event: one response's usage, not a total
            return [self._model_call(flat, line)] if flat else []
        total = _tokens(info.get("total_token_usage"))
        if total is None:
            return []
        if self._total is not None and total[5] < self._total[5]:
            self._base = self._emitted  # the total restarted (a resumed run, before 0.169)
        self._total = total
        names = ("input", "cached_input", "cache_write_input", "output", "reasoning_output")
        self.run.extra["total_token_usage"] = {
            f"{n}_tokens": v for n, v in zip((*names, "total"), total, strict=True)
        }
        gap = tuple(max(0, v) for v in _minus(total, _minus(self._emitted, self._base)))
        if not (gap[0] or gap[3]):
            return []
        return [self._model_call(gap, line)]  # type: ignore[arg-type]


def _read_output(value: Any) -> _Output:
    """An output as text, with the exit code an exec result states (text or JSON form)."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, Mapping) and {"output", "metadata", "isError"} & parsed.keys():
            value = parsed  # the exec result of older versions, or an MCP tool's result
    if isinstance(value, Mapping):
        if "output" in value or "metadata" in value:
            meta = value.get("metadata")
            code = meta.get("exit_code") if isinstance(meta, Mapping) else None
            code = code if type(code) is int else None
            return _Output(text_of(value.get("output")), code, structured=True)
        success = value.get("success")
        if isinstance(value.get("isError"), bool):
            success = not value["isError"]
        success = success if isinstance(success, bool) else None
        return _Output(text_of(value.get("content", value)), success=success)
    if isinstance(value, str):
        head = _HEADER.match(value)
        if head is None:
            return _Output(value)
        code = _EXIT.search(head.group(0))
        return _Output(value[head.end() :], int(code.group(1)) if code else None, structured=True)
    return _Output(text_of(value))


def _status_of(out: _Output) -> Status:
    said = out.text or ""
    if not out.structured and _REJECTED.search(said):
        return "denied"
    if (out.exit_code or 0) != 0 or out.success is False:
        return "error"
    return "error" if not out.structured and _FAILED.match(said) else "ok"


_LINES: dict[str, str] = {
    "session_meta": "_session_meta",
    "turn_context": "_turn_context",
    "compacted": "_compacted",
    "token_usage_record": "_usage_record",
    "world_state": "_nothing",
}
_ITEMS: dict[str, str] = {
    "message": "_message",
    "function_call": "_function_call",
    "custom_tool_call": "_custom_tool_call",
    "local_shell_call": "_local_shell_call",
    "function_call_output": "_output",
    "custom_tool_call_output": "_output",
    "web_search_call": "_web_search",
}
_EVENTS: dict[str, str] = {
    "user_message": "_user_message",
    "agent_message": "_agent_message",
    "item_completed": "_item",
    "token_count": "_token_count",
    "exec_command_end": "_exec_end",
    "patch_apply_begin": "_patch_begin",
    "patch_apply_end": "_patch_end",
    "exec_approval_request": "_approval_request",
    "apply_patch_approval_request": "_approval_request",
    "web_search_end": "_web_search",
    "error": "_error",
    "stream_error": "_error",
}
