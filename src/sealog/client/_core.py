"""What a client does, written once for every backend and for sync and async alike.

Each operation is a generator that yields :data:`Call` values — sign this entry, submit these,
draft a decision, read that — and is sent their answers (or thrown their errors). A backend
answers calls (in process, or over HTTP); a runner drives the generator, blocking or awaiting.
So ``log_action`` is one piece of code whether the ledger is in this process or behind a URL,
and whether the caller is a thread or a coroutine.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from sealog.approvals import approval_fields
from sealog.canonical import encode_arguments
from sealog.client._api import Amount, Decided, Logged
from sealog.crypto import SigningKey
from sealog.errors import CanonicalError, EntryRejected, Error, NotFound, SessionKilled, UsageError
from sealog.gate._record import money
from sealog.gate.session import _decimal, owner_kill_fields
from sealog.governance import trace_fields
from sealog.ledger import SignedEntry
from sealog.ledger.entry import ENTRY_VERSION, MAX_POLICY_CHARS, format_time, sign_entry
from sealog.ledger.storage import Head
from sealog.policy import load_policy
from sealog.policy.store import document_of
from sealog.service import POLICY_MATCH, AgentInfo

__all__ = [
    "CHAIN_CONFLICTS",
    "Call",
    "Core",
    "Draft",
    "JoinReceipt",
    "KeepReasoning",
    "Op",
    "ReadAgent",
    "ReadApprovals",
    "ReadChain",
    "ReadEntry",
    "ReadProvenance",
    "ReadReceipts",
    "ReadReport",
    "ReadReports",
    "Release",
    "Sign",
    "Submit",
    "adrive",
    "agent_info",
    "drive",
    "sign_next",
]

T = TypeVar("T")
CHAIN_CONFLICTS = frozenset({"replayed-seq", "skipped-seq", "bad-chain"})
"""Refusals that mean the author's chain moved under the client (another writer)."""
_COMMON = frozenset({"v", "kind", "author", "seq", "prev", "time"})


@dataclass(frozen=True, slots=True)
class Sign:
    """Sign ``key``'s next entry (answer: the :class:`SignedEntry`); ``time`` as given."""

    key: SigningKey
    kind: str
    fields: Mapping[str, Any]
    time: str | None = None


@dataclass(frozen=True, slots=True)
class Submit:
    """Append entries all or nothing, as a write by ``key`` (answer: a receipt dict each)."""

    key: SigningKey
    entries: tuple[SignedEntry, ...]


@dataclass(frozen=True, slots=True)
class Release:
    """Entries signed but never submitted: the author's next entry follows its stored head."""

    entries: tuple[SignedEntry, ...]


@dataclass(frozen=True, slots=True)
class Draft:
    """The decision the gate makes on a proposed action (answer: ``DraftOut`` as a dict)."""

    key: SigningKey
    session_id: str
    proposed: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ReadAgent:
    """``GET /agents/{address}`` (answer: ``AgentOut`` as a dict)."""

    address: str


@dataclass(frozen=True, slots=True)
class ReadEntry:
    """``GET /verify/{entry_id}`` (answer: ``VerifyOut`` as a dict)."""

    entry_id: str


@dataclass(frozen=True, slots=True)
class ReadChain:
    """``GET /verify/chain/{address}`` (answer: ``ChainOut`` as a dict)."""

    address: str


@dataclass(frozen=True, slots=True)
class ReadReports:
    """``GET /agents/{address}/reports`` (answer: ``ReportsOut`` as a dict)."""

    address: str


@dataclass(frozen=True, slots=True)
class ReadReport:
    """``GET /reports/{report_id}`` (answer: ``ReportOut`` as a dict)."""

    report_id: str


@dataclass(frozen=True, slots=True)
class ReadApprovals:
    """``GET /approvals`` (answer: ``{"approvals": [...]}``)."""

    agent: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class KeepReasoning:
    """Keep a sealed trace's reasoning text beside the ledger (embedded only; answer: None)."""

    digest: str
    text: str


