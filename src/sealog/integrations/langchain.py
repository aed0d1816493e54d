"""LangChain / LangGraph: gate an agent's tool calls and charge its model calls to a session.

Two pieces, both bound to one :class:`~sealog.gate.Session`::

    from langchain.agents import create_agent
    from sealog.integrations.langchain import SealogMiddleware, SealogUsageCallback

    with gate.session(run_id="run-7") as session:
        agent = create_agent(model, tools, middleware=[SealogMiddleware(session)],
                             checkpointer=InMemorySaver())     # a checkpointer, for ``ask``
        agent.invoke(inputs, {"callbacks": [SealogUsageCallback(session)], ...})

* :class:`SealogMiddleware` decides every tool call before it runs (``wrap_tool_call`` and its
  async twin) and seals the decision, then the action citing it:

  - ``allow``: the tool runs; its action is sealed (``status: error`` if it raised).
  - ``deny``: the tool never runs; the model gets an error ``ToolMessage`` naming the rule.
  - ``ask``: the run pauses with a LangGraph ``interrupt`` carrying the decision; resume it
    with ``Command(resume={"approved": True})`` to run the tool, anything else refuses it.
  - ``kill``: :class:`~sealog.errors.SessionKilled` ends the run, out of ``agent.invoke``.

* :class:`SealogUsageCallback` charges each model call's token usage to the session, so the
  policy's budgets see model spend; a budget kill ends the run.

Why a kill cannot be swallowed: LangChain turns exceptions raised around a tool into error
``ToolMessage``\\s wherever a tool-error handler is configured (``ToolNode(handle_tool_errors=
...)``, ``ToolErrorMiddleware``, ``ToolRetryMiddleware``), and callback errors are only logged
unless the handler sets ``raise_error``. So a kill is enforced at three places, not one: the
tool call raises before the tool runs; the middleware's ``before_model`` / ``after_model``
hooks (graph nodes, which no tool-error handler wraps) raise ``SessionKilled`` once the session
is killed, so an agent whose kill was turned into a message still stops at its next step; and
the usage callback sets ``raise_error`` and refuses to start a model call in a killed session.

Approvals: sealed approvals by an approver key come with a later issue. Until then the human's
answer to an ``ask`` is recorded in the metadata of the action entry sealed when the approved
tool ran (``approval``, beside ``ask_decision``, the entry id of the ``ask`` decision). The gate
settles only allowed decisions, so that action entry cites no decision and, like a model call,
counts only its cost towards the session's state.

LangChain and LangGraph are an optional extra; without them importing this module raises
:class:`~sealog.errors.UsageError` with the install command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal
from uuid import UUID

from sealog.canonical import canonicalize
from sealog.content import content_hash
from sealog.errors import Error, InputError, SessionKilled, UsageError
from sealog.gate.session import GateDecision, Session
from sealog.ledger import Receipt
from sealog.policy.cost import PriceOverrides, normalize_usage, price

try:
    from langchain.agents.middleware import AgentMiddleware, AgentState, ToolCallRequest
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
    from langchain_core.outputs import LLMResult
    from langgraph.errors import GraphBubbleUp
    from langgraph.runtime import Runtime
    from langgraph.types import Command, interrupt
    from typing_extensions import override
except ImportError as exc:  # the optional extra is not installed
    raise UsageError(
        "sealog.integrations.langchain needs LangChain and LangGraph: "
        "pip install 'sealog[langchain]'",
        hint="pip install 'sealog[langchain]'",
    ) from exc

__all__ = ["APPROVAL_KIND", "SealogMiddleware", "SealogUsageCallback"]

APPROVAL_KIND = "sealog.approval"
"""The ``type`` of the value an ``ask`` interrupts with, so a client can tell it apart."""

ToolResult = ToolMessage | Command[Any]
_ANSWER_CHARS = 1024
# LangChain's ``model_provider`` metadata → the providers sealog prices.
_PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "gemini": "google",
    "google_genai": "google",
    "google_vertexai": "google",
}


def _tool_name(request: ToolCallRequest) -> str:
    return str(request.tool_call["name"])


def _raise_if_killed(session: Session) -> None:
    """Refuse to go on in a killed session (the kill itself is sealed already)."""
    killed_by = session.state.killed_by
    if killed_by is not None:
        raise SessionKilled(f"session {session.id} was killed by {killed_by}: the agent must stop")


class SealogMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """Gate every tool call of a ``create_agent`` agent through a sealog session.

    Place it last in ``middleware=[...]`` (innermost, nearest the tool) so that retries by an
    outer middleware are each decided, and ``ask`` needs the agent to have a checkpointer.
    """

    def __init__(
        self,
        session: Session,
        *,
        action_name: Callable[[ToolCallRequest], str] | None = None,
        target: Callable[[ToolCallRequest], str | None] | None = None,
    ) -> None:
        """Bind the middleware to a session.

        Args:
            session: Where each tool call is decided and sealed.
            action_name: The policy's action name of a tool call (default: the tool's name).
            target: The target of a tool call (a URL, an account), for ``targets`` rules
                (default: none).
        """
        super().__init__()
        self.session = session
        self._action_name = action_name or _tool_name
        self._target = target

    # -- the kill, between steps ---------------------------------------------------------------

    @override
    def before_model(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        """Stop before the model is called again in a killed session.

        Raises:
            SessionKilled: the session is killed (even if a tool-error handler turned the
                kill into a message, this node ends the run).
        """
        _raise_if_killed(self.session)
        return None

    @override
    async def abefore_model(
        self, state: AgentState[Any], runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        """The async twin of :meth:`before_model`."""
        _raise_if_killed(self.session)
        return None

    @override
    def after_model(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        """Stop before any tool runs if the model call itself killed the session (its cost).

        Raises:
            SessionKilled: the session is killed.
        """
        _raise_if_killed(self.session)
        return None

    @override
    async def aafter_model(
        self, state: AgentState[Any], runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        """The async twin of :meth:`after_model`."""
        _raise_if_killed(self.session)
        return None

    # -- the gate, around each tool call ------------------------------------------------------

    @override
    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolResult]
    ) -> ToolResult:
        """Decide the tool call, then run it, refuse it, ask for approval, or end the run.

        Raises:
            SessionKilled: the decision is ``kill`` or the session was killed; the tool does
                not run.
            GraphInterrupt: the decision is ``ask`` (LangGraph pauses the run).
            StorageError, EntryRejected, UsageError: the decision could not be sealed; the
                tool does not run.
        """
        decision = self._decide(request)
        refusal, answer = self._verdict(request, decision)
        if refusal is not None:
            return refusal
        try:
            result = handler(request)
        except BaseException as exc:
            self._settle(request, decision, answer, None, exc)
            raise
        self._settle(request, decision, answer, result, None)
        return result

    @override
    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolResult]],
    ) -> ToolResult:
        """The async twin of :meth:`wrap_tool_call`.

        The session's calls seal durably (a disk write and its sync), so they run in a worker
        thread (``asyncio.to_thread``) rather than block the event loop; the session is
        thread-safe and orders its decisions under its own lock. ``interrupt`` runs on the
        loop, where LangGraph's run context is.
        """
        decision = await asyncio.to_thread(self._decide, request)
        refusal, answer = self._verdict(request, decision)
        if refusal is not None:
            return refusal
        try:
            result = await handler(request)
        except BaseException as exc:
            await asyncio.to_thread(self._settle, request, decision, answer, None, exc)
            raise
        await asyncio.to_thread(self._settle, request, decision, answer, result, None)
        return result

    def _decide(self, request: ToolCallRequest) -> GateDecision:
        """Seal the decision on a tool call; a kill raises from ``pre_action`` itself."""
        call = request.tool_call
        return self.session.pre_action(
            self._action_name(request),
            tool=str(call["name"]),
            target=None if self._target is None else self._target(request),
            args=call.get("args") or {},
            tool_call_id=call.get("id"),
        )

    def _verdict(
        self, request: ToolCallRequest, decision: GateDecision
    ) -> tuple[ToolMessage | None, Any]:
        """A refusal to return instead of running the tool, and the human's answer to an ask.

        On an ``ask`` the first pass interrupts (LangGraph raises out of here). On resume
        LangGraph runs the tool call again from the start: the gate decides afresh (the
        session may have changed meanwhile) and seals that decision, and only if it is still
        ``ask`` does ``interrupt`` return the human's answer.
        """
        if decision.outcome == "deny":
            text = (
                f"sealog refused {decision.action.action!r}: denied by policy rule "
                f"{decision.blocking_rule}: {decision.reason}. The tool did not run."
            )
            return _error_message(request, text), None
        if decision.outcome != "ask":
            return None, None
        answer = interrupt(_approval_request(request, decision))
        if _approved(answer):
            return None, answer
        text = (
            f"sealog: {decision.action.action!r} needs a human's approval (rule "
            f"{decision.blocking_rule}: {decision.reason}) and was not approved. "
            "The tool did not run."
        )
        return _error_message(request, text), answer

    def _settle(
        self,
        request: ToolCallRequest,
        decision: GateDecision,
        answer: Any,
        result: ToolResult | None,
        error: BaseException | None,
    ) -> Receipt:
        """Seal the action that ran: citing its allowed decision, or with the human's answer."""
        metadata: dict[str, Any] = {"tool": str(request.tool_call["name"])}
        status = "ok"
        if isinstance(error, GraphBubbleUp):  # the tool paused itself; it reruns on resume
            status = "interrupted"
        elif error is not None:
            status, metadata["error"] = "error", type(error).__name__
        elif isinstance(result, ToolMessage) and result.status == "error":
            status = "error"
        digest = _result_hash(result)
        if decision.allowed:
            return self.session.post_action(
                decision, content_hash=digest, metadata=metadata, status=status
            )
        metadata.update(
            status=status,
            ask_decision=decision.entry_id,
            approval={"approved": True, "answer": _sealable(answer)},
        )
        if decision.tool_call_id is not None:
            metadata["tool_call_id"] = decision.tool_call_id
        if digest is not None:
            metadata["content_hash"] = digest
        return self.session.charge(0, action=decision.action.action, metadata=metadata)


