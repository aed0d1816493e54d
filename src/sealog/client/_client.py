"""``Client``: one interface to sealog, embedded (in process) or remote (over HTTP).

The agent's key never leaves the client: every entry is signed here, with the agent's chain
(``seq``, ``prev``) continued from the head the service reports. A decision is drafted by the
service's gate, signed as drafted, and submitted with the action that cites it — the service
checks the signed decision is the one it drafted (``decision-mismatch`` otherwise).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar

from sealog.canonical import encode_arguments
from sealog.client._transport import HttpTransport, InProcess, Transport
from sealog.content import content_hash
from sealog.crypto import SigningKey
from sealog.errors import CanonicalError, Error, SessionKilled, UsageError
from sealog.ledger import Ledger, SignedEntry
from sealog.ledger.entry import ENTRY_VERSION, format_time, sign_entry
from sealog.ledger.storage import Head
from sealog.policy import load_policy
from sealog.policy.store import document_of
from sealog.service import Service

__all__ = ["AsyncClient", "Client", "ClientSession", "Decided", "Logged"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Logged:
    """An action sealed by ``log_action``: the gate's answer and where the entries are."""

    policy_match: str
    """``allowed``, ``denied``, ``pending_approval`` or ``killed``."""
    policy_version: int | None
    entry_id: str
    index: int
    decision_id: str
    receipt: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Decided:
    """A decision sealed by a client session's ``pre_action``."""

    outcome: str
    policy_version: int | None
    entry_id: str
    index: int
    action: str
    target: str | None
    blocking_rule: str | None
    failed: tuple[Mapping[str, Any], ...]

    @property
    def allowed(self) -> bool:
        """True only for ``allow``."""
        return self.outcome == "allow"