@dataclass(frozen=True, slots=True)
class ReadReceipts:
    """``GET /runs/{run_id}/receipts`` (answer: ``{"run_id", "receipts"}``)."""

    run_id: str


@dataclass(frozen=True, slots=True)
class JoinReceipt:
    """``POST /runs/{run_id}/receipts/join`` (answer: the outcome and the receipt)."""

    run_id: str
    artifact: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ReadProvenance:
    """``GET /provenance/{digest}`` (answer: the lineage as a dict)."""

    digest: str


Call = (
    Sign
    | Submit
    | Release
    | Draft
    | ReadAgent
    | ReadEntry
    | ReadChain
    | ReadReports
    | ReadReport
    | ReadProvenance
    | ReadApprovals
    | KeepReasoning
    | ReadReceipts
    | JoinReceipt
)
Op = Generator[Call, Any, T]


def sign_next(
    key: SigningKey, kind: str, fields: Mapping[str, Any], time: str | None, head: Head | None
) -> SignedEntry:
    """Sign the author's entry after ``head``, its common fields as ``Ledger.sign_next`` fills them.

    Raises:
        UsageError: ``fields`` sets a common field itself.
        EntryRejected: the fields break the entry format.
    """
    clash = _COMMON & fields.keys()
    if clash:
        raise UsageError(f"fields may not set {', '.join(sorted(clash))}: the client does")
    if time is None:
        now = format_time(datetime.now(UTC))
        time = now if head is None or now >= head.time else head.time
    body = {
        **fields,
        "v": ENTRY_VERSION,
        "kind": kind,
        "author": key.address,
        "seq": 0 if head is None else head.seq + 1,
        "prev": None if head is None else head.leaf.hex(),
        "time": time,
    }
    return sign_entry(key, body)


def agent_info(data: Mapping[str, Any]) -> AgentInfo:
    """An ``AgentOut`` body as the service's :class:`AgentInfo`."""
    stats = data["stats"]
    return AgentInfo(
        address=data["address"], role=data["role"], owner=data["owner"], name=data["name"],
        registered_at=data["registered_at"], registered_index=data["registered_index"],
        policy_version=data["policy_version"], entries=stats["entries"],
        denied_actions=stats["denied_actions"], sessions_killed=stats["sessions_killed"],
        **{k: stats[k] for k in stats if k.startswith("reports_")},
        decisions=stats["decisions"], reputation=stats["reputation"],
    )  # fmt: skip


