"""The clients: one interface (:mod:`sealog.client._api`), embedded or remote, sync or async.

Each method runs one operation of :class:`~sealog.client._core.Core` against the client's
backend: :class:`~sealog.client._http.Remote` over HTTP, :class:`~sealog.client._embedded.
Embedded` in process. The code that decides what to sign is the same for all four clients.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

import httpx

from sealog.client._api import Amount, AsyncSealogClient, Decided, Logged, SealogClient
from sealog.client._core import (
    Call,
    Core,
    JoinReceipt,
    Op,
    ReadAgent,
    ReadApprovals,
    ReadChain,
    ReadEntry,
    ReadProvenance,
    ReadReceipts,
    ReadReport,
    ReadReports,
    SessionState,
    adrive,
    agent_info,
    drive,
)
from sealog.client._embedded import Embedded
from sealog.client._http import AsyncRemote, Remote
from sealog.content import content_hash
from sealog.crypto import SigningKey, is_address
from sealog.errors import UsageError
from sealog.ledger import Ledger
from sealog.service import AgentInfo, Service

__all__ = [
    "AsyncClient",
    "AsyncClientSession",
    "AsyncEmbeddedClient",
    "Client",
    "ClientSession",
    "EmbeddedClient",
]

T = TypeVar("T")


class _Run(Protocol):
    def __call__(self, make: Callable[[], Op[T]]) -> T: ...


class _AsyncRun(Protocol):
    def __call__(self, make: Callable[[], Op[T]]) -> Awaitable[T]: ...


def _address(address: str) -> str:
    if not is_address(address):
        raise UsageError(f"{address!r} is not a sealog address (sl1 + 40 hex digits)")
    return address


def _service(ledger: Ledger | Service | Path | str | None) -> tuple[Service, Ledger | None]:
    """The service over ``ledger`` and the ledger if this client opened it (to close it)."""
    if isinstance(ledger, Service):
        return ledger, None
    if isinstance(ledger, Ledger):
        return Service(ledger), None
    opened = Ledger.open(ledger)
    return Service(opened), opened


class Client:
    """sealog for one agent key over HTTP: ``Client(url, key=agent_key)``.

    ``Client.embedded(ledger, key)`` gives the same interface in process
    (:class:`EmbeddedClient`). One client is for one thread at a time (its chain head and
    default session are its own); make one per thread.
    """

    content_hash = staticmethod(content_hash)

    def __init__(
        self,
        url: str,
        key: SigningKey,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.1,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Talk to ``sealog serve`` at ``url`` as the agent ``key``.

        Args:
            url: The service's base URL (``http://127.0.0.1:8080``).
            key: The agent's signing key; it never leaves this process.
            api_key: An API key (``Authorization: Bearer``) if the service binds tenants.
            timeout: Seconds each request may take.
            retries: Further attempts on a connection error, a timeout, 429 or 5xx.
            backoff: Seconds before the first retry, doubling each time (at most 5 s).
            transport: An httpx transport (tests: an in-process app; proxies; mocks).
        """
        remote = Remote(url, api_key=api_key, timeout=timeout, retries=retries, backoff=backoff,
                        transport=transport)  # fmt: skip
        self._bind(key, remote.answer, remote.close)

    def _bind(
        self, key: SigningKey, answer: Callable[[Call], Any], close: Callable[[], None]
    ) -> None:
        self._core = Core(key)
        self._answer, self._close = answer, close

    @staticmethod
    def embedded(
        ledger: Ledger | Service | Path | str | None = None, key: SigningKey | None = None
    ) -> EmbeddedClient:
        """The same interface over a ledger in this process (see :class:`EmbeddedClient`)."""
        if key is None:
            raise UsageError("a client signs as an agent: pass its SigningKey")
        return EmbeddedClient(ledger, key)

    @property
    def key(self) -> SigningKey:
        """The agent's key."""
        return self._core.key

    def _run(self, make: Callable[[], Op[T]]) -> T:
        return drive(self._answer, make)

    def register(self, owner: SigningKey, name: str | None = None) -> list[dict[str, Any]]:
        """Register the agent under ``owner``, the owner itself first if new; the receipts.

        Raises:
            EntryRejected: the agent is registered already (``already-registered``) …
        """
        return self._run(lambda: self._core.register(owner, name))

    def set_policy(self, owner: SigningKey, document: str | Path) -> dict[str, Any]:
        """Seal a policy (YAML/JSON text, or a file) as the agent's next version; the receipt.

        Raises:
            PolicyError: the document is invalid (nothing sealed); UsageError: ``owner`` is
            not the agent's owner; NotFound: the agent is not registered.
        """
        return self._run(lambda: self._core.set_policy(owner, document))

    def kill_session(
        self, owner: SigningKey, session_id: str, reason: str, *, agent: str | None = None
    ) -> dict[str, Any]:
        """Kill a session of the agent (or of ``agent``) as its ``owner``; the receipt.

        The kill is sealed at once; the agent's next decision in the session is a kill, wherever
        the agent runs. A session not started yet is killed as it starts. An operator holding
        only the owner's key uses a client of that key and names the ``agent``.

        Raises:
            UsageError: ``owner`` is not the agent's owner; NotFound: the agent is unknown.
        """
        return self._run(lambda: self._core.kill_session(owner, session_id, reason, agent))

    def log_action(
        self,
        action: str,
        *,
        target: str | None = None,
        content_hash: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        cost: Amount | None = None,
        sources: Sequence[str] = (),
    ) -> Logged:
        """Judge an action by the agent's policy and seal it with its decision, in one batch.

        In the session ``session_id`` (one this client's agent started), or in the client's
        own session, started on first use. The action is sealed whatever the gate says:
        ``policy_match`` is ``allowed``, ``denied`` or ``pending_approval`` (a denied action
        logged is evidence); ``cost`` is judged against the policy's budgets. ``sources`` are
        the content hashes the content was built from (provenance across agents).

        Raises:
            SessionKilled: the session is killed (the kill decision is sealed, no action).
            UsageError: ``metadata`` is not JSON, or a bad amount.
        """
        core = self._core
        return self._run(
            lambda: core.log_action(
                action, target=target, content_hash=content_hash, metadata=metadata,
                session_id=session_id, cost=cost, sources=sources,
            )
        )  # fmt: skip

    def session(self, session_id: str | None = None, run_id: str | None = None) -> ClientSession:
        """Start a session of the agent (its start entry sealed); a context manager."""
        state = self._run(lambda: self._core.start(session_id, run_id))
        return ClientSession(self._run, self._core, state)

    def agent(self, address: str) -> AgentInfo:
        """An agent's registration, policy version in force and track.

        Raises:
            NotFound: the address is not registered.
        """
        return agent_info(self._run(lambda: self._core.read(ReadAgent(_address(address)))))

    def report(
        self,
        subject: str,
        category: str,
        action_observed: str,
        observed_at: str | datetime,
        *,
        severity: str = "medium",
        target: str | None = None,
        description: str | None = None,
        evidence_hash: str | None = None,
    ) -> dict[str, Any]:
        """File a signed report about an agent as this client's key; the receipt.

        ``category`` is ``unlogged_action``, ``spam``, ``policy_violation``,
        ``data_exfiltration`` or ``other``; ``observed_at`` a time (aware) or its sealed text.

        Raises:
            EntryRejected: the subject is not a registered agent (``unknown-subject``), is this
                client's own key, or a field is malformed (``bad-field``); nothing is stored.
        """
        details = {"severity": severity, "target": target, "description": description,
                   "evidence_hash": evidence_hash}  # fmt: skip
        return self._run(lambda: self._core.report(
            _address(subject), category, action_observed, observed_at, details))  # fmt: skip

    def respond(
        self,
        report_id: str,
        *,
        acknowledged: bool,
        counter_evidence_hash: str | None = None,
        note: str | None = None,
        owner: SigningKey | None = None,
    ) -> dict[str, Any]:
        """Answer a report about this client's agent, as the agent (or its ``owner``).

        Raises:
            EntryRejected: no such report (``unknown-report``), the report is about another
                agent (``not-allowed``), or a dispute without ``counter_evidence_hash``.
        """
        return self._run(lambda: self._core.respond(
            report_id, acknowledged=acknowledged, counter_evidence_hash=counter_evidence_hash,
            note=note, owner=owner))  # fmt: skip

    def reports(self, address: str) -> dict[str, Any]:
        """The reports about an agent with their statuses, and the counts by status."""
        return self._run(lambda: self._core.read(ReadReports(_address(address))))

    def get_report(self, report_id: str) -> dict[str, Any]:
        """One report; for an ``unlogged_action``, whether the agent's chain logged it."""
        return self._run(lambda: self._core.read(ReadReport(report_id)))

    def approvals(
        self, *, agent: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Ask decisions and their verdicts, oldest first (one agent's, one status's if asked).

        Each has ``status`` ``pending``, ``approved``, ``denied`` or ``expired``.
        """
        found = self._run(lambda: self._core.read(
            ReadApprovals(None if agent is None else _address(agent), status)))  # fmt: skip
        return list(found["approvals"])

    def approve(
        self, decision: str, owner: SigningKey, reason: str | None = None
    ) -> dict[str, Any]:
        """Approve one of the agent's asks as its ``owner``; the receipt.

        Raises:
            EntryRejected: not a pending ask (``not-pending``), not the owner (``not-allowed``),
                decided already (``already-decided``) or past its deadline (``expired``).
        """
        return self._run(lambda: self._core.decide_ask(owner, decision, approve=True,
                                                       reason=reason))  # fmt: skip

    def name_approver(
        self, owner: SigningKey, approver: str, *, active: bool = True
    ) -> dict[str, Any]:
        """Name a registered key approver of ``owner``'s agents' asks; the receipt.

        Its verdicts then count as the owner's; ``active=False`` withdraws it.
        """
        return self._run(lambda: self._core.name_approver(owner, _address(approver),
                                                          active=active))  # fmt: skip

    def deny(self, decision: str, owner: SigningKey, reason: str | None = None) -> dict[str, Any]:
        """Deny one of the agent's asks as its ``owner``; the receipt (see :meth:`approve`)."""
        return self._run(lambda: self._core.decide_ask(owner, decision, approve=False,
                                                       reason=reason))  # fmt: skip

    def log_trace(
        self, record: Mapping[str, Any], *, keep_reasoning: bool = False
    ) -> dict[str, Any]:
        """Seal a governance trace record as the agent; the receipt with its ``traceHash``.

        The record has the seeds' members (``proposedAction``, ``status``, ``reasoning`` …).

        Reasoning is sealed by hash; ``keep_reasoning`` keeps the text beside an embedded ledger
        (a remote app keeps it through ``POST /apps/{id}/traces`` with its API key).

        Raises:
            InputError: an unknown record member; EntryRejected: a malformed field.
            UsageError: ``keep_reasoning`` on a remote client.
        """
        return self._run(lambda: self._core.log_trace(record, keep_reasoning=keep_reasoning))

    def receipts(self, run_id: str) -> list[dict[str, Any]]:
        """The execution receipts of a run, one per tool call (see :mod:`sealog.receipts`)."""
        return list(self._run(lambda: self._core.read(ReadReceipts(run_id)))["receipts"])

    def join_receipt(self, run_id: str, artifact: Mapping[str, Any]) -> dict[str, Any]:
        """A scanner's decision artifact held to the executed receipt of its tool call.

        ``outcome`` is ``match``, ``digest-mismatch`` or ``authority-mismatch``.
        """
        return self._run(lambda: self._core.read(JoinReceipt(run_id, artifact)))

    def provenance(self, digest: str) -> dict[str, Any]:
        """Where a piece of content came from, across agents (see :mod:`sealog.provenance`)."""
        return self._run(lambda: self._core.read(ReadProvenance(digest)))

    def verify(self, entry_id: str) -> dict[str, Any]:
        """One entry: ``signature_valid``, ``chain_intact``, ``included``, ``policy_at_time``."""
        return self._run(lambda: self._core.read(ReadEntry(entry_id)))

    def verify_chain(self, address: str) -> dict[str, Any]:
        """An agent's chain: ``total_entries``, ``chain_intact``, ``complete``, ``ok``, ``gaps``."""
        return self._run(lambda: self._core.read(ReadChain(_address(address))))

    def close(self) -> None:
        """Release connections (and a ledger the client opened)."""
        self._close()

    def __enter__(self) -> Self:
        """Use as a context manager that closes the client."""
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the client."""
        self.close()


class EmbeddedClient(Client):
    """The client interface over a ledger in this process: no server, the same calls.

    ``ledger`` is an open :class:`Ledger` (left open on close), a :class:`Service` over one,
    or a ledger home to open (None: the default home; closed on close).
    """

    def __init__(self, ledger: Ledger | Service | Path | str | None, key: SigningKey) -> None:
        """Call the service in process as the agent ``key``."""
        service, opened = _service(ledger)
        self.service = service

        def close() -> None:
            if opened is not None:
                opened.close()

        self._bind(key, Embedded(service).answer, close)


class ClientSession:
    """A session of a client's agent; :meth:`Client.session` starts one."""

    def __init__(self, run: _Run, core: Core, state: SessionState) -> None:
        """Use :meth:`Client.session`."""
        self._run, self._core, self._state = run, core, state

    @property
    def id(self) -> str:
        """The session's id."""
        return self._state.id

    @property
    def killed(self) -> bool:
        """Whether this client saw the session killed."""
        return self._state.killed

    def pre_action(
        self,
        action: str,
        *,
        target: str | None = None,
        tool: str | None = None,
        args: Mapping[str, Any] | None = None,
        estimate: Amount = 0,
        tool_call_id: str | None = None,
    ) -> Decided:
        """Decide on an action (the service's gate) and seal the decision before returning.

        Raises:
            SessionKilled: the decision is ``kill`` (sealed, with the session's kill).
            UsageError: ``args`` not JSON, a bad estimate, or the session has ended.
        """
        core, state = self._core, self._state
        return self._run(
            lambda: core.pre_action(
                state, action, target=target, tool=tool, args=args, estimate=estimate,
                tool_call_id=tool_call_id,
            )
        )  # fmt: skip

    def post_action(
        self,
        decision: Decided,
        *,
        cost: Amount | None = None,
        content_hash: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Seal the action an allowed decision let through, with its actual cost; the receipt."""
        core, state = self._core, self._state
        return self._run(
            lambda: core.post_action(
                state, decision, cost=cost, content_hash=content_hash, metadata=metadata
            )
        )

    def wait_approval(
        self, decision: Decided, *, poll: float = 0.5, max_wait: float = 900.0
    ) -> str:
        """Wait for the owner's verdict on an ``ask``: ``approved``, ``denied`` or ``expired``.

        Approved, seal the action with :meth:`post_action` as after an allow. ``max_wait``
        seconds without a verdict answer ``pending`` (the ask itself expires 15 minutes after
        it was made).
        """
        deadline = time.monotonic() + max_wait
        core, state = self._core, self._state
        while True:
            status = self._run(lambda: core.ask_status(state, decision))
            if status != "pending" or time.monotonic() >= deadline:
                return status
            time.sleep(poll)

    def record_violation(self, kind: str, *, count: int = 1) -> dict[str, Any]:
        """Seal a violation; the policy's thresholds apply to the next decision."""
        core, state = self._core, self._state
        return self._run(lambda: core.record_violation(state, kind, count))

    def kill(self, reason: str) -> None:
        """Kill the session by hand (``session.manual_kill``); idempotent."""
        core, state = self._core, self._state
        self._run(lambda: core.kill(state, reason))

    def end(self) -> None:
        """Seal the session's end; idempotent."""
        core, state = self._core, self._state
        self._run(lambda: core.end(state))

    def __enter__(self) -> Self:
        """Use as a context manager that ends the session."""
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """End the session."""
        self.end()


class AsyncClient:
    """The asyncio twin of :class:`Client`: the same calls as coroutines (``httpx.AsyncClient``)."""

    content_hash = staticmethod(content_hash)

    def __init__(
        self,
        url: str,
        key: SigningKey,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """See :class:`Client` (``transport``: an async httpx transport, e.g. ASGITransport)."""
        remote = AsyncRemote(url, api_key=api_key, timeout=timeout, retries=retries,
                             backoff=backoff, transport=transport)  # fmt: skip
        self._bind(key, remote.answer, remote.aclose)

    def _bind(
        self,
        key: SigningKey,
        answer: Callable[[Call], Awaitable[Any]],
        close: Callable[[], Awaitable[None]],
    ) -> None:
        self._core = Core(key)
        self._answer, self._close = answer, close

    @staticmethod
    def embedded(
        ledger: Ledger | Service | Path | str | None = None, key: SigningKey | None = None
    ) -> AsyncEmbeddedClient:
        """The same interface over a ledger in this process (see :class:`AsyncEmbeddedClient`)."""
        if key is None:
            raise UsageError("a client signs as an agent: pass its SigningKey")
        return AsyncEmbeddedClient(ledger, key)

    @property
    def key(self) -> SigningKey:
        """The agent's key."""
        return self._core.key

    async def _run(self, make: Callable[[], Op[T]]) -> T:
        return await adrive(self._answer, make)

    async def register(self, owner: SigningKey, name: str | None = None) -> list[dict[str, Any]]:
        """See :meth:`Client.register`."""
        return await self._run(lambda: self._core.register(owner, name))

    async def set_policy(self, owner: SigningKey, document: str | Path) -> dict[str, Any]:
        """See :meth:`Client.set_policy`."""
        return await self._run(lambda: self._core.set_policy(owner, document))

    async def kill_session(
        self, owner: SigningKey, session_id: str, reason: str, *, agent: str | None = None
    ) -> dict[str, Any]:
        """See :meth:`Client.kill_session`."""
        return await self._run(lambda: self._core.kill_session(owner, session_id, reason, agent))

    async def log_action(
        self,
        action: str,
        *,
        target: str | None = None,
        content_hash: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        cost: Amount | None = None,
        sources: Sequence[str] = (),
    ) -> Logged:
        """See :meth:`Client.log_action`."""
        core = self._core
        return await self._run(
            lambda: core.log_action(
                action, target=target, content_hash=content_hash, metadata=metadata,
                session_id=session_id, cost=cost, sources=sources,
            )
        )  # fmt: skip

    async def session(
        self, session_id: str | None = None, run_id: str | None = None
    ) -> AsyncClientSession:
        """See :meth:`Client.session`: ``session = await client.session()``, ``async with``."""
        state = await self._run(lambda: self._core.start(session_id, run_id))
        return AsyncClientSession(self._run, self._core, state)

    async def agent(self, address: str) -> AgentInfo:
        """See :meth:`Client.agent`."""
        found = await self._run(lambda: self._core.read(ReadAgent(_address(address))))
        return agent_info(found)

    async def report(
        self,
        subject: str,
        category: str,
        action_observed: str,
        observed_at: str | datetime,
        *,
        severity: str = "medium",
        target: str | None = None,
        description: str | None = None,
        evidence_hash: str | None = None,
    ) -> dict[str, Any]:
        """See :meth:`Client.report`."""
        details = {"severity": severity, "target": target, "description": description,
                   "evidence_hash": evidence_hash}  # fmt: skip
        return await self._run(lambda: self._core.report(
            _address(subject), category, action_observed, observed_at, details))  # fmt: skip

    async def respond(
        self,
        report_id: str,
        *,
        acknowledged: bool,
        counter_evidence_hash: str | None = None,
        note: str | None = None,
        owner: SigningKey | None = None,
    ) -> dict[str, Any]:
        """See :meth:`Client.respond`."""
        return await self._run(lambda: self._core.respond(
            report_id, acknowledged=acknowledged, counter_evidence_hash=counter_evidence_hash,
            note=note, owner=owner))  # fmt: skip

    async def reports(self, address: str) -> dict[str, Any]:
        """See :meth:`Client.reports`."""
        return await self._run(lambda: self._core.read(ReadReports(_address(address))))

    async def get_report(self, report_id: str) -> dict[str, Any]:
        """See :meth:`Client.get_report`."""
        return await self._run(lambda: self._core.read(ReadReport(report_id)))

    async def approvals(
        self, *, agent: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """See :meth:`Client.approvals`."""
        found = await self._run(lambda: self._core.read(
            ReadApprovals(None if agent is None else _address(agent), status)))  # fmt: skip
        return list(found["approvals"])

    async def approve(
        self, decision: str, owner: SigningKey, reason: str | None = None
    ) -> dict[str, Any]:
        """See :meth:`Client.approve`."""
        return await self._run(lambda: self._core.decide_ask(owner, decision, approve=True,
                                                             reason=reason))  # fmt: skip

    async def name_approver(
        self, owner: SigningKey, approver: str, *, active: bool = True
    ) -> dict[str, Any]:
        """See :meth:`Client.name_approver`."""
        return await self._run(lambda: self._core.name_approver(owner, _address(approver),
                                                                active=active))  # fmt: skip

    async def deny(
        self, decision: str, owner: SigningKey, reason: str | None = None
    ) -> dict[str, Any]:
        """See :meth:`Client.deny`."""
        return await self._run(lambda: self._core.decide_ask(owner, decision, approve=False,
                                                             reason=reason))  # fmt: skip

    async def log_trace(
        self, record: Mapping[str, Any], *, keep_reasoning: bool = False
    ) -> dict[str, Any]:
        """See :meth:`Client.log_trace`."""
        return await self._run(lambda: self._core.log_trace(record, keep_reasoning=keep_reasoning))

    async def receipts(self, run_id: str) -> list[dict[str, Any]]:
        """See :meth:`Client.receipts`."""
        found = await self._run(lambda: self._core.read(ReadReceipts(run_id)))
        return list(found["receipts"])

    async def join_receipt(self, run_id: str, artifact: Mapping[str, Any]) -> dict[str, Any]:
        """See :meth:`Client.join_receipt`."""
        return await self._run(lambda: self._core.read(JoinReceipt(run_id, artifact)))

    async def provenance(self, digest: str) -> dict[str, Any]:
        """See :meth:`Client.provenance`."""
        return await self._run(lambda: self._core.read(ReadProvenance(digest)))

    async def verify(self, entry_id: str) -> dict[str, Any]:
        """See :meth:`Client.verify`."""
        return await self._run(lambda: self._core.read(ReadEntry(entry_id)))

    async def verify_chain(self, address: str) -> dict[str, Any]:
        """See :meth:`Client.verify_chain`."""
        return await self._run(lambda: self._core.read(ReadChain(_address(address))))

    async def aclose(self) -> None:
        """Release connections (and a ledger the client opened)."""
        await self._close()

    async def __aenter__(self) -> Self:
        """Use as an async context manager that closes the client."""
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the client."""
        await self.aclose()


class AsyncEmbeddedClient(AsyncClient):
    """:class:`EmbeddedClient` for asyncio: each call to the service runs in a worker thread.

    The event loop never waits on the ledger's commit (an fsync); the service's lock orders
    the calls.
    """

    def __init__(self, ledger: Ledger | Service | Path | str | None, key: SigningKey) -> None:
        """Call the service in process, off the event loop, as the agent ``key``."""
        service, opened = _service(ledger)
        self.service = service
        embedded = Embedded(service)

        async def answer(call: Call) -> Any:
            return await asyncio.to_thread(embedded.answer, call)

        async def close() -> None:
            if opened is not None:
                await asyncio.to_thread(opened.close)

        self._bind(key, answer, close)


class AsyncClientSession:
    """A session of an async client's agent; ``await client.session()`` starts one."""

    def __init__(self, run: _AsyncRun, core: Core, state: SessionState) -> None:
        """Use :meth:`AsyncClient.session`."""
        self._run, self._core, self._state = run, core, state

    @property
    def id(self) -> str:
        """The session's id."""
        return self._state.id

    @property
    def killed(self) -> bool:
        """Whether this client saw the session killed."""
        return self._state.killed

    async def pre_action(
        self,
        action: str,
        *,
        target: str | None = None,
        tool: str | None = None,
        args: Mapping[str, Any] | None = None,
        estimate: Amount = 0,
        tool_call_id: str | None = None,
    ) -> Decided:
        """See :meth:`ClientSession.pre_action`."""
        core, state = self._core, self._state
        return await self._run(
            lambda: core.pre_action(
                state, action, target=target, tool=tool, args=args, estimate=estimate,
                tool_call_id=tool_call_id,
            )
        )  # fmt: skip

    async def post_action(
        self,
        decision: Decided,
        *,
        cost: Amount | None = None,
        content_hash: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """See :meth:`ClientSession.post_action`."""
        core, state = self._core, self._state
        return await self._run(
            lambda: core.post_action(
                state, decision, cost=cost, content_hash=content_hash, metadata=metadata
            )
        )

    async def wait_approval(
        self, decision: Decided, *, poll: float = 0.5, max_wait: float = 900.0
    ) -> str:
        """See :meth:`ClientSession.wait_approval`."""
        deadline = time.monotonic() + max_wait
        core, state = self._core, self._state
        while True:
            status = await self._run(lambda: core.ask_status(state, decision))
            if status != "pending" or time.monotonic() >= deadline:
                return status
            await asyncio.sleep(poll)

    async def record_violation(self, kind: str, *, count: int = 1) -> dict[str, Any]:
        """See :meth:`ClientSession.record_violation`."""
        core, state = self._core, self._state
        return await self._run(lambda: core.record_violation(state, kind, count))

    async def kill(self, reason: str) -> None:
        """See :meth:`ClientSession.kill`."""
        core, state = self._core, self._state
        await self._run(lambda: core.kill(state, reason))

    async def end(self) -> None:
        """See :meth:`ClientSession.end`."""
        core, state = self._core, self._state
        await self._run(lambda: core.end(state))

    async def __aenter__(self) -> Self:
        """Use as an async context manager that ends the session."""
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """End the session."""
        await self.end()


if TYPE_CHECKING:  # mypy checks the four clients against the interface they document

    def _conforms(
        client: Client, embedded: EmbeddedClient, aio: AsyncClient, aembedded: AsyncEmbeddedClient
    ) -> tuple[SealogClient, SealogClient, AsyncSealogClient, AsyncSealogClient]:
        return client, embedded, aio, aembedded
