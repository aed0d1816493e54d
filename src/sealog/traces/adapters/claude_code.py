"""Claude Code: session transcripts and ``--output-format stream-json`` output, in one adapter.

Two formats, told apart record by record (snake_case ``session_id`` is stream-json, camelCase
``sessionId`` a transcript), both sniffed:

* **Transcript** (``~/.claude/projects/<project>/<session>.jsonl``; a subagent's own file is
  ``<session>/subagents/agent-<agentId>.jsonl`` and reads on its own). One JSON object a line:
  ``user``, ``assistant``, ``attachment`` and ``system`` lines linked by ``uuid``/``parentUuid``,
  and bookkeeping lines without a ``uuid``.
* **stream-json** (``claude -p … --output-format stream-json --verbose``): ``system/init``,
  ``assistant``, ``user``, ``system/hook_response``, ``system/permission_denied`` and a closing
  ``result``.

How records map to events:

* ``user``, a prompt (string content or text blocks) → ``message`` role ``user``; role
  ``system`` when it is injected (``isMeta``, ``isCompactSummary``, a ``<system-reminder>`` or
  local-command output). Its ``tool_result`` blocks are not messages: each completes the call
  of the same ``tool_use_id`` (paired by id, never by ``parentUuid``: parallel calls branch).
* ``assistant`` → (transcript) one ``model_call`` per distinct ``message.id`` with its usage
  (the CLI writes one line per content block, each repeating the whole message's usage: it is
  counted once, on the first line); ``text`` blocks → ``message`` role ``assistant``;
  ``thinking`` blocks → nothing; ``tool_use`` → a tool event (kind from
  :func:`~sealog.traces.classify.classify`) emitted when its result arrives. ``<synthetic>``
  API-error messages → ``error``.
* A result: ``is_error`` → status ``error``, unless it is a denial — a ``permissionDecision``
  (stream: ``tool_result_meta``) of ``reject``, a ``toolDenialKind``, a
  ``system/permission_denied``, or, when no decision is recorded, a denial text (deny rule,
  ``Permission to use …``, "no approval surface", a PreToolUse hook error, a human's
  rejection) — which is status ``denied`` plus a ``permission``
  event (``denied``, the reason), and for a PreToolUse hook's block also a ``hook`` event
  (``block``). Bash results give ``exit_code`` (``toolUseResult`` or ``Exit code N``).
* ``attachment``: ``hook_*`` → ``hook`` events (``hook_success`` allows, ``hook_blocking_error``
  and ``hook_stopped_continuation`` block); ``queued_command`` → a user message; the system
  prompt of ``prompt_snapshot`` → a system message when it first appears or changes; any
  other attachment with ``rendered`` text (what was injected into the prompt) → a system
  message; the rest → ``unknown``.
* ``system`` lines: errors (``api_error``, ``api_retry``, ``level: error``) → ``error``;
  ``stop_hook_summary`` and stream ``hook_response`` → ``hook``; others with text → a system
  message; without text → ``unknown``.
* Run info: ``sessionId``, ``version``, ``cwd``, timestamps, the first assistant message's
  model; ``gitBranch``, ``entrypoint``, ``permissionMode`` (also the ``permission-mode``
  record) → ``extra`` as ``git_branch``, ``entrypoint``, ``permission_mode``;
  ``cost-state.totalCostUSD`` or ``result.total_cost_usd`` → :attr:`RunInfo.cost`
  (``cost-state.modelUsage`` → ``extra["model_usage"]``, ``result.num_turns`` →
  ``extra["num_turns"]``); ``summary`` → ``extra["summary"]``; the tool names of
  ``api-request-shape`` (stream: ``init``) → ``extra["tools"]``.
* stream-json usage: an ``assistant`` event carries only the ``message_start`` usage
  (``output_tokens: 1``), so it gives no ``model_call``; the closing ``result`` event's
  ``modelUsage`` gives one ``model_call`` per model, with that model's token totals and cost
  for the whole run (source record ``result/modelUsage``; it also counts calls no event shows,
  such as WebFetch's page summary and a subagent's). A model call without usage would leave a
  cost budget unknown, and a partial one would understate it: one priced total per model is
  the figure the output holds. A stream cut before its ``result`` has no ``model_call``.

Subagents: lines with ``agentId`` (stream: ``agent_id``) or ``isSidechain`` set
:attr:`Event.actor` to the agent id; ``extra["subagents"]`` maps ids to agent types.

Deliberately ignored (bookkeeping, nothing an audit needs that other records lack):
``file-history-snapshot`` and ``file-history-delta`` (file backups; the edits are tool events),
``api-request-blob`` and ``api-request`` (request bodies rebuilt from blobs; the calls are the
``assistant`` lines), ``tools-used`` (a running list of tool names), ``last-prompt`` (the prompt
again and a leaf uuid), ``atis-latch`` (an opaque flag), ``queue-operation`` (the prompt again,
as it entered the input queue), an empty ``session_context`` attachment, ``system`` lines
``turn_duration``, and in stream-json ``stream_event`` (partial deltas of the full events),
``system`` ``hook_started`` (its ``hook_response`` follows), ``thinking_tokens`` and
``task_started|task_progress|task_updated|task_notification`` (a subagent's life, which its
``Agent``/``Task`` call and result already record).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from sealog.policy.cost import Usage
from sealog.traces.adapters._base import MAX_PENDING, Adapter, Record, text_of
from sealog.traces.adapters._base import nonempty as _str
from sealog.traces.classify import classify
from sealog.traces.events import Event, EventKind

__all__ = ["ClaudeCodeAdapter"]

_CONVERSATION = frozenset({"user", "assistant", "attachment", "system"})
_BOOKKEEPING = frozenset(
    {"file-history-snapshot", "file-history-delta", "api-request-blob", "api-request",
     "tools-used", "last-prompt", "atis-latch", "queue-operation"}
)  # fmt: skip
_IGNORED = _BOOKKEEPING | {"stream_event"}
_IGNORED_SYSTEM = frozenset(
    {"turn_duration", "hook_started", "thinking_tokens", "task_started", "task_progress",
     "task_updated", "task_notification"}
)  # fmt: skip
_TOOL_HOOKS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest"})
_HOOK_DECISIONS = {
    "hook_success": "allow",
    "hook_additional_context": "allow",
    "hook_system_message": "allow",
    "hook_non_blocking_error": "allow",
    "hook_error_during_execution": "allow",
    "hook_blocking_error": "block",
    "hook_stopped_continuation": "block",
}
_BLOCKING_EXIT = 2
"""A command hook that exits 2 blocks (Claude Code's hook contract); other failures do not."""
_DENIAL_TEXT = re.compile(
    r"^Permission to use .* has been denied"
    r"|^[^\n]*denied by your permission settings"
    r"|^Permission for this tool use was denied"
    r"|^The user doesn't want to (?:proceed with this tool use|take this action)"
    r"|^User rejected tool use"
    r"|^PreToolUse:\S* hook error: ",
    re.DOTALL,
)
_HOOK_ERROR = re.compile(
    r"^(?P<hook>\S+) hook error: \[(?P<command>.*?)\]: (?P<message>.*)$", re.DOTALL
)
_EXIT_CODE = re.compile(r"^Exit code (\d+)")
_INJECTED = (
    "<system-reminder>",
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<local-command-caveat>",
)


def _is_stream(value: Mapping[str, Any]) -> bool:
    return "session_id" in value and "sessionId" not in value


def _sniff_one(value: Any) -> bool:
    if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
        return False
    kind = value["type"]
    if (kind in _CONVERSATION or kind in _BOOKKEEPING) and (
        "sessionId" in value or "parentUuid" in value or "snapshot" in value
    ):
        return True
    if kind == "summary" and "leafUuid" in value:
        return True
    if "session_id" in value and (kind in {"system", "assistant", "user", "result"}):
        return kind != "system" or "subtype" in value
    return False


def _count(value: Any) -> int:
    return value if type(value) is int and value >= 0 else 0


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        return None
    return out if out.is_finite() else None


def _usage(model: str | None, usage: Any, *, camel: bool = False) -> Usage | None:
    """Anthropic usage (``input_tokens`` …, or ``modelUsage``'s ``inputTokens`` …) as a Usage."""
    if not model or not isinstance(usage, Mapping):
        return None
    keys = (
        ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheCreationInputTokens")
        if camel
        else (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        )
    )
    i, o, r, w = (_count(usage.get(k)) for k in keys)
    return Usage(
        "anthropic",
        model,
        input_tokens=i,
        output_tokens=o,
        cache_read_tokens=r,
        cache_write_tokens=w,
    )


def _blocks(content: Any) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b for b in content if isinstance(b, Mapping)]
    return []