def _sealed_time(value: str | datetime) -> str:
    """A time as entries seal it (``2026-01-02T03:04:05.000000Z``).

    Text in another ISO 8601 form with a timezone is converted; other text is left for the log
    to refuse.

    Raises:
        UsageError: a datetime without a timezone.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise UsageError("observed_at needs a timezone (datetime(..., tzinfo=UTC))")
        return format_time(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return format_time(moment) if moment.tzinfo is not None else value


def _json_args(args: Mapping[str, Any] | None) -> dict[str, Any]:
    try:
        encode_arguments(dict(args or {}))
    except CanonicalError as exc:
        raise UsageError(f"the action's args must be JSON: {exc.message}") from exc
    return dict(args or {})


@dataclass(slots=True)
class SessionState:
    """What a client session knows of itself without asking the service."""

    id: str
    run_id: str | None
    killed: bool = False
    ended: bool = False
    open: set[str] = field(default_factory=set)
    approved: set[str] = field(default_factory=set)
    """Ask decisions the owner approved: their actions may be sealed as after an allow."""


class Core:
    """The operations of one client (one agent key); a runner drives them against a backend."""

    def __init__(self, key: SigningKey) -> None:
        """Operate as the agent ``key``."""
        if not isinstance(key, SigningKey):
            raise UsageError("a client signs as an agent: pass key=SigningKey")
        self.key = key
        self.default: SessionState | None = None

    # -- sealing ------------------------------------------------------------------------------

    def seal(self, key: SigningKey, *specs: tuple[str, Mapping[str, Any]]) -> Op[list[Any]]:
        """Sign entries of ``key`` and submit them in one batch; their receipts."""
        signed: list[SignedEntry] = []
        try:
            for kind, fields in specs:
                signed.append((yield Sign(key, kind, fields)))
        except Error:
            if signed:
                yield Release(tuple(signed))
            raise
        receipts: list[Any] = yield Submit(key, tuple(signed))
        return receipts

    # -- the interface ------------------------------------------------------------------------

    def register(self, owner: SigningKey, name: str | None) -> Op[list[dict[str, Any]]]:
        """Register the agent under ``owner``, the owner itself first if it is new."""
        specs: list[tuple[str, Mapping[str, Any]]] = []
        try:
            yield ReadAgent(owner.address)
        except NotFound:
            own = {"subject": owner.address, "public_key": owner.public_key.b64, "role": "owner"}
            specs.append(("register", own))
        its: dict[str, Any] = {"subject": self.key.address,
                               "public_key": self.key.public_key.b64, "role": "agent"}  # fmt: skip
        if name is not None:
            its["name"] = name
        specs.append(("register", its))
        receipts = yield from self.seal(owner, *specs)
        return cast("list[dict[str, Any]]", receipts)

    def set_policy(self, owner: SigningKey, document: str | Path) -> Op[dict[str, Any]]:
        """Validate the policy and seal it, as ``sealog.policy.store.set_policy`` builds it."""
        text, fmt, source = document_of(document)
        policy = load_policy(text, source=source or "<policy>")
        agent = self.key.address
        info = agent_info((yield ReadAgent(agent)))
        if info.role != "agent":
            raise UsageError(f"{agent} is an owner; policies govern agents")
        if info.owner != owner.address:
            raise UsageError(f"{owner.address} is not the owner of {agent}; only its owner sets it")
        if len(text) > MAX_POLICY_CHARS:
            raise UsageError(
                f"policy is {len(text)} characters; at most {MAX_POLICY_CHARS} are sealed"
            )
        fields: dict[str, Any] = {
            "agent": agent,
            "version": (info.policy_version or 0) + 1,
            "document": text,
            "format": fmt,
            "policy_hash": policy.hash(),
        }
        if source is not None:
            fields["source"] = source
        receipts = yield from self.seal(owner, ("policy", fields))
        return cast("dict[str, Any]", receipts[0])

    def kill_session(
        self, owner: SigningKey, session_id: str, reason: str, agent: str | None
    ) -> Op[dict[str, Any]]:
        """Seal the owner's kill of one of an agent's sessions (rule ``session.manual_kill``)."""
        agent = agent or self.key.address
        info = agent_info((yield ReadAgent(agent)))
        if info.owner != owner.address:
            raise UsageError(
                f"{owner.address} is not the owner of {agent}; only its owner kills its sessions"
            )
        fields = owner_kill_fields(agent, session_id, reason)
        receipts = yield from self.seal(owner, ("session", fields))
        return cast("dict[str, Any]", receipts[0])

    def report(
        self,
        subject: str,
        category: str,
        action_observed: str,
        observed_at: str | datetime,
        details: Mapping[str, Any],
    ) -> Op[dict[str, Any]]:
        """Seal a report about ``subject`` as this client's key (spec §4.5d)."""
        when = _sealed_time(observed_at)
        fields: dict[str, Any] = {"subject": subject, "category": category,
                                  "action_observed": action_observed, "observed_at": when,
                                  "severity": details.get("severity") or "medium"}  # fmt: skip
        for name in ("target", "description", "evidence_hash"):
            if details.get(name) is not None:
                fields[name] = details[name]
        receipts = yield from self.seal(self.key, ("report", fields))
        return cast("dict[str, Any]", receipts[0])

    def respond(
        self,
        report_id: str,
        *,
        acknowledged: bool,
        counter_evidence_hash: str | None,
        note: str | None,
        owner: SigningKey | None,
    ) -> Op[dict[str, Any]]:
        """Seal an answer to a report about this agent, as the agent or as its ``owner``."""
        fields: dict[str, Any] = {"report": report_id, "acknowledged": acknowledged}
        if counter_evidence_hash is not None:
            fields["counter_evidence_hash"] = counter_evidence_hash
        if note is not None:
            fields["note"] = note
        receipts = yield from self.seal(owner or self.key, ("response", fields))
        return cast("dict[str, Any]", receipts[0])

    def decide_ask(
        self, owner: SigningKey, decision: str, *, approve: bool, reason: str | None
    ) -> Op[dict[str, Any]]:
        """Seal the owner's verdict on one of the agent's asks (spec §4.5f)."""
        fields = approval_fields(decision, approve=approve, reason=reason)
        receipts = yield from self.seal(owner, ("approval", fields))
        return cast("dict[str, Any]", receipts[0])

    def log_trace(self, record: Mapping[str, Any], *, keep_reasoning: bool) -> Op[dict[str, Any]]:
        """Seal a governance trace record as the agent (spec §4.5g); its receipt.

        The reasoning is sealed by hash; its text is kept (outside the tree) only if asked.
        """
        fields, reasoning = trace_fields(record)
        if keep_reasoning and reasoning is not None:  # first: a remote refuses before sealing
            yield KeepReasoning(str(fields["reasoning_hash"]), reasoning)
        receipts = yield from self.seal(self.key, ("trace", fields))
        receipt = cast("dict[str, Any]", receipts[0])
        return {**receipt, "traceHash": receipt["id"]}

    def name_approver(
        self, owner: SigningKey, approver: str, *, active: bool
    ) -> Op[dict[str, Any]]:
        """Seal the owner's naming (or withdrawal) of an approver (spec §4.5h)."""
        fields = {"approver": approver, "active": active}
        receipts = yield from self.seal(owner, ("approver", fields))
        return cast("dict[str, Any]", receipts[0])

    def start(self, session_id: str | None, run_id: str | None) -> Op[SessionState]:
        """Seal a session's start."""
        state = SessionState(session_id or f"s-{uuid.uuid4().hex}", run_id)
        fields: dict[str, Any] = {"session_id": state.id, "event": "start"}
        if run_id is not None:
            fields["run_id"] = run_id
        yield from self.seal(self.key, ("session", fields))
        return state

    def log_action(
        self,
        action: str,
        *,
        target: str | None,
        content_hash: str | None,
        metadata: Mapping[str, Any] | None,
        session_id: str | None,
        cost: Amount | None,
        sources: Sequence[str] = (),
    ) -> Op[Logged]:
        """The seed call: the decision drafted, signed and sealed with the action citing it."""
        actual = None if cost is None else _decimal(cost, "cost")
        meta = dict(metadata or {})
        _json_args(meta)
        if session_id is None:
            if self.default is None:  # a killed default session stays killed: no way around
                self.default = yield from self.start(None, None)
            state = self.default
        else:
            state = SessionState(session_id, None)
        proposed: dict[str, Any] = {"action": action}
        if target is not None:
            proposed["target"] = target
        if actual is not None:
            proposed["estimate"] = money(actual)
        draft = yield Draft(self.key, state.id, proposed)
        if draft["outcome"] == "kill":
            yield from self._killed(state, draft, action, target)
        decision: SignedEntry = yield Sign(self.key, "decision", draft["fields"], draft["time"])
        fields: dict[str, Any] = {"action": action, "session_id": state.id,
                                  "decision": decision.id, "metadata": meta}  # fmt: skip
        optional = {"target": target, "content_hash": content_hash,
                    "cost": None if actual is None else money(actual),
                    "policy_version": None if draft["policy_version"] is None
                    else str(draft["policy_version"])}  # fmt: skip
        fields.update({k: v for k, v in optional.items() if v is not None})
        if sources:
            fields["sources"] = list(sources)
        try:
            act: SignedEntry = yield Sign(self.key, "action", fields)
        except Error:
            yield Release((decision,))
            raise
        receipts = yield Submit(self.key, (decision, act))
        out = receipts[1]
        return Logged(POLICY_MATCH[str(draft["outcome"])], draft["policy_version"], act.id,
                      int(out["index"]), decision.id, out)  # fmt: skip

    def _killed(
        self, state: SessionState, draft: Mapping[str, Any], action: str, target: str | None
    ) -> Op[None]:
        """Seal a kill decision (and the session's kill, the first time), then refuse."""
        decided = yield from self._seal_decision(state, draft, (action, target, None))
        if decided.blocking_rule != "session.killed":  # killed now, not before: seal the kill
            kill = {"session_id": state.id, "event": "kill", "decision": decided.entry_id,
                    "rule_id": decided.blocking_rule or "session.killed",
                    "reason": decided.reason[:1024]}  # fmt: skip
            yield from self.seal(self.key, ("session", kill))
        state.killed = True
        text = f"{action} refused, session killed ({decided.blocking_rule}): {decided.reason}"
        raise SessionKilled(text, decision=decided)

    def _seal_decision(
        self,
        state: SessionState,
        draft: Mapping[str, Any],
        proposed: tuple[str, str | None, str | None],
    ) -> Op[Decided]:
        """Sign the drafted decision as drafted (its fields and time) and seal it."""
        entry: SignedEntry = yield Sign(self.key, "decision", draft["fields"], draft["time"])
        receipt = (yield Submit(self.key, (entry,)))[0]
        f = draft["fields"]
        action, target, tool_call_id = proposed
        return Decided(str(f["outcome"]), draft["policy_version"], entry.id, int(receipt["index"]),
                       state.id, action, target, tool_call_id, f.get("blocking_rule"),
                       tuple(f.get("failed", ())))  # fmt: skip

    def pre_action(
        self,
        state: SessionState,
        action: str,
        *,
        target: str | None,
        tool: str | None,
        args: Mapping[str, Any] | None,
        estimate: Amount,
        tool_call_id: str | None,
    ) -> Op[Decided]:
        """Draft, sign and seal a decision; a ``kill`` raises SessionKilled."""
        if state.ended:
            raise UsageError(f"session {state.id!r} has ended; start a new one")
        proposed: dict[str, Any] = {"action": action, "args": _json_args(args),
                                    "estimate": money(_decimal(estimate, "estimate"))}  # fmt: skip
        optional = {"target": target, "tool": tool, "tool_call_id": tool_call_id}
        proposed.update({k: v for k, v in optional.items() if v is not None})
        draft = yield Draft(self.key, state.id, proposed)
        if draft["outcome"] == "kill":
            yield from self._killed(state, draft, action, target)
        decided = yield from self._seal_decision(state, draft, (action, target, tool_call_id))
        if decided.allowed:
            state.open.add(decided.entry_id)
        return decided

    def post_action(
        self,
        state: SessionState,
        decision: Decided,
        *,
        cost: Amount | None,
        content_hash: str | None,
        metadata: Mapping[str, Any] | None,
    ) -> Op[dict[str, Any]]:
        """Seal the action an allowed decision let through."""
        if decision.session_id != state.id:
            raise UsageError(f"decision {decision.entry_id[:16]}… is not of session {state.id}")
        if not decision.allowed and decision.entry_id not in state.approved:
            raise UsageError(f"decision was {decision.outcome}: there is no action to record")
        if decision.entry_id not in state.open:
            raise UsageError(f"decision {decision.entry_id[:16]}… was settled already")
        actual = None if cost is None else _decimal(cost, "cost")
        fields: dict[str, Any] = {"action": decision.action, "session_id": state.id,
                                  "decision": decision.entry_id,
                                  "metadata": {**_json_args(metadata), "status": "ok"}}  # fmt: skip
        optional = {"target": decision.target, "run_id": state.run_id,
                    "tool_call_id": decision.tool_call_id, "content_hash": content_hash,
                    "cost": None if actual is None else money(actual),
                    "policy_version": None if decision.policy_version is None
                    else str(decision.policy_version)}  # fmt: skip
        fields.update({k: v for k, v in optional.items() if v is not None})
        receipts = yield from self.seal(self.key, ("action", fields))
        state.open.discard(decision.entry_id)
        return cast("dict[str, Any]", receipts[0])

    def ask_status(self, state: SessionState, decision: Decided) -> Op[str]:
        """The owner's verdict on an ask so far: pending, approved, denied or expired.

        Approved, its action may now be sealed.
        """
        if decision.outcome != "ask" or decision.session_id != state.id:
            raise UsageError("wait_approval takes an ask decision of this session")
        found: dict[str, Any] = yield ReadApprovals(self.key.address, None)
        status = next(
            (str(a["status"]) for a in found["approvals"] if a["decision"] == decision.entry_id),
            "pending",
        )
        if status == "approved":
            state.approved.add(decision.entry_id)
            state.open.add(decision.entry_id)
        return status

    def session_event(self, state: SessionState, fields: Mapping[str, Any]) -> Op[dict[str, Any]]:
        """Seal a ``session`` entry of ``state``."""
        receipts = yield from self.seal(self.key, ("session", {"session_id": state.id, **fields}))
        return cast("dict[str, Any]", receipts[0])

    def record_violation(self, state: SessionState, kind: str, count: int) -> Op[dict[str, Any]]:
        """Seal a violation a scanner found."""
        if type(count) is not int or count < 1:
            raise UsageError(f"count must be an integer ≥ 1, got {count!r}")
        fields = {"event": "violation", "violation": kind, "count": count}
        return (yield from self.session_event(state, fields))

    def kill(self, state: SessionState, reason: str) -> Op[None]:
        """Kill by hand (rule ``session.manual_kill``); idempotent."""
        if not state.killed:
            fields = {"event": "kill", "rule_id": "session.manual_kill",
                      "reason": reason[:1024] or "killed by hand"}  # fmt: skip
            yield from self.session_event(state, fields)
            state.killed = True

    def end(self, state: SessionState) -> Op[None]:
        """Seal the end; idempotent."""
        if not state.ended:
            yield from self.session_event(state, {"event": "end"})
            state.ended = True

    def read(
        self,
        call: ReadAgent
        | ReadEntry
        | ReadChain
        | ReadReports
        | ReadReport
        | ReadProvenance
        | ReadApprovals
        | ReadReceipts
        | JoinReceipt,
    ) -> Op[dict[str, Any]]:
        """A public read."""
        found: dict[str, Any] = yield call
        return found


