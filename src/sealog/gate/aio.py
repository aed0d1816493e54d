"""The asyncio twins of the gate: an :class:`AsyncSession` over a :class:`~sealog.gate.Session`.

Each call runs its synchronous twin in a worker thread (:func:`asyncio.to_thread`): a decision
is short, but it ends in an fsync, and the event loop must never wait on a disk. The session's
own lock still orders decisions, so concurrent coroutines hold the budget exactly as threads do::

    session = await open_session(gate, run_id="run-7")
    async with session:
        decision = await session.pre_action("transfer", args={"amount": 500}, estimate="0.01")
        if decision.allowed:
            await session.post_action(decision, cost="0.0042")

Reading the session's figures (:meth:`AsyncSession.state`, ``total_cost`` …) is a coroutine too:
it waits for the session's lock, which a seal in flight holds.

A call whose task is cancelled still completes in its thread (what it sealed stays sealed); only
its result is lost — an allowed decision then stays reserved until its action is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar

from sealog.gate.session import Gate, GateDecision, Guarded, Session, _jsonable
from sealog.ledger import Receipt
from sealog.policy import SessionState

__all__ = ["AsyncSession", "open_session"]

P = ParamSpec("P")
R = TypeVar("R")


async def open_session(
    gate: Gate,
    session_id: str | None = None,
    *,
    run_id: str | None = None,
    parent: AsyncSession | None = None,
) -> AsyncSession:
    """Start a session on ``gate`` (sealing its start) without blocking the event loop.

    Raises:
        UsageError: ``session_id`` is empty, too long, or already started in this tree.
    """
    sync_parent = None if parent is None else parent.session
    session = await asyncio.to_thread(gate.session, session_id, run_id=run_id, parent=sync_parent)
    return AsyncSession(session)


class AsyncSession:
    """A :class:`~sealog.gate.Session` whose calls are coroutines; same rules, same entries."""

    def __init__(self, session: Session) -> None:
        """Wrap ``session`` (use :func:`open_session` to start one)."""
        self.session = session

    @property
    def id(self) -> str:
        """The session id."""
        return self.session.id

    @property
    def run_id(self) -> str | None:
        """The run the session belongs to."""
        return self.session.run_id

    @property
    def gate(self) -> Gate:
        """The gate the session decides under."""
        return self.session.gate

    # -- reading ------------------------------------------------------------------------------

    async def state(self) -> SessionState:
        """What the session has seen (killed if an ancestor was)."""
        return await asyncio.to_thread(lambda: self.session.state)

    async def killed(self) -> bool:
        """Whether every later action is refused."""
        return await asyncio.to_thread(lambda: self.session.killed)

    async def total_cost(self) -> Decimal:
        """Spent (settled) plus reserved, children included."""
        return await asyncio.to_thread(lambda: self.session.total_cost)

    async def reserved(self) -> Decimal:
        """Estimates of allowed actions whose actual cost is not in yet."""
        return await asyncio.to_thread(lambda: self.session.reserved)

    # -- the gate -----------------------------------------------------------------------------

    async def pre_action(
        self,
        action: str,
        *,
        target: str | None = None,
        tool: str | None = None,
        args: Mapping[str, Any] | None = None,
        paths: Sequence[str] = (),
        sources: Sequence[str] = (),
        estimate: Decimal | str | float = 0,
        tool_call_id: str | None = None,
    ) -> GateDecision:
        """Decide on an action and seal the decision; see :meth:`Session.pre_action`.

        Raises:
            SessionKilled: the decision is ``kill`` (sealed too).
            UsageError: a malformed argument, or the session has ended.
        """
        return await asyncio.to_thread(
            functools.partial(
                self.session.pre_action,
                action,
                target=target,
                tool=tool,
                args=args,
                paths=paths,
                sources=sources,
                estimate=estimate,
                tool_call_id=tool_call_id,
            )
        )

    def enforce(self, decision: GateDecision) -> GateDecision:
        """Return an allowed decision; raise the typed refusal for any other (no I/O).

        Raises:
            PolicyViolation: ``deny``; ApprovalRequired: ``ask``; SessionKilled: ``kill``.
        """
        return self.session.enforce(decision)

    async def post_action(
        self,
        decision: GateDecision,
        *,
        cost: Decimal | str | float | None = None,
        content_hash: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        status: str = "ok",
    ) -> Receipt:
        """Seal the action an allowed decision let through; see :meth:`Session.post_action`.

        Raises:
            UsageError: the decision is not this session's, was not ``allow``, or was settled.
        """
        return await asyncio.to_thread(
            functools.partial(
                self.session.post_action,
                decision,
                cost=cost,
                content_hash=content_hash,
                metadata=metadata,
                status=status,
            )
        )

    async def charge(
        self,
        cost: Decimal | str | float,
        *,
        action: str = "model_call",
        metadata: Mapping[str, Any] | None = None,
    ) -> Receipt:
        """Seal a cost spent outside any gated action; see :meth:`Session.charge`."""
        call = functools.partial(self.session.charge, cost, action=action, metadata=metadata)
        return await asyncio.to_thread(call)

    async def charge_usage(
        self, provider: str, usage: Mapping[str, Any], *, model: str | None = None
    ) -> Receipt:
        """Price a provider's token usage and charge it; see :meth:`Session.charge_usage`.

        Raises:
            UnknownModelPrice: no price for the model; InputError: bad usage.
        """
        call = functools.partial(self.session.charge_usage, provider, usage, model=model)
        return await asyncio.to_thread(call)

    async def record_violation(
        self, kind: str, *, count: int = 1, detail: str | None = None
    ) -> bool:
        """Seal a violation and apply its threshold; whether the session is killed now."""
        call = functools.partial(self.session.record_violation, kind, count=count, detail=detail)
        return await asyncio.to_thread(call)

    async def kill(self, reason: str) -> None:
        """Kill the session by hand (rule ``session.manual_kill``); idempotent."""
        await asyncio.to_thread(self.session.kill, reason)

    async def end(self) -> None:
        """Seal the session's end with its totals."""
        await asyncio.to_thread(self.session.end)

    async def child(
        self, gate: Gate | None = None, *, session_id: str | None = None, run_id: str | None = None
    ) -> AsyncSession:
        """Start a child session (of this agent, or of another agent's ``gate``)."""
        call = functools.partial(self.session.child, gate, session_id=session_id, run_id=run_id)
        return AsyncSession(await asyncio.to_thread(call))

    # -- guards -------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def action(
        self,
        action: str,
        *,
        target: str | None = None,
        tool: str | None = None,
        args: Mapping[str, Any] | None = None,
        paths: Sequence[str] = (),
        sources: Sequence[str] = (),
        estimate: Decimal | str | float = 0,
        tool_call_id: str | None = None,
    ) -> AsyncIterator[Guarded]:
        """Guard a block: decide and enforce on entry, seal the action on exit.

        Set ``guarded.cost`` (and optionally ``content_hash``, ``metadata``) inside the block;
        an exception in the block (a cancellation too) is sealed as ``status: error`` and
        re-raised.

        Raises:
            PolicyViolation: the action was refused (the block does not run).
        """
        decision = self.enforce(
            await self.pre_action(
                action,
                target=target,
                tool=tool,
                args=args,
                paths=paths,
                sources=sources,
                estimate=estimate,
                tool_call_id=tool_call_id,
            )
        )
        guarded = Guarded(decision)
        try:
            yield guarded
        except BaseException as exc:
            metadata = {**guarded.metadata, "error": type(exc).__name__}
            settle = self.post_action(
                decision,
                cost=guarded.cost,
                content_hash=guarded.content_hash,
                metadata=metadata,
                status="error",
            )
            await asyncio.shield(settle)  # a cancelled block is still recorded
            raise
        await self.post_action(
            decision,
            cost=guarded.cost,
            content_hash=guarded.content_hash,
            metadata=guarded.metadata,
        )

    def guard(
        self,
        action: str | None = None,
        *,
        target: str | None = None,
        estimate: Decimal | str | float = 0,
    ) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Coroutine[Any, Any, R]]]:
        """Decorate a coroutine function so each call is decided first and sealed after.

        The call's keyword arguments are the decision's ``args``; a refused call raises and
        never runs.
        """

        def wrap(func: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
            name = action or str(getattr(func, "__name__", "call"))

            @functools.wraps(func)
            async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
                async with self.action(
                    name, target=target, args=_jsonable(kwargs), estimate=estimate
                ):
                    return await func(*args, **kwargs)

            return guarded

        return wrap

    async def __aenter__(self) -> Self:
        """Use as an async context manager that ends the session."""
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Seal the session's end (a killed session ends too: its totals are evidence)."""
        await self.end()