def _error_message(request: ToolCallRequest, text: str) -> ToolMessage:
    return ToolMessage(
        content=text,
        name=str(request.tool_call["name"]),
        tool_call_id=str(request.tool_call.get("id") or ""),
        status="error",
    )


def _approval_request(request: ToolCallRequest, decision: GateDecision) -> dict[str, Any]:
    """What an ``ask`` interrupts with: the sealed decision, in JSON values."""
    return {
        "type": APPROVAL_KIND,
        "session_id": decision.session_id,
        "decision": decision.entry_id,
        "index": decision.index,
        "action": decision.action.action,
        "tool": str(request.tool_call["name"]),
        "target": decision.action.target,
        "args": dict(decision.action.args),
        "tool_call_id": decision.tool_call_id,
        "rule": decision.blocking_rule,
        "reason": decision.reason,
        "risk": decision.decision.risk,
        "resume_with": {"approved": True},
    }


def _approved(answer: Any) -> bool:
    """Only ``True`` or ``{"approved": True, ...}`` approve; anything else refuses."""
    if isinstance(answer, bool):
        return answer
    return isinstance(answer, Mapping) and answer.get("approved") is True


def _sealable(value: Any) -> Any:
    """A JSON value as it is, anything else by its (bounded) ``repr``."""
    try:
        canonicalize(value)
    except Error:
        return repr(value)[:_ANSWER_CHARS]
    return value