class Client:
    """sealog for one agent key, embedded or remote; thread-safe per call, not per session."""

    content_hash = staticmethod(content_hash)

    def __init__(
        self,
        url: str | None = None,
        key: SigningKey | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        transport: Transport | None = None,
    ) -> None:
        """Talk to the service at ``url`` (or through ``transport``) as the agent ``key``.

        Raises:
            UsageError: neither a URL nor a transport, or no key.
        """
        if key is None:
            raise UsageError("a client signs as an agent: pass key=SigningKey")
        if transport is None:
            if url is None:
                raise UsageError("pass the service's URL, or use Client.embedded(ledger, key)")
            transport = HttpTransport(url, api_key=api_key, timeout=timeout, retries=retries)
        self.key, self.transport = key, transport
        self._heads: dict[str, Head | None] = {}
        self._default: ClientSession | None = None

    @classmethod
    def embedded(cls, ledger: Ledger | Path | str | None = None, key: SigningKey | None = None,
                 *, service: Service | None = None) -> Client:  # fmt: skip
        """A client over a ledger in this process (an open one, or the home at a path)."""
        if service is None:
            opened = ledger if isinstance(ledger, Ledger) else Ledger.open(ledger)
            service = Service(opened)
        return cls(key=key, transport=InProcess(service))

    # -- signing ------------------------------------------------------------------------------

    def sign(
        self, key: SigningKey, kind: str, fields: Mapping[str, Any], *, time: str | None = None
    ) -> SignedEntry:
        """Sign ``key``'s next entry, continuing its chain as the service knows it."""
        author = key.address
        if author not in self._heads:
            self._heads[author] = self.transport.head(author)
        head = self._heads[author]
        when = time or format_time(datetime.now(UTC))
        if head is not None and when < head.time:
            when = head.time
        body = {**fields, "v": ENTRY_VERSION, "kind": kind, "author": author,
                "seq": 0 if head is None else head.seq + 1,
                "prev": None if head is None else head.leaf.hex(), "time": when}  # fmt: skip
        entry = sign_entry(key, body)
        self._heads[author] = Head(entry.seq, entry.leaf, entry.time)
        return entry

    def submit(self, key: SigningKey, entries: list[SignedEntry]) -> list[dict[str, Any]]:
        """Submit entries this client signed; on any refusal the chain is re-read next time."""
        try:
            return self.transport.submit(key, entries)
        except Error:
            for entry in entries:
                self._heads.pop(entry.author, None)
            raise

    # -- the interface ------------------------------------------------------------------------

    def register(self, owner: SigningKey, name: str | None = None) -> list[dict[str, Any]]:
        """Register this client's agent under ``owner`` (and the owner itself, if new)."""
        entries = []
        if self.transport.head(owner.address) is None:
            own = {"subject": owner.address, "public_key": owner.public_key.b64, "role": "owner"}
            entries.append(self.sign(owner, "register", own))
        its: dict[str, Any] = {"subject": self.key.address,
                               "public_key": self.key.public_key.b64, "role": "agent"}  # fmt: skip
        if name is not None:
            its["name"] = name
        entries.append(self.sign(owner, "register", its))
        return self.submit(owner, entries)

    def set_policy(self, owner: SigningKey, document: str | Path) -> dict[str, Any]:
        """Seal a policy for this client's agent as its owner's next version."""
        text, fmt, source = document_of(document)
        policy = load_policy(text, source=source or "<policy>")
        version = self.agent(self.key.address).get("policy_version") or 0
        fields: dict[str, Any] = {"agent": self.key.address, "version": version + 1,
                                  "document": text, "format": fmt,
                                  "policy_hash": policy.hash()}  # fmt: skip
        if source is not None:
            fields["source"] = source
        return self.submit(owner, [self.sign(owner, "policy", fields)])[0]

    def session(self, session_id: str | None = None, run_id: str | None = None) -> ClientSession:
        """Start a session of this agent (its start entry sealed)."""
        sid = session_id or f"s-{uuid.uuid4().hex}"
        fields: dict[str, Any] = {"session_id": sid, "event": "start"}
        if run_id is not None:
            fields["run_id"] = run_id
        self.submit(self.key, [self.sign(self.key, "session", fields)])
        return ClientSession(self, sid)

    def log_action(
        self,
        action: str,
        *,
        target: str | None = None,
        content_hash: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        cost: str | None = None,
    ) -> Logged:
        """Log an action the agent took, judged by its policy: decision and action in one batch.

        Without ``session_id`` the client's default session is used (started on first use).
        The action is sealed whatever the gate says: ``policy_match`` tells whether it was
        allowed; a denied action logged anyway is evidence.
        """
        if session_id is None:
            if self._default is None:
                self._default = self.session()
            session_id = self._default.id
        proposed: dict[str, Any] = {"action": action}
        if target is not None:
            proposed["target"] = target
        draft = self.transport.draft(self.key, session_id, proposed)
        decision = self.sign(self.key, "decision", draft["fields"], time=draft["time"])
        fields: dict[str, Any] = {
            "action": action,
            "session_id": session_id,
            "decision": decision.id,
            "metadata": dict(metadata or {}),
        }
        optional = {"target": target, "content_hash": content_hash, "cost": cost,
                    "policy_version": None if draft["policy_version"] is None
                    else str(draft["policy_version"])}  # fmt: skip
        fields.update({k: v for k, v in optional.items() if v is not None})
        act = self.sign(self.key, "action", fields)
        out = self.submit(self.key, [decision, act])
        return Logged(str(out[1]["policy_match"]), out[1]["policy_version"], act.id,
                      int(out[1]["index"]), decision.id, out[1])  # fmt: skip

    def agent(self, address: str) -> dict[str, Any]:
        """An agent's registration, policy version and track (NotFound if unregistered)."""
        return self.transport.get(f"/agents/{address}")

    def verify(self, entry_id: str) -> dict[str, Any]:
        """One entry: signature_valid, chain_intact, included (with proof), policy_at_time."""
        return self.transport.get(f"/verify/{entry_id}")

    def verify_chain(self, address: str) -> dict[str, Any]:
        """An agent's chain: total_entries, chain_intact, complete, gaps."""
        return self.transport.get(f"/verify/chain/{address}")

    def close(self) -> None:
        """Release connections."""
        self.transport.close()

    def __enter__(self) -> Self:
        """Use as a context manager that closes the client."""
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the client."""
        self.close()


class ClientSession:
    """A session of the client's agent: decisions drafted by the gate, signed here."""

    def __init__(self, client: Client, session_id: str) -> None:
        """Use :meth:`Client.session`."""
        self.client, self.id = client, session_id

    def pre_action(
        self,
        action: str,
        *,
        target: str | None = None,
        tool: str | None = None,
        args: Mapping[str, Any] | None = None,
        estimate: str = "0",
        tool_call_id: str | None = None,
    ) -> Decided:
        """Decide and seal; a ``kill`` raises :class:`SessionKilled` (the decision sealed)."""
        try:
            encode_arguments(dict(args or {}))
        except CanonicalError as exc:
            raise UsageError(f"the action's args must be JSON: {exc.message}") from exc
        proposed: dict[str, Any] = {"action": action, "args": dict(args or {}),
                                    "estimate": estimate}  # fmt: skip
        optional = {"target": target, "tool": tool, "tool_call_id": tool_call_id}
        proposed.update({k: v for k, v in optional.items() if v is not None})
        c = self.client
        draft = c.transport.draft(c.key, self.id, proposed)
        entry = c.sign(c.key, "decision", draft["fields"], time=draft["time"])
        receipt = c.submit(c.key, [entry])[0]
        f = draft["fields"]
        decided = Decided(str(f["outcome"]), draft["policy_version"], entry.id,
                          int(receipt["index"]), action, target, f.get("blocking_rule"),
                          tuple(f.get("failed", ())))  # fmt: skip
        if decided.outcome == "kill":
            raise SessionKilled(f"{action} refused: the session is killed", decision=decided)
        return decided

    def post_action(
        self, decision: Decided, *, cost: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Seal the action an allowed decision let through, with its actual cost."""
        if not decision.allowed:
            raise UsageError(f"decision was {decision.outcome}: there is no action to record")
        fields: dict[str, Any] = {"action": decision.action, "session_id": self.id,
                                  "decision": decision.entry_id,
                                  "metadata": dict(metadata or {})}  # fmt: skip
        optional = {"target": decision.target, "cost": cost}
        fields.update({k: v for k, v in optional.items() if v is not None})
        c = self.client
        return c.submit(c.key, [c.sign(c.key, "action", fields)])[0]

    def _event(self, fields: dict[str, Any]) -> dict[str, Any]:
        c = self.client
        return c.submit(c.key, [c.sign(c.key, "session", {"session_id": self.id, **fields})])[0]

    def record_violation(self, kind: str, *, count: int = 1) -> dict[str, Any]:
        """Seal a violation; the gate applies the thresholds to the next decision."""
        return self._event({"event": "violation", "violation": kind, "count": count})

    def kill(self, reason: str) -> dict[str, Any]:
        """Kill the session by hand."""
        return self._event({"event": "kill", "rule_id": "session.manual_kill",
                            "reason": reason[:1024] or "killed by hand"})  # fmt: skip

    def end(self) -> dict[str, Any]:
        """Seal the session's end."""
        return self._event({"event": "end"})

    def __enter__(self) -> Self:
        """Use as a context manager that ends the session."""
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """End the session."""
        self.end()


class AsyncClient:
    """The asyncio twin of :class:`Client`: every call runs the client off the event loop."""

    content_hash = staticmethod(content_hash)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The same arguments as :class:`Client`."""
        self.sync = Client(*args, **kwargs)

    @classmethod
    def embedded(cls, ledger: Ledger | Path | str | None = None,
                 key: SigningKey | None = None) -> AsyncClient:  # fmt: skip
        """An async client over a ledger in this process."""
        made = cls.__new__(cls)
        made.sync = Client.embedded(ledger, key)
        return made

    async def _run(self, call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(call, *args, **kwargs)

    async def register(self, owner: SigningKey, name: str | None = None) -> list[dict[str, Any]]:
        """See :meth:`Client.register`."""
        return await self._run(self.sync.register, owner, name)

    async def set_policy(self, owner: SigningKey, document: str | Path) -> dict[str, Any]:
        """See :meth:`Client.set_policy`."""
        return await self._run(self.sync.set_policy, owner, document)

    async def log_action(self, action: str, **kwargs: Any) -> Logged:
        """See :meth:`Client.log_action`."""
        return await self._run(self.sync.log_action, action, **kwargs)

    async def agent(self, address: str) -> dict[str, Any]:
        """See :meth:`Client.agent`."""
        return await self._run(self.sync.agent, address)

    async def verify(self, entry_id: str) -> dict[str, Any]:
        """See :meth:`Client.verify`."""
        return await self._run(self.sync.verify, entry_id)

    async def verify_chain(self, address: str) -> dict[str, Any]:
        """See :meth:`Client.verify_chain`."""
        return await self._run(self.sync.verify_chain, address)

    async def aclose(self) -> None:
        """Release connections."""
        await self._run(self.sync.close)
