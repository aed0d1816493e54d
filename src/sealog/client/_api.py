"""The client SDK's interface: what every client answers, embedded or remote, sync or async.

:class:`SealogClient` and :class:`ClientSessionAPI` are the synchronous interface,
:class:`AsyncSealogClient` and :class:`AsyncClientSessionAPI` their asyncio twins (the same
calls, as coroutines). ``Client`` (remote), ``EmbeddedClient`` (in process), ``AsyncClient``
and ``AsyncEmbeddedClient`` implement them; code typed against the interface runs on any.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from sealog.crypto import SigningKey
from sealog.service import AgentInfo, PolicyMatch

__all__ = [
    "AsyncClientSessionAPI",
    "AsyncSealogClient",
    "ClientSessionAPI",
    "Decided",
    "Logged",
    "PolicyMatch",
    "SealogClient",
]

Amount = Decimal | str | float | int


@dataclass(frozen=True, slots=True)
class Logged:
    """An action sealed by ``log_action``, with the decision it cites (one batch)."""

    policy_match: PolicyMatch
    """``allowed``, ``denied`` or ``pending_approval`` (a ``kill`` raises SessionKilled)."""
    policy_version: int | None
    """The sealed policy version the decision was made under."""
    entry_id: str
    """The action entry's id (its leaf hash): ``verify(entry_id)`` checks it."""
    index: int
    """The action entry's place in the log."""
    decision_id: str
    """The decision entry the action cites."""
    receipt: Mapping[str, Any] = field(repr=False)
    """The action's receipt as the API answers it (index, id, tree_size, checkpoint …)."""


@dataclass(frozen=True, slots=True)
class Decided:
    """A decision sealed by a session's ``pre_action``, as the gate made it."""

    outcome: str
    """``allow``, ``deny``, ``ask`` or ``kill``."""
    policy_version: int | None
    entry_id: str
    index: int
    session_id: str
    action: str
    target: str | None
    tool_call_id: str | None
    blocking_rule: str | None
    failed: tuple[Mapping[str, Any], ...]
    """The verdicts that failed: ``rule_id``, ``effect``, ``detail`` in words."""

    @property
    def allowed(self) -> bool:
        """True only for ``allow``: act on nothing else."""
        return self.outcome == "allow"

    @property
    def reason(self) -> str:
        """The blocking verdict's words, or that every rule passed."""
        for verdict in self.failed:
            if verdict.get("rule_id") == self.blocking_rule:
                return str(verdict.get("detail"))
        return "every rule passed"