def _result_hash(result: ToolResult | None) -> str | None:
    """The content hash of a tool's message, so the log can be checked against its output."""
    if not isinstance(result, ToolMessage):
        return None
    try:
        return content_hash(result.content)
    except Error:  # content blocks that are not plain JSON: nothing to vouch for
        return None


class SealogUsageCallback(BaseCallbackHandler):
    """Charge each model call's token usage to a session, so budgets see model spend.

    Pass it in the run's config (``{"callbacks": [SealogUsageCallback(session)]}``) or bind it
    to the model. It reads ``AIMessage.usage_metadata`` and seals a ``model_call`` action with
    its cost (:meth:`Session.charge_usage`). It fails closed: ``raise_error`` is set, so an
    unknown price, a response without usage or a budget kill ends the call instead of being
    logged and forgotten; and no model call starts in a killed session.
    """

    raise_error = True
    """LangChain only logs a callback's errors unless this is set; a kill must end the run."""

    def __init__(
        self,
        session: Session,
        *,
        provider: str | None = None,
        model: str | None = None,
        prices: PriceOverrides | None = None,
        on_missing_usage: Literal["raise", "ignore"] = "raise",
    ) -> None:
        """Bind the callback to a session.

        Args:
            session: Where model spend is charged.
            provider: ``openai``, ``anthropic`` or ``google`` (default: the response's
                ``model_provider`` metadata).
            model: The model name to price (default: the response's ``model_name``).
            prices: A price table that wins over the gate's (models genai-prices lacks).
            on_missing_usage: ``raise`` (default) refuses a response that reports no usage
                (a budget cannot hold over spend it never sees); ``ignore`` skips it.
        """
        super().__init__()
        if on_missing_usage not in {"raise", "ignore"}:
            raise UsageError(f"on_missing_usage is 'raise' or 'ignore', not {on_missing_usage!r}")
        self.session, self.provider, self.model = session, provider, model
        self.prices, self.on_missing_usage = prices, on_missing_usage

    @override
    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Refuse to start a model call in a killed session.

        Raises:
            SessionKilled: the session is killed.
        """
        _raise_if_killed(self.session)

    @override
    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Refuse to start a (text) model call in a killed session.

        Raises:
            SessionKilled: the session is killed.
        """
        _raise_if_killed(self.session)

    @override
    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Charge the usage of every message the call returned, then hold the budget.

        Raises:
            SessionKilled: the charge killed the session (its budget is exceeded).
            UnknownModelPrice: no price is known for the model (add it to ``prices``).
            InputError: the response reports no usage (unless ignored) or impossible counts.
            UsageError: the provider cannot be told (pass ``provider=``).
        """
        charged = False
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                if isinstance(message, AIMessage) and message.usage_metadata is not None:
                    self._charge(message, response.llm_output or {})
                    charged = True
        if not charged and self.on_missing_usage == "raise":
            raise InputError(
                "the model's response reports no token usage, so its cost cannot be charged",
                hint="enable usage reporting (e.g. stream_usage=True), or pass "
                "on_missing_usage='ignore'",
            )
        _raise_if_killed(self.session)

    def _charge(self, message: AIMessage, llm_output: Mapping[str, Any]) -> Receipt:
        meta = message.response_metadata
        name = self.provider or _PROVIDERS.get(str(meta.get("model_provider", "")).lower())
        if name is None:
            raise UsageError(
                f"cannot tell the provider of model call {message.id}: pass provider=",
                hint="SealogUsageCallback(session, provider='openai' | 'anthropic' | 'google')",
            )
        model = self.model or meta.get("model_name") or meta.get("model")
        model = model or llm_output.get("model_name") or llm_output.get("model")
        raw = _raw_usage(name, message)
        if self.prices is None:
            return self.session.charge_usage(name, raw, model=model)
        usage = normalize_usage(name, raw, model=model)
        cost = price(usage, overrides=self.prices)
        counts = dict(
            zip(("input", "output", "cache_read", "cache_write"), usage.counts, strict=True)
        )
        metadata = {
            "provider": usage.provider,
            "model": usage.model,
            "usage": counts,
            "price": cost.to_json(),
        }
        return self.session.charge(cost.usd, metadata=metadata)


def _raw_usage(provider: str, message: AIMessage) -> dict[str, Any]:
    """LangChain's ``usage_metadata`` as the provider's own usage payload.

    LangChain counts cache reads and cache writes inside ``input_tokens``; the raw shapes
    differ in that (Anthropic's ``input_tokens`` excludes both, OpenAI's and Gemini's prompt
    count includes cache reads), and :func:`~sealog.policy.cost.normalize_usage` expects each
    as its provider sends it — so each cached token is counted once.
    """
    usage = message.usage_metadata
    assert usage is not None  # the caller checked
    details: Mapping[str, Any] = usage.get("input_token_details") or {}
    total, output = usage["input_tokens"], usage["output_tokens"]
    read, write = details.get("cache_read") or 0, details.get("cache_creation") or 0
    pid = _PROVIDERS.get(provider.lower(), provider)
    if pid == "anthropic":
        if read + write > total:
            raise InputError(f"usage reports {read + write} cached of only {total} input tokens")
        return {
            "input_tokens": total - read - write,
            "output_tokens": output,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write,
        }
    if pid == "google":  # output_tokens already includes the thinking tokens
        return {
            "prompt_token_count": total,
            "cached_content_token_count": read,
            "candidates_token_count": output,
        }
    # OpenAI (and anything normalize_usage refuses by name): its Responses shape. OpenAI bills
    # no cache writes; any reported stay inside the input, priced as plain input.
    return {
        "input_tokens": total,
        "output_tokens": output,
        "input_tokens_details": {"cached_tokens": read},
    }
