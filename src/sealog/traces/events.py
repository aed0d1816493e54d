"""The one event model every imported run is normalized to.

An adapter (:mod:`sealog.traces.adapters`) turns a foreign format — a Codex rollout, a Claude
Code transcript, an OpenAI Agents trace, OTLP GenAI spans, plain JSON — into a stream of
:class:`Event` values and one :class:`RunInfo`. Everything downstream (``inspect``, the findings,
``guard``, ``import --seal``) reads only these, so a finding or a policy verdict means the same
whatever tool recorded the run.

Each event has exactly one :data:`EventKind`. A tool call whose meaning is known is classified
by that meaning (a ``Bash`` call is a ``shell`` event, a ``Read`` a ``file_read``) and keeps the
tool's own name in :attr:`Event.tool`; a call whose meaning is unknown is a ``tool_call``. What
the source does not say stays ``None``: unknown is never filled in with a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, get_args

from sealog.policy.cost import Usage

__all__ = [
    "EVENT_KINDS",
    "TOOL_KINDS",
    "Event",
    "EventKind",
    "RunInfo",
    "Source",
    "Status",
]

EventKind = Literal[
    "message",  # text said by the user, the agent, the system or a developer prompt
    "model_call",  # one call to a model: model name, token usage, recorded cost
    "tool_call",  # a tool whose meaning is not known: name, arguments, result, status
    "file_read",
    "file_write",  # a file created or overwritten
    "file_edit",  # a file changed in place (a patch, a string replacement)
    "shell",  # a shell command, whatever the tool that ran it
    "network_fetch",  # content fetched from the network (a URL, a web search)
    "git",  # a git or GitHub action (commit, push, PR, issue comment …)
    "permission",  # a permission granted or denied, an escalation asked for
    "hook",  # a hook's decision (allow, block) on a tool call or a prompt
    "error",  # an error the run reported
    "unknown",  # a record the adapter could not classify: kept, counted, raw reachable
]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)

TOOL_KINDS: frozenset[EventKind] = frozenset(
    {"tool_call", "file_read", "file_write", "file_edit", "shell", "network_fetch", "git"}
)
"""Kinds that are tool calls: they carry ``tool``, ``call_id``, ``args``, ``result``, ``status``."""

Status = Literal["ok", "error", "denied", "pending"]
"""How a tool call ended: it ran (``ok``), ran and failed (``error``), was refused before it
ran — by a permission rule, a hook, a guardrail or a human (``denied``) — or never got an answer
in the trace (``pending``)."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where an event came from in the input: file, 1-based line, the format's own record type."""

    path: str
    line: int
    record: str | None = None
    """The record's type in its own format (``response_item/function_call``, ``tool_use`` …)."""


@dataclass(slots=True)
class Event:
    """One thing that happened in a run.

    Only ``kind`` is always set. Tool kinds (:data:`TOOL_KINDS`) use ``tool``, ``call_id``,
    ``args``, ``result`` and ``status``; ``shell`` adds ``command`` (and ``exit_code``), file
    kinds ``paths``, ``network_fetch`` ``url``, ``model_call`` ``model``, ``usage`` and ``cost``,
    ``permission`` and ``hook`` ``decision`` and ``reason``, ``message`` ``role`` and ``text``.
    """

    kind: EventKind
    index: int = -1
    """Position in the run, from 0, assigned in the order events are emitted."""
    time: str | None = None
    """When it happened, ISO 8601 in UTC (``2026-11-21T09:00:00.000Z``), if the source says."""
    source: Source | None = None
    actor: str | None = None
    """Who acted: the agent or sub-agent name, when the source names one."""
    role: str | None = None
    """``message``: ``user``, ``assistant``, ``system`` or ``developer``."""
    text: str | None = None
    """``message``: what was said; ``error``: the message; ``hook``: its output."""
    tool: str | None = None
    """The tool's own name (``Bash``, ``exec_command``, ``apply_patch``)."""
    call_id: str | None = None
    args: Mapping[str, Any] | None = None
    result: str | None = None
    """The tool's output as text (as much as the source kept)."""
    status: Status | None = None
    exit_code: int | None = None
    command: str | None = None
    """``shell``: the command line as one string (an argv list joined with spaces)."""
    paths: tuple[str, ...] = ()
    url: str | None = None
    """``network_fetch``: the URL (or the search query, for a web search)."""
    model: str | None = None
    usage: Usage | None = None
    """``model_call``: the tokens of this call alone (never cumulative figures)."""
    cost: Decimal | None = None
    """``model_call``: the cost the source recorded, in USD; None when it recorded none."""
    decision: str | None = None
    """``permission``: ``granted``, ``denied`` or ``requested``; ``hook``: ``allow`` or
    ``block``."""
    reason: str | None = None
    raw: Any = field(default=None, repr=False)
    """The source record(s) as parsed, kept only when the reader was asked to keep them."""


@dataclass(slots=True)
class RunInfo:
    """What the input says about the run as a whole (each field None when it does not say)."""

    format: str
    """The adapter that read it: ``codex``, ``claude_code``, ``openai_agents``, ``otel``,
    ``generic``."""
    run_id: str | None = None
    agent: str | None = None
    tool_version: str | None = None
    """The version of the recording tool (``codex-cli 0.169.0``, Claude Code ``2.1.330``)."""
    model: str | None = None
    cwd: str | None = None
    started: str | None = None
    ended: str | None = None
    sandbox: str | None = None
    """The sandbox policy in force (``workspace-write``, ``read-only``), when recorded."""
    approval: str | None = None
    """The approval policy in force (``never``, ``on-request``), when recorded."""
    cost: Decimal | None = None
    """A total cost the source recorded for the whole run, if any."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else worth showing (``parent_thread_id``, ``permission_mode`` …)."""