class ClientSessionAPI(Protocol):
    """A session of the client's agent: decisions drafted by the gate, signed by the agent."""

    @property
    def id(self) -> str:
        """The session's id."""
        ...

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
        """Decide on an action and seal the decision; a ``kill`` raises SessionKilled."""
        ...

    def post_action(
        self,
        decision: Decided,
        *,
        cost: Amount | None = None,
        content_hash: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        """Seal the action an allowed decision let through, with its actual cost."""
        ...

    def wait_approval(
        self, decision: Decided, *, poll: float = 0.5, max_wait: float = 900.0
    ) -> str:
        """Wait for the owner's verdict on an ``ask``: ``approved``, ``denied`` or ``expired``."""
        ...

    def record_violation(self, kind: str, *, count: int = 1) -> Mapping[str, Any]:
        """Seal a violation; the policy's thresholds apply to the next decision."""
        ...

    def kill(self, reason: str) -> None:
        """Kill the session by hand; later decisions in it raise SessionKilled."""
        ...

    def end(self) -> None:
        """Seal the session's end."""
        ...

    def __enter__(self) -> Self:
        """Use as a context manager that ends the session."""
        ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """End the session."""
        ...


class SealogClient(Protocol):
    """sealog for one agent key: the calls every synchronous client answers the same way."""

    @property
    def key(self) -> SigningKey:
        """The agent's key: every entry of the agent is signed with it, in the client."""
        ...

    def register(self, owner: SigningKey, name: str | None = None) -> list[dict[str, Any]]:
        """Register the agent under ``owner`` (the owner itself first, if new); the receipts."""
        ...

    def set_policy(self, owner: SigningKey, document: str | Path) -> dict[str, Any]:
        """Seal ``document`` (text or a file) as the agent's next policy version; the receipt."""
        ...

    def kill_session(
        self, owner: SigningKey, session_id: str, reason: str, *, agent: str | None = None
    ) -> dict[str, Any]:
        """Kill a session of the agent (or of ``agent``) as its ``owner``; the receipt."""
        ...

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
        """Judge and seal an action: the decision and the action citing it, in one batch."""
        ...

    def session(self, session_id: str | None = None, run_id: str | None = None) -> ClientSessionAPI:
        """Start a session of the agent (its start entry sealed)."""
        ...

    def agent(self, address: str) -> AgentInfo:
        """An agent's registration, policy version in force and track (NotFound if unknown)."""
        ...

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
        """File a signed report about an agent as this client's key; the receipt."""
        ...

    def respond(
        self,
        report_id: str,
        *,
        acknowledged: bool,
        counter_evidence_hash: str | None = None,
        note: str | None = None,
        owner: SigningKey | None = None,
    ) -> dict[str, Any]:
        """Answer a report about this client's agent, as the agent (or its ``owner``)."""
        ...

    def reports(self, address: str) -> dict[str, Any]:
        """The reports about an agent with their statuses, and the counts by status."""
        ...

    def get_report(self, report_id: str) -> dict[str, Any]:
        """One report; for an ``unlogged_action``, whether the agent's chain logged it."""
        ...

    def approvals(
        self, *, agent: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Ask decisions and their verdicts, oldest first (one agent's, one status's if asked)."""
        ...

    def approve(
        self, decision: str, owner: SigningKey, reason: str | None = None
    ) -> dict[str, Any]:
        """Approve one of the agent's asks as its ``owner``; the receipt."""
        ...

    def name_approver(
        self, owner: SigningKey, approver: str, *, active: bool = True
    ) -> dict[str, Any]:
        """Name (or withdraw) an approver of ``owner``'s agents' asks; the receipt."""
        ...

    def deny(self, decision: str, owner: SigningKey, reason: str | None = None) -> dict[str, Any]:
        """Deny one of the agent's asks as its ``owner``; the receipt."""
        ...

    def log_trace(
        self, record: Mapping[str, Any], *, keep_reasoning: bool = False
    ) -> dict[str, Any]:
        """Seal a governance trace record as the agent; the receipt with its ``traceHash``."""
        ...

    def receipts(self, run_id: str) -> list[dict[str, Any]]:
        """The execution receipts of a run, one per tool call."""
        ...

    def join_receipt(self, run_id: str, artifact: Mapping[str, Any]) -> dict[str, Any]:
        """A scanner's decision artifact held to the executed receipt of its tool call."""
        ...

    def provenance(self, digest: str) -> dict[str, Any]:
        """Where a piece of content came from, across agents."""
        ...

    def verify(self, entry_id: str) -> dict[str, Any]:
        """One entry: signature_valid, chain_intact, included (with proof), policy_at_time."""
        ...

    def verify_chain(self, address: str) -> dict[str, Any]:
        """An agent's chain audited: total_entries, chain_intact, complete, ok, gaps."""
        ...

    def close(self) -> None:
        """Release connections (and a ledger the client opened)."""
        ...


class AsyncClientSessionAPI(Protocol):
    """The asyncio twin of :class:`ClientSessionAPI`."""

    @property
    def id(self) -> str:
        """The session's id."""
        ...

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
        """See :meth:`ClientSessionAPI.pre_action`."""
        ...

    async def post_action(
        self,
        decision: Decided,
        *,
        cost: Amount | None = None,
        content_hash: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        """See :meth:`ClientSessionAPI.post_action`."""
        ...

    async def wait_approval(
        self, decision: Decided, *, poll: float = 0.5, max_wait: float = 900.0
    ) -> str:
        """See :meth:`ClientSessionAPI.wait_approval`."""
        ...

    async def record_violation(self, kind: str, *, count: int = 1) -> Mapping[str, Any]:
        """See :meth:`ClientSessionAPI.record_violation`."""
        ...

    async def kill(self, reason: str) -> None:
        """See :meth:`ClientSessionAPI.kill`."""
        ...

    async def end(self) -> None:
        """See :meth:`ClientSessionAPI.end`."""
        ...

    async def __aenter__(self) -> Self:
        """Use as an async context manager that ends the session."""
        ...

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """End the session."""
        ...


class AsyncSealogClient(Protocol):
    """The asyncio twin of :class:`SealogClient`: the same calls, as coroutines."""

    @property
    def key(self) -> SigningKey:
        """The agent's key."""
        ...

    async def register(self, owner: SigningKey, name: str | None = None) -> list[dict[str, Any]]:
        """See :meth:`SealogClient.register`."""
        ...

    async def set_policy(self, owner: SigningKey, document: str | Path) -> dict[str, Any]:
        """See :meth:`SealogClient.set_policy`."""
        ...

    async def kill_session(
        self, owner: SigningKey, session_id: str, reason: str, *, agent: str | None = None
    ) -> dict[str, Any]:
        """See :meth:`SealogClient.kill_session`."""
        ...

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
        """See :meth:`SealogClient.log_action`."""
        ...

    async def session(
        self, session_id: str | None = None, run_id: str | None = None
    ) -> AsyncClientSessionAPI:
        """See :meth:`SealogClient.session` (``session = await client.session()``)."""
        ...

    async def agent(self, address: str) -> AgentInfo:
        """See :meth:`SealogClient.agent`."""
        ...

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
        """See :meth:`SealogClient.report`."""
        ...

    async def respond(
        self,
        report_id: str,
        *,
        acknowledged: bool,
        counter_evidence_hash: str | None = None,
        note: str | None = None,
        owner: SigningKey | None = None,
    ) -> dict[str, Any]:
        """See :meth:`SealogClient.respond`."""
        ...

    async def reports(self, address: str) -> dict[str, Any]:
        """See :meth:`SealogClient.reports`."""
        ...

    async def get_report(self, report_id: str) -> dict[str, Any]:
        """See :meth:`SealogClient.get_report`."""
        ...

    async def approvals(
        self, *, agent: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Ask decisions and their verdicts, oldest first (one agent's, one status's if asked)."""
        ...

    async def approve(
        self, decision: str, owner: SigningKey, reason: str | None = None
    ) -> dict[str, Any]:
        """Approve one of the agent's asks as its ``owner``; the receipt."""
        ...

    async def name_approver(
        self, owner: SigningKey, approver: str, *, active: bool = True
    ) -> dict[str, Any]:
        """Name (or withdraw) an approver of ``owner``'s agents' asks; the receipt."""
        ...

    async def deny(
        self, decision: str, owner: SigningKey, reason: str | None = None
    ) -> dict[str, Any]:
        """Deny one of the agent's asks as its ``owner``; the receipt."""
        ...

    async def log_trace(
        self, record: Mapping[str, Any], *, keep_reasoning: bool = False
    ) -> dict[str, Any]:
        """Seal a governance trace record as the agent; the receipt with its ``traceHash``."""
        ...

    async def receipts(self, run_id: str) -> list[dict[str, Any]]:
        """The execution receipts of a run, one per tool call."""
        ...

    async def join_receipt(self, run_id: str, artifact: Mapping[str, Any]) -> dict[str, Any]:
        """A scanner's decision artifact held to the executed receipt of its tool call."""
        ...

    async def provenance(self, digest: str) -> dict[str, Any]:
        """See :meth:`SealogClient.provenance`."""
        ...

    async def verify(self, entry_id: str) -> dict[str, Any]:
        """See :meth:`SealogClient.verify`."""
        ...

    async def verify_chain(self, address: str) -> dict[str, Any]:
        """See :meth:`SealogClient.verify_chain`."""
        ...

    async def aclose(self) -> None:
        """Release connections (and a ledger the client opened)."""
        ...