def drive(answer: Callable[[Call], Any], make: Callable[[], Op[T]]) -> T:
    """Run an operation to its end, each call answered by ``answer``.

    An operation refused because the author's chain moved (another writer of the same key) is
    run once more from the start, on the chain as the service now has it.
    """
    for attempt in (1, 2):
        try:
            return _steps(answer, make())
        except EntryRejected as exc:
            if attempt == 2 or exc.code not in CHAIN_CONFLICTS:  # noqa: PLR2004 - one retry
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _steps(answer: Callable[[Call], Any], op: Op[T]) -> T:
    try:
        call = next(op)
        while True:
            try:
                result = answer(call)
            except Error as exc:
                call = op.throw(exc)
            else:
                call = op.send(result)
    except StopIteration as stop:
        return cast("T", stop.value)


async def adrive(answer: Callable[[Call], Awaitable[Any]], make: Callable[[], Op[T]]) -> T:
    """:func:`drive` for coroutines: each call's answer is awaited."""
    for attempt in (1, 2):
        try:
            return await _asteps(answer, make())
        except EntryRejected as exc:
            if attempt == 2 or exc.code not in CHAIN_CONFLICTS:  # noqa: PLR2004 - one retry
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _asteps(answer: Callable[[Call], Awaitable[Any]], op: Op[T]) -> T:
    try:
        call = next(op)
        while True:
            try:
                result = await answer(call)
            except Error as exc:
                call = op.throw(exc)
            else:
                call = op.send(result)
    except StopIteration as stop:
        return cast("T", stop.value)