def _text(value: Any) -> str | None:
    """Content as text: a list of strings joined by lines, else as :func:`text_of` has it."""
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    return text_of(value) if value not in (None, "", []) else None


def _clean(text: str) -> str:
    """A denial text without the ``Error:`` prefix and ``<tool_use_error>`` tags."""
    text = text.strip().removeprefix("Error: ")
    return text.replace("<tool_use_error>", "").replace("</tool_use_error>", "").strip()


class ClaudeCodeAdapter(Adapter):
    """Claude Code transcripts and stream-json output (see the module docstring)."""

    name: ClassVar[str] = "claude_code"

    def __init__(self, path: str, *, keep_raw: bool = False) -> None:
        """Start a run: no calls pending, no message counted yet."""
        super().__init__(path, keep_raw=keep_raw)
        self.run.agent = "claude-code"
        self._calls: dict[str, Event] = {}
        self._counted: dict[str, None] = {}  # message ids already given a model_call (recent)
        self._denials: dict[str, str] = {}  # stream permission_denied, by tool_use_id
        self._denied: set[str] = set()  # calls already given a permission event
        self._hook_blocked: set[str] = set()  # calls whose hook block was already emitted
        self._stream_blocks: Counter[str] = Counter()  # stream hook blocks, by hook name
        self._system_prompt: str | None = None
        self._conversation_seen = False

    @classmethod
    def sniff(cls, first: Sequence[Any]) -> bool:
        """Whether any of the first records is a Claude Code transcript or stream-json record."""
        return any(_sniff_one(value) for value in first)

    def feed(self, record: Record) -> Iterable[Event]:
        """The events one transcript line or stream-json event completes."""
        value = record.value
        if not isinstance(value, Mapping):
            return [self.unknown(record, None)]
        kind = value.get("type")
        self._note_run(value)
        handler = self._HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            return handler(self, record, value)
        if kind in _IGNORED:
            return ()
        return [self.unknown(record, kind if isinstance(kind, str) else None)]

    def finish(self) -> Iterable[Event]:
        """Calls that never got a result, status ``pending``."""
        calls, self._calls = list(self._calls.values()), {}
        return calls

    # -- run info -------------------------------------------------------------------------

    def _note_run(self, value: Mapping[str, Any]) -> None:
        run = self.run
        run.run_id = run.run_id or _str(value.get("sessionId")) or _str(value.get("session_id"))
        run.tool_version = run.tool_version or _str(value.get("version"))
        run.cwd = run.cwd or _str(value.get("cwd"))
        time = _str(value.get("timestamp"))
        if time is not None:
            run.started = time if run.started is None or time < run.started else run.started
            run.ended = time if run.ended is None or time > run.ended else run.ended
        for source, key in (
            ("gitBranch", "git_branch"),
            ("entrypoint", "entrypoint"),
            ("permissionMode", "permission_mode"),
        ):
            found = _str(value.get(source))
            if found is not None:
                run.extra.setdefault(key, found)
        if value.get("type") in _CONVERSATION and not self._conversation_seen:
            self._conversation_seen = True
            agent = _str(value.get("agentId"))
            if agent is not None and value.get("isSidechain") is True:
                run.extra["agent_id"] = agent  # a subagent's own transcript
        agent = _str(value.get("agentId")) or _str(value.get("agent_id"))
        agent_type = _str(value.get("attributionAgent")) or _str(value.get("subagent_type"))
        if agent is not None and agent_type is not None:
            run.extra.setdefault("subagents", {})[agent] = agent_type

    def _actor(self, value: Mapping[str, Any]) -> str | None:
        agent = _str(value.get("agentId")) or _str(value.get("agent_id"))
        if agent is not None:
            return agent
        if value.get("isSidechain") is True:
            return "sidechain"
        return _str(value.get("parent_tool_use_id"))

    def _event(self, record: Record, kind: EventKind, what: str, **fields: Any) -> Event:
        value = record.value
        return Event(
            kind,
            time=_str(value.get("timestamp")),
            source=self.source(record, what),
            actor=self._actor(value),
            raw=self.raw(value),
            **fields,
        )

    # -- user -----------------------------------------------------------------------------

    def _user(self, record: Record, value: Mapping[str, Any]) -> list[Event]:
        message = value.get("message")
        if not isinstance(message, Mapping):
            return [self.unknown(record, "user")]
        blocks = _blocks(message.get("content"))
        results = [b for b in blocks if b.get("type") == "tool_result"]
        structured = value.get("toolUseResult", value.get("tool_use_result"))
        out: list[Event] = []
        for block in results:
            out.extend(
                self._result(record, value, block, structured if len(results) == 1 else None)
            )
        texts = [
            b["text"] for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str)
        ]
        text = "\n".join(t for t in texts if t) or None
        if text is not None or (blocks and not results):
            injected = text is not None and text.lstrip().startswith(_INJECTED)
            meta = value.get("isMeta") is True or value.get("isCompactSummary") is True
            role = "system" if meta or injected else "user"
            out.append(self._event(record, "message", "user", role=role, text=text))
        if not blocks:
            out.append(self.unknown(record, "user"))
        return out

    def _result(
        self, record: Record, value: Mapping[str, Any], block: Mapping[str, Any], structured: Any
    ) -> list[Event]:
        call_id = _str(block.get("tool_use_id"))
        call = self._calls.pop(call_id, None) if call_id is not None else None
        if call is None:  # a result whose call is not in this file
            call = self._event(record, "tool_call", "user/tool_result", call_id=call_id)
        elif self.keep_raw:
            call.raw = [call.raw, value]
        call.result = text_of(block.get("content"))
        text = call.result or ""
        meta = self._meta(value, call_id)
        decision = meta.get("decision")
        denied = (
            decision == "reject"
            or bool(meta.get("kind"))
            or (call_id is not None and call_id in self._denials)
            or (  # no recorded decision (older CLIs): the denial texts
                decision is None
                and block.get("is_error") is True
                and _DENIAL_TEXT.search(_clean(text)) is not None
            )
        )
        if call_id is not None:
            self._denials.pop(call_id, None)
        if denied:
            call.status = "denied"
        elif block.get("is_error") is True or (
            isinstance(structured, Mapping) and structured.get("interrupted") is True
        ):
            call.status = "error"
        else:
            call.status = "ok"
        if call.kind == "shell":
            call.exit_code = self._exit_code(structured, text)
        out = [call]
        if denied:
            out.extend(self._denial(record, call, meta))
        if isinstance(structured, Mapping):
            agent, agent_type = _str(structured.get("agentId")), _str(structured.get("agentType"))
            if agent is not None and agent_type is not None:
                self.run.extra.setdefault("subagents", {})[agent] = agent_type
        return out

    def _meta(self, value: Mapping[str, Any], call_id: str | None) -> dict[str, Any]:
        """The permission decision on a result: decision, source, reason type/code, denial kind."""
        decision: Any = value.get("permissionDecision")
        kind: Any = value.get("toolDenialKind")
        metas = value.get("tool_result_meta")
        if isinstance(metas, list):
            for meta in metas:
                if isinstance(meta, Mapping) and meta.get("id") == call_id:
                    decision = meta.get("permission_decision")
                    # non_execution_kind may name other non-executions; only a reject counts
                    kind = None
        if not isinstance(decision, Mapping):
            decision = {}
        return {
            "decision": decision.get("decision"),
            "source": decision.get("source"),
            "type": decision.get("reasonType", decision.get("reason_type")),
            "code": decision.get("reasonCode", decision.get("reason_code")),
            "kind": kind,
        }

    @staticmethod
    def _exit_code(structured: Any, text: str) -> int | None:
        if isinstance(structured, Mapping):
            for key in ("exitCode", "exit_code", "returnCode"):
                code = structured.get(key)
                if type(code) is int:
                    return code
        found = _EXIT_CODE.match(_clean(text))
        return int(found.group(1)) if found else None

    def _denial(self, record: Record, call: Event, meta: Mapping[str, Any]) -> list[Event]:
        """The permission event of a denied call, and the hook event when a hook blocked it."""
        reason = _clean(call.result or "") or None
        out: list[Event] = []
        hook = _HOOK_ERROR.match(reason or "")
        code = meta.get("code")
        by_hook = (
            meta.get("source") == "hook"
            or meta.get("type") == "hook"
            or (isinstance(code, str) and code.startswith("hook:"))
            or (hook is not None and hook.group("hook").startswith("PreToolUse"))
        )
        if by_hook:
            event_name = code.partition(":")[2] if isinstance(code, str) and ":" in code else ""
            name = hook.group("hook") if hook else f"{event_name or 'PreToolUse'}:{call.tool}"
            if call.call_id is not None and call.call_id in self._hook_blocked:
                pass  # its hook_blocking_error attachment or hook_response was the event
            elif self._stream_blocks[name] > 0:  # so was an unlinked stream hook_response
                self._stream_blocks[name] -= 1
            else:
                if call.call_id is not None:
                    self._hook_blocked.add(call.call_id)
                message = hook.group("message").strip() if hook else reason
                out.append(
                    self._event(
                        record,
                        "hook",
                        "user/tool_result",
                        tool=name,
                        call_id=call.call_id,
                        decision="block",
                        reason=message,
                    )
                )
        if call.call_id is not None:
            self._denied.add(call.call_id)
        out.append(
            self._event(
                record,
                "permission",
                "user/tool_result",
                tool=call.tool,
                call_id=call.call_id,
                decision="denied",
                reason=reason,
            )
        )
        return out

    # -- assistant ------------------------------------------------------------------------

    def _assistant(self, record: Record, value: Mapping[str, Any]) -> list[Event]:
        message = value.get("message")
        if not isinstance(message, Mapping):
            return [self.unknown(record, "assistant")]
        model = _str(message.get("model"))
        blocks = _blocks(message.get("content"))
        out: list[Event] = []
        if value.get("isApiErrorMessage") is True or (
            model == "<synthetic>" and value.get("error")
        ):
            text = text_of(list(blocks)) or _str(value.get("error"))
            return [self._event(record, "error", "assistant/api_error", text=text)]
        if model is not None and model != "<synthetic>":
            self.run.model = self.run.model or model
            # stream-json events carry only message_start usage: the result event has the figures
            call = None if _is_stream(value) else self._model_call(record, value, message, model)
            if call is not None:
                out.append(call)
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                if _str(block.get("text")) is not None:
                    out.append(
                        self._event(
                            record, "message", "assistant", role="assistant", text=block["text"]
                        )
                    )
            elif kind in {"thinking", "redacted_thinking"}:
                continue
            elif kind in {"tool_use", "server_tool_use", "mcp_tool_use"}:
                out.extend(self._call(record, block))
            elif isinstance(kind, str) and kind.endswith("_tool_result"):
                out.extend(self._result(record, value, block, None))
            else:
                out.append(self.unknown(record, f"assistant/{kind}"))
        return out

    def _model_call(
        self, record: Record, value: Mapping[str, Any], message: Mapping[str, Any], model: str
    ) -> Event | None:
        """A model_call the first time a message id is seen, None on its later lines."""
        message_id = (
            _str(message.get("id")) or _str(value.get("requestId")) or _str(value.get("request_id"))
        )
        if message_id is not None:
            if message_id in self._counted:
                return None
            self._counted[message_id] = None
            if len(self._counted) > MAX_PENDING:
                del self._counted[next(iter(self._counted))]
        return self._event(
            record,
            "model_call",
            "assistant",
            model=model,
            usage=_usage(model, message.get("usage")),
            cost=_decimal(value.get("costUSD")),
        )

    def _call(self, record: Record, block: Mapping[str, Any]) -> list[Event]:
        """Hold a tool call until its result; past MAX_PENDING the oldest goes out pending."""
        tool = _str(block.get("name"))
        args = block.get("input")
        args = dict(args) if isinstance(args, Mapping) else None
        found = classify(tool, args)
        call_id = _str(block.get("id"))
        event = self._event(
            record,
            found.kind,
            f"assistant/{block.get('type')}",
            tool=tool,
            call_id=call_id,
            args=args,
            command=found.command,
            paths=found.paths,
            url=found.url,
            status="pending",
        )
        if call_id is None:
            return [event]
        if call_id in self._calls:  # the same call written twice: keep the first
            return []
        self._calls[call_id] = event
        if len(self._calls) > MAX_PENDING:
            return [self._calls.pop(next(iter(self._calls)))]
        return []

    # -- attachments ----------------------------------------------------------------------

    def _attachment(self, record: Record, value: Mapping[str, Any]) -> list[Event]:  # noqa: PLR0911 - one answer per attachment type
        attachment = value.get("attachment")
        if not isinstance(attachment, Mapping):
            return [self.unknown(record, "attachment")]
        kind = _str(attachment.get("type")) or "?"
        if kind.startswith("hook_") or kind == "async_hook_response":
            return self._hook(record, attachment, kind)
        if kind == "queued_command":
            prompt = attachment.get("prompt")
            text = _text(prompt)
            meta = attachment.get("isMeta") is True or attachment.get("commandMode") not in {
                None,
                "prompt",
            }
            role = "system" if meta else "user"
            return [
                self._event(record, "message", "attachment/queued_command", role=role, text=text)
            ]
        if kind == "prompt_snapshot":
            prompt = attachment.get("systemPrompt")
            text = _text(prompt)
            if not text or text == self._system_prompt:
                return []
            self._system_prompt = text
            return [
                self._event(
                    record, "message", "attachment/prompt_snapshot", role="system", text=text
                )
            ]
        if kind == "session_context" and not attachment.get("context"):
            return []
        rendered = value.get("rendered")
        parts = (
            [r.get("content") for r in rendered or () if isinstance(r, Mapping)]
            if isinstance(rendered, list)
            else []
        )
        text = "\n".join(p for p in parts if isinstance(p, str) and p)
        if text:
            return [self._event(record, "message", f"attachment/{kind}", role="system", text=text)]
        return [self.unknown(record, f"attachment/{kind}")]

    def _hook(self, record: Record, attachment: Mapping[str, Any], kind: str) -> list[Event]:
        event_name = _str(attachment.get("hookEvent"))
        call_id = _str(attachment.get("toolUseID")) if event_name in _TOOL_HOOKS else None
        decision = _HOOK_DECISIONS.get(kind)
        reason: str | None = None
        content = attachment.get("content")
        text = _text(content) or _str(attachment.get("stdout"))
        if kind == "hook_blocking_error":
            blocking = attachment.get("blockingError")
            reason = (
                _str(blocking.get("blockingError"))
                if isinstance(blocking, Mapping)
                else _str(blocking)
            )
            if call_id is not None:
                if call_id in self._hook_blocked:  # already emitted from the denied result
                    return []
                self._hook_blocked.add(call_id)
        elif kind == "hook_stopped_continuation":
            reason = _str(attachment.get("message"))
        elif kind == "hook_permission_decision":
            decision = {"allow": "allow", "deny": "block"}.get(str(attachment.get("decision")))
        elif kind == "async_hook_response":
            response = attachment.get("response")
            said = response.get("decision") if isinstance(response, Mapping) else None
            decision = "block" if said in {"block", "deny"} else "allow"
        if kind in {"hook_non_blocking_error", "hook_error_during_execution"}:
            reason = _str(attachment.get("stderr")) or _str(content)
            text = _str(attachment.get("stdout"))
        exit_code = attachment.get("exitCode")
        return [
            self._event(
                record,
                "hook",
                f"attachment/{kind}",
                tool=_str(attachment.get("hookName")) or event_name,
                call_id=call_id,
                decision=decision,
                reason=reason,
                text=text,
                exit_code=exit_code if type(exit_code) is int else None,
            )
        ]

    # -- system ---------------------------------------------------------------------------

    def _system(self, record: Record, value: Mapping[str, Any]) -> list[Event]:  # noqa: PLR0911 - one answer per subtype
        subtype = _str(value.get("subtype"))
        what = f"system/{subtype}" if subtype else "system"
        if subtype == "init":
            self._init(value)
            return []
        if subtype in _IGNORED_SYSTEM:
            return []
        if subtype == "hook_response":
            return [self._hook_response(record, value)]
        if subtype == "permission_denied":
            call_id = _str(value.get("tool_use_id"))
            if call_id is not None:
                self._denials[call_id] = _str(value.get("message")) or ""
            return []
        if subtype == "stop_hook_summary":
            return [self._stop_hooks(record, value)]
        text = _text(value.get("content"))
        if subtype in {"api_error", "api_retry"} or value.get("level") == "error":
            return [self._event(record, "error", what, text=text or self._error_text(value))]
        if text:
            return [self._event(record, "message", what, role="system", text=text)]
        return [self.unknown(record, what)]

    @staticmethod
    def _error_text(value: Mapping[str, Any]) -> str:
        """An API error's text: its message or status, and the retry it led to."""
        error = value.get("error")
        parts: list[str] = []
        if isinstance(error, Mapping):
            inner = error.get("error")
            message = error.get("message") or (
                inner.get("message") if isinstance(inner, Mapping) else None
            )
            status = error.get("status") or value.get("error_status")
            parts.extend(str(p) for p in (status, message) if p)
        elif error:
            parts.append(str(error))
        attempt = value.get("retryAttempt", value.get("attempt"))
        most = value.get("maxRetries", value.get("max_retries"))
        if attempt is not None:
            parts.append(f"retry {attempt}/{most}" if most is not None else f"retry {attempt}")
        return ": ".join(parts) or "API error"

    def _init(self, value: Mapping[str, Any]) -> None:
        run = self.run
        run.model = run.model or _str(value.get("model"))
        run.tool_version = run.tool_version or _str(value.get("claude_code_version"))
        tools = value.get("tools")
        if isinstance(tools, list):
            run.extra["tools"] = [t for t in tools if isinstance(t, str)]

    def _hook_response(self, record: Record, value: Mapping[str, Any]) -> Event:
        """A stream-json hook run; a tool hook is linked to the one pending call of its tool."""
        name = _str(value.get("hook_name")) or _str(value.get("hook_event"))
        tool = (name or "").partition(":")[2]
        call_id = None
        if tool and value.get("hook_event") in _TOOL_HOOKS:
            pending = [i for i, call in self._calls.items() if call.tool == tool]
            call_id = pending[0] if len(pending) == 1 else None
        code = value.get("exit_code")
        blocked = code == _BLOCKING_EXIT
        if blocked and call_id is not None:
            self._hook_blocked.add(call_id)
        elif blocked and name is not None:
            self._stream_blocks[name] += 1
        failed = blocked or value.get("outcome") not in {None, "success"}
        reason = _str(value.get("stderr")) or _str(value.get("output")) if failed else None
        return self._event(
            record,
            "hook",
            "system/hook_response",
            tool=name,
            call_id=call_id,
            decision="block" if blocked else "allow",
            reason=reason and reason.strip(),
            text=(_str(value.get("stdout")) or "").strip() or None,
            exit_code=code if type(code) is int else None,
        )

    def _stop_hooks(self, record: Record, value: Mapping[str, Any]) -> Event:
        errors = value.get("hookErrors")
        errors = [str(e) for e in errors if e] if isinstance(errors, list) else []
        prevented = value.get("preventedContinuation") is True
        reason = _str(value.get("stopReason")) or ("\n".join(errors) or None)
        content = value.get("content")
        return self._event(
            record,
            "hook",
            "system/stop_hook_summary",
            tool="Stop",
            decision="block" if prevented else "allow",
            reason=reason,
            text=content if isinstance(content, str) and content else None,
        )

    # -- run-level records ----------------------------------------------------------------

    def _result_event(self, record: Record, value: Mapping[str, Any]) -> list[Event]:
        """stream-json ``result``: the run's cost and usage, denials not yet seen, its error."""
        self.run.cost = _decimal(value.get("total_cost_usd")) or self.run.cost
        if type(value.get("num_turns")) is int:  # the count the lone model_call per model hides
            self.run.extra["num_turns"] = value["num_turns"]
        out: list[Event] = []
        denials = value.get("permission_denials")
        for denial in denials if isinstance(denials, list) else ():
            call_id = _str(denial.get("tool_use_id")) if isinstance(denial, Mapping) else None
            if call_id is None or call_id in self._denied:
                continue
            self._denied.add(call_id)
            call = self._calls.pop(call_id, None)
            if call is not None:
                call.status = "denied"
                out.append(call)
            tool = _str(denial.get("tool_name"))
            out.append(
                self._event(
                    record, "permission", "result", tool=tool, call_id=call_id, decision="denied"
                )
            )
        per_model = value.get("modelUsage")
        if isinstance(per_model, Mapping) and per_model:
            for model, figures in per_model.items():
                cost = _decimal(figures.get("costUSD")) if isinstance(figures, Mapping) else None
                out.append(
                    self._event(
                        record,
                        "model_call",
                        "result/modelUsage",
                        model=model,
                        usage=_usage(model, figures, camel=True),
                        cost=cost,
                    )
                )
        elif isinstance(value.get("usage"), Mapping) and self.run.model:
            out.append(
                self._event(
                    record,
                    "model_call",
                    "result/usage",
                    model=self.run.model,
                    usage=_usage(self.run.model, value["usage"]),
                )
            )
        subtype = _str(value.get("subtype")) or ""
        if value.get("is_error") is True or subtype.startswith("error"):
            errors = value.get("errors")
            text = _str(value.get("result")) or (
                "\n".join(map(str, errors)) if isinstance(errors, list) and errors else subtype
            )
            out.append(self._event(record, "error", "result", text=text or "error"))
        return out

    def _cost_state(self, record: Record, value: Mapping[str, Any]) -> list[Event]:
        del record
        self.run.cost = _decimal(value.get("totalCostUSD")) or self.run.cost
        if isinstance(value.get("modelUsage"), Mapping):
            self.run.extra["model_usage"] = dict(value["modelUsage"])
        return []

    def _summary(self, record: Record, value: Mapping[str, Any]) -> list[Event]:
        summary = _str(value.get("summary"))
        if summary is None:
            return [self.unknown(record, "summary")]
        self.run.extra["summary"] = summary
        return []

    def _request_shape(self, record: Record, value: Mapping[str, Any]) -> list[Event]:
        del record
        shape = value.get("shape")
        tools = shape.get("tools") if isinstance(shape, Mapping) else None
        if isinstance(tools, list):
            names = [t.get("name") for t in tools if isinstance(t, Mapping)]
            self.run.extra["tools"] = [n for n in names if isinstance(n, str)]
        return []

    def _run_only(self, record: Record, value: Mapping[str, Any]) -> list[Event]:
        del record, value  # what it says was taken by _note_run
        return []

    _HANDLERS: ClassVar[dict[str, Callable[..., list[Event]]]] = {
        "user": _user,
        "assistant": _assistant,
        "attachment": _attachment,
        "system": _system,
        "result": _result_event,
        "cost-state": _cost_state,
        "summary": _summary,
        "api-request-shape": _request_shape,
        "permission-mode": _run_only,
    }
