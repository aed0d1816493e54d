"""The live gate: an agent's policy in force, sessions, and every decision sealed before the act.

A :class:`Gate` binds an agent's signing key to a ledger and to the agent's sealed policy (the
version in force, or an unsealed policy for an agent that has none yet). Its :class:`Session`
is the seeds' flow::

    with gate.session(run_id="run-7") as session:
        decision = session.pre_action("transfer", target="acct:42", args={"amount": 500})
        if decision.allowed:
            ...                                   # do it
            session.post_action(decision, cost="0.0031")

``pre_action`` decides and seals a ``decision`` entry before it returns, so the log proves the
gate ran before the action entry that ``post_action`` seals citing it. The estimate is reserved
at ``pre_action`` and replaced by the actual cost at ``post_action``: in-flight actions cannot
jointly overshoot a budget, and limits apply to what was really spent. A kill (by a rule, a
violation threshold, a budget overrun, or :meth:`Session.kill`) seals a ``session`` kill entry,
refuses every later action of the session and of its children with :class:`SessionKilled`, and
posts the policy's kill-switch webhooks off the decision path.

Thread-safe: one lock per tree of sessions (a session and its children) orders decisions, and
each gate orders its agent's entries, so the sealed order is the order decisions were made —
which is what makes ``verify --replay`` exact. :mod:`sealog.gate.aio` has the asyncio twins.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar

from sealog import approvals
from sealog.crypto import SigningKey
from sealog.errors import (
    ApprovalRequired,
    EntryRejected,
    NotFound,
    PolicyViolation,
    SessionKilled,
    UsageError,
)
from sealog.gate._book import Book, BookError, Tracked, judge
from sealog.gate._record import Sealable, decision_fields, money
from sealog.gate.audit import AuditWriter
from sealog.ledger import Ledger, Receipt
from sealog.ledger.entry import SignedEntry, parse_time
from sealog.policy import (
    CompiledPolicy,
    Decision,
    Policy,
    ProposedAction,
    SessionState,
    Verdict,
    compile_policy,
    load_policy,
)
from sealog.policy.cost import PriceOverrides, normalize_usage, price
from sealog.policy.notify import Delivery, Notification, Notifier, RetryPolicy, Webhook
from sealog.policy.store import current_policy

__all__ = ["WEBHOOK_SECRET_ENV", "Gate", "GateDecision", "Guarded", "Session"]

_LOG = logging.getLogger("sealog.gate")
P = ParamSpec("P")
R = TypeVar("R")

WEBHOOK_SECRET_ENV = "SEALOG_WEBHOOK_SECRET"  # noqa: S105 - a variable name, not a secret
"""Where the kill-switch webhooks' HMAC secret is read from when none is passed."""
MANUAL_KILL = "session.manual_kill"
"""The rule id of a kill ordered by hand (:meth:`Session.kill`, or the owner's) rather than by
a policy rule."""
_RELEARN = frozenset({"stale-policy", "session-killed"})
"""Refusals of a decision that mean the gate's view is behind the log: learn, decide again."""


def _now() -> datetime:
    return datetime.now(UTC)


def _decimal(value: object, what: str) -> Decimal:
    """A non-negative finite amount from a Decimal, int, decimal string or float."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str | float):
        raise UsageError(f"{what} must be a decimal amount, got {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise UsageError(f"{what} must be a decimal amount, got {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise UsageError(f"{what} must be a finite amount ≥ 0, got {value!r}")
    text = money(amount.copy_abs())  # -0 is 0: entries refuse a signed amount
    whole, _, fraction = text.partition(".")
    if len(whole) > 31 or len(fraction) > 18:  # noqa: PLR2004 - the entry format's bounds
        raise UsageError(f"{what} {value!r} has more than 31 digits or 18 decimals")
    return Decimal(text)  # exactly what is sealed, so the judged amount is the sealed one


@dataclass(frozen=True, slots=True)
class GateDecision:
    """A decision as sealed: the engine's :class:`Decision` and where the ledger holds it."""

    decision: Decision
    entry_id: str
    index: int
    session_id: str
    action: ProposedAction
    policy_version: int | None
    """The sealed policy version it was made under (None: an unsealed policy)."""
    tool_call_id: str | None = None

    @property
    def outcome(self) -> str:
        """``allow``, ``deny``, ``ask`` or ``kill``."""
        return self.decision.outcome

    @property
    def allowed(self) -> bool:
        """True only for ``allow``."""
        return self.decision.allowed

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        """A verdict per rule evaluated, in policy order."""
        return self.decision.verdicts

    @property
    def blocking_rule(self) -> str | None:
        """The rule that decided a refusal."""
        return self.decision.blocking_rule

    def verdict(self, rule_id: str) -> Verdict | None:
        """What one rule said (None if it did not apply), e.g. the words of a passing limit."""
        for v in self.decision.verdicts:
            if v.rule_id == rule_id:
                return v
        return None

    @property
    def reason(self) -> str:
        """The blocking verdict's words, or that every rule passed."""
        for v in self.decision.verdicts:
            if v.rule_id == self.decision.blocking_rule:
                return v.detail
        return "every rule passed"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the decision, the entry that seals it and the policy version."""
        return {
            **self.decision.to_dict(),
            "sealed_policy_version": self.policy_version,
            "entry_id": self.entry_id,
            "index": self.index,
            "session_id": self.session_id,
            "action": self.action.action,
            "target": self.action.target,
        }


_REFUSED = {"deny": "denied", "ask": "held for approval", "kill": "refused, session killed"}


def raise_for(decision: GateDecision) -> None:
    """Raise the typed refusal for a decision that is not ``allow``."""
    verb = _REFUSED.get(decision.outcome, decision.outcome)
    text = f"{decision.action.action} {verb} ({decision.blocking_rule}): {decision.reason}"
    if decision.outcome == "kill":
        raise SessionKilled(text, decision=decision)
    if decision.outcome == "ask":
        raise ApprovalRequired(text, decision=decision)
    if decision.outcome == "deny":
        raise PolicyViolation(text, decision=decision)


class Gate:
    """An agent's gate over a ledger: its key, its policy in force, its sessions' notifier."""

    def __init__(
        self,
        ledger: Ledger,
        agent: SigningKey,
        *,
        policy: Policy | str | Path | None = None,
        webhook_secret: str | bytes | None = None,
        notifier: Notifier | None = None,
        retry: RetryPolicy | None = None,
        prices: PriceOverrides | None = None,
        seal_args: bool = True,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """Open the gate; nothing is sealed until a session starts.

        Args:
            ledger: Where decisions and actions are sealed.
            agent: The agent's signing key (registered in ``ledger``).
            policy: The policy to apply when the agent has no sealed one (a :class:`Policy`,
                a path, or the text). None: the sealed version in force. A sealed policy
                always wins; passing a different one is refused, not silently ignored.
            webhook_secret: The HMAC secret for the kill-switch webhooks (default: the
                ``SEALOG_WEBHOOK_SECRET`` environment variable).
            notifier: Post notifications through this notifier instead of one built from the
                policy's kill switch (its deliveries are then not sealed by the gate).
            retry: Delivery bounds of the built notifier.
            prices: Price overrides for :meth:`Session.charge_usage`.
            seal_args: Seal the arguments' text in each decision (needed to replay CEL
                conditions and sums); False seals only their digest.
            clock: The source of decision times (UTC); injectable for tests and replays.

        Raises:
            NotFound: the agent is not registered, or has no sealed policy and none was given.
            UsageError: the key is an owner's, the given policy is not the one in force, or the
                policy has webhooks and no secret is configured.
            PolicyError: the given policy is invalid.
        """
        registration = ledger.agent(agent.address)
        if registration.role != "agent":
            raise UsageError(f"{agent.address} is an owner; a gate runs an agent's key")
        self.ledger, self.key, self.address = ledger, agent, agent.address
        self.seal_args, self.prices, self._clock = seal_args, prices, clock
        self.lock = threading.RLock()
        self._given = None if policy is None else _load(policy)
        self._compiled: dict[str, CompiledPolicy] = {}
        self.policy_version: int | None = None
        self.policy: CompiledPolicy = self.refresh()
        self._secret = webhook_secret or os.environ.get(WEBHOOK_SECRET_ENV)
        self._retry = retry
        self._own_notifier = notifier is None
        self._notifier = notifier or self._build_notifier(self.policy.policy)
        self._audit: AuditWriter | None = None

    # -- the policy in force ------------------------------------------------------------------

    def refresh(self) -> CompiledPolicy:
        """Load the policy in force again (after the owner sealed a new version).

        Raises:
            NotFound: no sealed policy and none was given.
            UsageError: a policy was given and a different one is sealed.
        """
        version = self.ledger.policy_version(self.address)
        if version:
            sealed = current_policy(self.ledger, self.address, version)
            policy = self._compile_hash(sealed.policy_hash, sealed.policy)
            if self._given is not None and self._given.hash() != sealed.policy_hash:
                raise UsageError(
                    f"the policy given is not {self.address}'s sealed version {version}",
                    hint="seal it with 'sealog policy set', or open the gate without one",
                )
        elif self._given is not None:
            given = self._given
            policy = self._compile_hash(given.hash(), lambda: given)
        else:
            raise NotFound(
                f"agent {self.address} has no policy",
                hint="seal one with 'sealog policy set' or pass policy= to the gate",
            )
        self.policy, self.policy_version = policy, version or None
        return policy

    def compiled(self, version: int | None) -> CompiledPolicy:
        """The compiled policy of one of the agent's versions (None: the unsealed one)."""
        if version is None or version == self.policy_version:
            return self.policy
        sealed = current_policy(self.ledger, self.address, version)
        return self._compile_hash(sealed.policy_hash, sealed.policy)

    def _compile_hash(self, policy_hash: str, load: Callable[[], Policy]) -> CompiledPolicy:
        found = self._compiled.get(policy_hash)
        if found is None:
            found = self._compiled[policy_hash] = compile_policy(load())
        return found

    # -- sessions -----------------------------------------------------------------------------

    def session(
        self,
        session_id: str | None = None,
        *,
        run_id: str | None = None,
        parent: Session | None = None,
    ) -> Session:
        """Start a session (sealing its ``start`` entry), optionally as a child of ``parent``.

        A child's cost rolls up into every ancestor, whose session budgets it is held to; a
        killed ancestor kills its children. The child may belong to another agent's gate.

        Raises:
            UsageError: ``session_id`` is empty or too long, or already started in this tree.
        """
        book = parent.book if parent is not None else Book()
        sid = session_id or f"s-{uuid.uuid4().hex}"
        if not 0 < len(sid) <= 256:  # noqa: PLR2004 - the entry's limit
            raise UsageError("a session id is 1 to 256 characters")
        with book.lock:
            if sid in book:
                raise UsageError(f"session {sid!r} already exists")
            fields: dict[str, Any] = {
                "session_id": sid,
                "event": "start",
                "policy_hash": self.policy.policy_hash,
            }
            if parent is not None:
                fields["parent_session"] = parent.id
            if run_id is not None:
                fields["run_id"] = run_id
            self.seal(book, "session", fields)
        return Session(self, book, sid, run_id=run_id, parent=parent)

    def resume(self, session_id: str) -> Session:
        """Continue a session this agent started earlier (in another process, or a CLI call).

        Its state — and its ancestors' — is folded from the whole log, as a replay would.

        Raises:
            NotFound: the log holds no session ``session_id`` of this agent.
            UsageError: the session has ended.
        """
        book = Book()
        for stored in self.ledger.entries():
            with contextlib.suppress(BookError):  # replay reports those; they change nothing
                book.apply(stored.entry, stored.index)
        if session_id not in book or book.get(session_id).agent != self.address:
            raise NotFound(f"agent {self.address} has no session {session_id!r} in this ledger")
        tracked = book.get(session_id)
        if tracked.ended:
            raise UsageError(f"session {session_id!r} has ended; start a new one")
        run_id = self.ledger.get(tracked.start_index).entry.fields.get("run_id")
        return Session(self, book, session_id, run_id=None if run_id is None else str(run_id),
                       parent=None)  # fmt: skip

    def learn_kills(self, book: Book) -> None:
        """Fold into ``book`` the kills of this agent's sessions that its owner sealed.

        The log refuses any decision but a kill in such a session (``session-killed``, spec
        §4.8 rule 9); the gate learns the kill from it and decides again, so an owner's kill
        takes effect at the agent's next decision.
        """
        owner = self.ledger.agent(self.address).owner
        for stored in self.ledger.entries(agent=owner):
            f = stored.entry.fields
            if stored.entry.kind != "session" or f.get("agent") != self.address:
                continue
            sid = str(f["session_id"])
            if sid not in book or book.get(sid).state.killed_by is None:
                with contextlib.suppress(BookError):  # another gate's session: not ours
                    book.apply(stored.entry, stored.index)

    def policy_for(self, agent: str) -> CompiledPolicy:
        """The policy in force for ``agent``: this gate's own, or another agent's sealed one.

        Raises:
            NotFound: the other agent has no sealed policy.
        """
        if agent == self.address:
            return self.policy
        sealed = current_policy(self.ledger, agent)
        return self._compile_hash(sealed.policy_hash, sealed.policy)

    def now(self) -> datetime:
        """The next decision time: the clock, never before the agent's latest entry."""
        now = self._clock().astimezone(UTC)
        head = self.ledger.head(self.address)
        if head is not None and (last := parse_time(head.time)) > now:
            return last
        return now

    def seal(
        self, book: Book, kind: str, fields: Mapping[str, Any], *, time: datetime | None = None
    ) -> tuple[SignedEntry, Receipt]:
        """Sign, append (durably) and fold one of the agent's entries into ``book``."""
        with self.lock:
            entry = self.ledger.sign_next(self.key, kind, fields, time=time or self.now())
            receipt = self.ledger.submit([entry])[0]
            book.apply(entry, receipt.index)
            writer = self._audit_writer()
            if writer is not None:
                sid = str(fields.get("session_id"))
                writer.write(entry, receipt.index, book.get(sid).state if sid in book else None)
        return entry, receipt

    def _audit_writer(self) -> AuditWriter | None:
        """The writer of the policy's JSONL audit export, if the policy in force has one."""
        export = self.policy.policy.audit
        if export is None or export.path is None:
            return None
        if self._audit is None or self._audit.path != Path(export.path).expanduser():
            self._audit = AuditWriter(export)
        return self._audit

    # -- notifications ------------------------------------------------------------------------

    def _build_notifier(self, policy: Policy) -> Notifier | None:
        switch = policy.kill_switch
        if switch is None or not switch.enabled or not switch.webhooks:
            return None
        if not self._secret:
            raise UsageError(
                "the policy's kill switch posts webhooks but no signing secret is configured",
                hint=f"set {WEBHOOK_SECRET_ENV} or pass webhook_secret= to the gate",
            )
        hooks = [Webhook(url, self._secret, switch.grace_period) for url in switch.webhooks]
        return Notifier(hooks, retry=self._retry, on_delivery=self._record_delivery)

    def notify(self, notification: Notification) -> None:
        """Hand a notification to the notifier (returns at once; never raises)."""
        if self._notifier is not None:
            self._notifier.notify(notification)

    @property
    def deliveries(self) -> tuple[Delivery, ...]:
        """Recent webhook outcomes."""
        return () if self._notifier is None else self._notifier.deliveries

    def _record_delivery(self, delivery: Delivery) -> None:
        """Seal a webhook outcome (called on the notifier's thread)."""
        fields = {
            "session_id": delivery.session_id,
            "event": "delivery",
            "delivery": delivery.record(),
        }
        try:
            with self.lock:
                self.ledger.append_entry(self.key, "session", fields, time=self.now())
        except Exception:  # noqa: BLE001 - the worker thread must survive a failed seal
            _LOG.exception("webhook delivery %s could not be sealed", delivery.delivery_id)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is pending (held kills at once) and stop the notifier."""
        if self._notifier is not None and self._own_notifier:
            self._notifier.close(timeout)

    def __enter__(self) -> Self:
        """Use as a context manager that closes the notifier."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Deliver pending notifications."""
        self.close()


def _load(policy: Policy | str | Path) -> Policy:
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, Path):
        return load_policy(policy)
    return load_policy(policy, source="<policy>")


class Session:
    """One run of an agent under its gate: decisions, actions, costs, violations, kill."""

    def __init__(
        self, gate: Gate, book: Book, session_id: str, *, run_id: str | None, parent: Session | None
    ) -> None:
        """Use :meth:`Gate.session`."""
        self.gate, self.book, self.id, self.run_id, self.parent = (
            gate,
            book,
            session_id,
            run_id,
            parent,
        )
        self._alerted: set[str] = set()

    # -- reading ------------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """What the session has seen (killed if an ancestor was)."""
        with self.book.lock:
            return self.book.effective(self.id)

    @property
    def killed(self) -> bool:
        """Whether every later action is refused."""
        return self.state.killed_by is not None

    @property
    def total_cost(self) -> Decimal:
        """Spent (settled) plus reserved, children included."""
        return self.state.total_cost

    @property
    def reserved(self) -> Decimal:
        """Estimates of allowed actions whose actual cost is not in yet."""
        with self.book.lock:
            return sum(self.book.get(self.id).reserved.values(), Decimal(0))

    # -- the gate -----------------------------------------------------------------------------

    def pre_action(
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
        """Decide on an action and seal the decision before returning it.

        Returns the decision for ``allow``, ``deny`` and ``ask`` (the caller must act only on
        ``allow``; :meth:`enforce` raises for the others).

        Raises:
            SessionKilled: the decision is ``kill``, or the session was killed already (the
                refusal is sealed too: the log shows the agent kept trying).
            UsageError: a malformed argument (``args`` not JSON, a negative estimate …), or the
                session has ended.
            StorageError, EntryRejected: the decision could not be sealed; do not act.
        """
        cost = _decimal(estimate, "estimate")
        with self.book.lock, self.gate.lock:
            if self.book.get(self.id).ended:
                raise UsageError(f"session {self.id!r} has ended; start a new one")
            for attempt in (1, 2):
                proposed = ProposedAction(
                    action=action,
                    at=self.gate.now(),
                    tool=tool,
                    target=target,
                    args=dict(args or {}),
                    paths=tuple(paths),
                    cost=cost,
                    sources=tuple(sources),
                )
                sealable = Sealable.of(proposed)
                before = self.book.get(self.id).state.killed_by
                decision = judge(self.book, self.id, proposed, self._policy_of)
                fields = decision_fields(
                    sealable,
                    decision,
                    session_id=self.id,
                    policy_version=self.gate.policy_version,
                    parent_session=self.book.get(self.id).parent,
                    run_id=self.run_id,
                    tool_call_id=tool_call_id,
                    seal_args=self.gate.seal_args,
                )
                try:
                    entry, receipt = self.gate.seal(self.book, "decision", fields, time=proposed.at)
                except EntryRejected as exc:
                    if exc.code not in _RELEARN or attempt == 2:  # noqa: PLR2004 - one retry
                        raise
                    if exc.code == "stale-policy":
                        self.gate.refresh()
                    else:
                        self.gate.learn_kills(self.book)
                    continue
                break
            sealed = GateDecision(
                decision,
                entry.id,
                receipt.index,
                self.id,
                proposed,
                self.gate.policy_version,
                tool_call_id,
            )
            if decision.outcome == "kill":
                self._kill_for(sealed, already=before is not None)
            elif decision.alerts:
                self._alert(decision, proposed.at)
        if decision.outcome == "kill":
            raise_for(sealed)
        return sealed

    def _kill_for(self, sealed: GateDecision, *, already: bool) -> None:
        """Seal the kills a kill decision calls for.

        This session's; and, for a ``parent.…`` rule, the ancestor's whose kill-mode budget the
        action would break: the whole run is over budget, so that ancestor and every session
        under it stop.
        """
        rule = sealed.decision.blocking_rule or "session.killed"
        depth, own = 0, rule
        while own.startswith("parent."):
            depth, own = depth + 1, own.removeprefix("parent.")
        target: Session | None = self
        for _ in range(depth):
            target = None if target is None else target.parent
        if depth and target is not None and target.book.get(target.id).state.killed_by is None:
            target._kill(own, sealed.reason, decision=sealed)  # noqa: SLF001 - the same class
        if not already:
            self._kill(rule, sealed.reason, decision=sealed)

    def _policy_of(self, tracked: Tracked) -> CompiledPolicy:
        """The policy a session of this tree is judged by: its own gate's."""
        session: Session | None = self
        while session is not None and session.id != tracked.session_id:
            session = session.parent
        if session is None:  # a resumed session's ancestors: their agents' policies in force
            return self.gate.policy_for(tracked.agent)
        gate = session.gate
        if gate is not self.gate and gate.policy_version != (
            self.gate.ledger.policy_version(gate.address) or None
        ):  # the sequencer holds only the author's decisions to its version in force
            gate.refresh()
        return gate.policy

    def wait_approval(
        self, decision: GateDecision, *, poll: float = 0.25, until: datetime | None = None
    ) -> str:
        """Wait for the owner's verdict on an ``ask``: ``approved``, ``denied`` or ``expired``.

        Approved, the action counts as allowed in this session from now on: act, then seal it
        with :meth:`post_action` as after an allow. Denied or expired, do not act.

        Raises:
            UsageError: ``decision`` is not an ask of this session.
        """
        if decision.outcome != "ask" or decision.session_id != self.id:
            raise UsageError("wait_approval takes an ask decision of this session")
        asked = self.gate.ledger.get(decision.index).entry
        status, verdict = approvals.wait(
            self.gate.ledger, asked, index=decision.index, poll=poll, until=until
        )
        if verdict is not None:
            with self.book.lock:
                self.book.apply(verdict, -1)
        return status

    def enforce(self, decision: GateDecision) -> GateDecision:
        """Return an allowed decision; raise the typed refusal for any other.

        Raises:
            PolicyViolation: ``deny``; ApprovalRequired: ``ask``; SessionKilled: ``kill``.
        """
        raise_for(decision)
        return decision

    def post_action(
        self,
        decision: GateDecision,
        *,
        cost: Decimal | str | float | None = None,
        content_hash: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        status: str = "ok",
    ) -> Receipt:
        """Seal the action an allowed decision let through, with its actual cost.

        The reserved estimate is replaced by ``cost`` (the estimate stands if None). If the
        session's budget is now exceeded, the policy's ``on_exceed`` applies at once.

        Raises:
            UsageError: the decision is not this session's, was neither ``allow`` nor an approved
                ``ask``, or was settled.
        """
        if decision.session_id != self.id:
            raise UsageError(f"decision {decision.entry_id[:16]}… is not of session {self.id}")
        approved = decision.outcome == "ask" and decision.entry_id in self._reserved()
        if not decision.allowed and not approved:
            raise UsageError(f"decision was {decision.outcome}: there is no action to record")
        actual = None if cost is None else _decimal(cost, "cost")
        fields: dict[str, Any] = {
            "action": decision.action.action,
            "session_id": self.id,
            "decision": decision.entry_id,
            "metadata": {**dict(metadata or {}), "status": status},
        }
        if decision.policy_version is not None:
            fields["policy_version"] = str(decision.policy_version)
        optional = {
            "target": decision.action.target,
            "run_id": self.run_id,
            "tool_call_id": decision.tool_call_id,
            "content_hash": content_hash,
            "cost": None if actual is None else money(actual),
        }
        fields.update({k: v for k, v in optional.items() if v is not None})
        with self.book.lock:
            if decision.entry_id not in self.book.get(self.id).reserved:
                raise UsageError(f"decision {decision.entry_id[:16]}… was settled already")
            _, receipt = self.gate.seal(self.book, "action", fields)
            self._hold_to_limits()
        return receipt

    def _reserved(self) -> dict[str, Decimal]:
        with self.book.lock:
            return dict(self.book.get(self.id).reserved)

    def charge(
        self,
        cost: Decimal | str | float,
        *,
        action: str = "model_call",
        metadata: Mapping[str, Any] | None = None,
    ) -> Receipt:
        """Seal a cost spent outside any gated action (a model call) and hold the budget to it."""
        amount = _decimal(cost, "cost")
        fields: dict[str, Any] = {
            "action": action,
            "session_id": self.id,
            "cost": money(amount),
            "metadata": dict(metadata or {}),
        }
        if self.run_id is not None:
            fields["run_id"] = self.run_id
        with self.book.lock:
            _, receipt = self.gate.seal(self.book, "action", fields)
            self._hold_to_limits()
        return receipt

    def charge_usage(
        self, provider: str, usage: Mapping[str, Any], *, model: str | None = None
    ) -> Receipt:
        """Price a provider's token usage (cached tokens normalized) and :meth:`charge` it.

        Raises:
            UnknownModelPrice: no price for the model (add an override); InputError: bad usage.
        """
        normalized = normalize_usage(provider, usage, model=model)
        cost = price(normalized, overrides=self.gate.prices)
        meta = {
            "provider": normalized.provider,
            "model": normalized.model,
            "usage": dict(
                zip(
                    ("input", "output", "cache_read", "cache_write"), normalized.counts, strict=True
                )
            ),
            "price": cost.to_json(),
        }
        return self.charge(cost.usd, metadata=meta)

    def record_violation(self, kind: str, *, count: int = 1, detail: str | None = None) -> bool:
        """Seal a violation a scanner found (``pii_blocked``), then apply its threshold.

        Returns:
            Whether the session is killed now.

        Raises:
            UsageError: ``kind`` is not a lowercase slug or ``count`` is not ≥ 1.
        """
        if type(count) is not int or count < 1:
            raise UsageError(f"count must be an integer ≥ 1, got {count!r}")
        fields: dict[str, Any] = {
            "session_id": self.id,
            "event": "violation",
            "violation": kind,
            "count": count,
        }
        if detail is not None:
            fields["reason"] = detail[:1024]
        with self.book.lock:
            try:
                self.gate.seal(self.book, "session", fields)
            except EntryRejected as exc:
                raise UsageError(f"violation {kind!r} refused: {exc.message}") from exc
            self._hold_to_limits()
            return self.killed

    def kill(self, reason: str) -> None:
        """Kill the session by hand (rule ``session.manual_kill``); idempotent."""
        with self.book.lock:
            if self.book.get(self.id).state.killed_by is None:
                self._kill(MANUAL_KILL, reason[:1024] or "killed by hand")

    def end(self) -> None:
        """Seal the session's end with its totals; later decisions in it are refused."""
        with self.book.lock:
            tracked = self.book.get(self.id)
            if tracked.ended:
                return
            state = tracked.state
            figures = {"cost_usd": money(state.total_cost), "actions": str(state.action_count)}
            self.gate.seal(
                self.book, "session", {"session_id": self.id, "event": "end", "figures": figures}
            )

    def child(
        self, gate: Gate | None = None, *, session_id: str | None = None, run_id: str | None = None
    ) -> Session:
        """Start a child session (of this agent, or of another agent's ``gate``)."""
        return (gate or self.gate).session(session_id, run_id=run_id or self.run_id, parent=self)

    def _hold_to_limits(self) -> None:
        """After a violation or a cost: hold the session, then each ancestor, to its limits.

        A child's cost is its ancestors' spending too, so an ancestor's budget it breaks applies
        its ``on_exceed`` at once, as the session's own does.
        """
        session: Session | None = self
        while session is not None:
            session._hold_own()  # noqa: SLF001 - the same class
            session = session.parent

    def _hold_own(self) -> None:
        """Kill on a failed kill-mode rule of the session as a whole, alert on the others."""
        tracked = self.book.get(self.id)
        if self.book.effective(self.id).killed_by is not None:
            return
        now = self.gate.now()
        verdicts = self.gate.policy.standing(tracked.state, now)
        for v in verdicts:
            if not v.passed and v.effect == "kill":
                self._kill(v.rule_id, v.detail, decision_class=v.decision_class)
                return
        failed = tuple(v for v in verdicts if not v.passed or v.alert)
        if failed:
            self._alert(self.gate.policy.decide(failed), now)

    def _kill(
        self,
        rule_id: str,
        reason: str,
        *,
        decision: GateDecision | None = None,
        decision_class: str | None = None,
    ) -> None:
        """Seal the kill and post the kill-switch webhooks."""
        fields: dict[str, Any] = {
            "session_id": self.id,
            "event": "kill",
            "rule_id": rule_id,
            "reason": reason[:1024],
        }
        if decision is not None:
            fields["decision"] = decision.entry_id
            decision_class = decision.decision.decision_class
        entry, _ = self.gate.seal(self.book, "session", fields)
        state = self.book.get(self.id).state
        self.gate.notify(
            Notification(
                event="session_killed",
                agent=self.gate.address,
                session_id=self.id,
                reason=reason,
                time=parse_time(entry.time),
                rule_id=rule_id,
                decision_class=decision_class,
                figures=_figures(state),
                policy_version=self.gate.policy_version,
                ledger_entry=entry.id,
            )
        )

    def _alert(self, decision: Decision, at: datetime) -> None:
        """Notify once per rule per session for ``alert`` rules and budgets past ``alert_at``."""
        fresh = [r for r in decision.alerts if r not in self._alerted]
        if not fresh:
            return
        self._alerted.update(fresh)
        details = [v.detail for v in decision.verdicts if v.rule_id in fresh]
        self.gate.notify(
            Notification(
                event="alert",
                agent=self.gate.address,
                session_id=self.id,
                reason="; ".join(details) or ", ".join(fresh),
                time=at,
                rule_id=fresh[0],
                figures=_figures(self.book.get(self.id).state),
                policy_version=self.gate.policy_version,
            )
        )

    # -- guards -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def action(
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
    ) -> Iterator[Guarded]:
        """Guard a block: decide and enforce on entry, seal the action on exit.

        Set ``guarded.cost`` (and optionally ``content_hash``, ``metadata``) inside the block;
        an exception in the block is sealed as ``status: error`` and re-raised.

        Raises:
            PolicyViolation: the action was refused (the block does not run).
        """
        decision = self.enforce(
            self.pre_action(
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
            self.post_action(
                decision,
                cost=guarded.cost,
                content_hash=guarded.content_hash,
                metadata={**guarded.metadata, "error": type(exc).__name__},
                status="error",
            )
            raise
        self.post_action(
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
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorate a function so each call is decided first and sealed after.

        The call's keyword arguments are the decision's ``args``; a refused call raises and
        never runs.
        """

        def wrap(func: Callable[P, R]) -> Callable[P, R]:
            name = action or func.__name__

            @functools.wraps(func)
            def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
                with self.action(name, target=target, args=_jsonable(kwargs), estimate=estimate):
                    return func(*args, **kwargs)

            return guarded

        return wrap

    def __enter__(self) -> Self:
        """Use as a context manager that ends the session."""
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Seal the session's end (a killed session ends too: its totals are evidence)."""
        self.end()


@dataclass(slots=True)
class Guarded:
    """What a guarded block reports back: its actual cost, content hash and metadata."""

    decision: GateDecision
    cost: Decimal | int | str | float | None = None
    content_hash: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _figures(state: SessionState) -> dict[str, str]:
    """The session's numbers for a notification, as decimal strings."""
    figures = {"cost_usd": money(state.total_cost), "actions": str(state.action_count)}
    figures.update({f"violations.{k}": str(n) for k, n in state.violations})
    return figures


def _jsonable(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A call's keyword arguments as ``args``: JSON values kept, others by their ``repr``."""
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        try:
            Sealable.of(ProposedAction(action="_", at=_now(), args={key: value}))
        except UsageError:
            value = repr(value)  # noqa: PLW2901 - the sealed stand-in
        out[key] = value
    return out


def owner_kill_fields(agent: str, session_id: str, reason: str) -> dict[str, Any]:
    """The fields of an owner's kill of one of ``agent``'s sessions (spec §4.5c, rule 9).

    Raises:
        UsageError: the session id is not 1–256 characters.
    """
    if not 1 <= len(session_id) <= 256:  # noqa: PLR2004 - the session_id limit
        raise UsageError("a session id is 1 to 256 characters")
    return {
        "session_id": session_id,
        "event": "kill",
        "agent": agent,
        "rule_id": MANUAL_KILL,
        "reason": reason[:1024] or "killed by its owner",
    }


def kill_session(
    ledger: Ledger, owner: SigningKey, agent: str, session_id: str, reason: str
) -> Receipt:
    """Kill a session of ``agent`` as its ``owner``: sealed now, effective at its next decision.

    The log then refuses every decision in the session but a kill (spec §4.8 rule 9), wherever
    the agent runs; a session not started yet is killed as it starts.

    Raises:
        UsageError: ``owner`` is not the owner of ``agent``; NotFound: ``agent`` is unknown.
    """
    if ledger.agent(agent).owner != owner.address:
        raise UsageError(
            f"{owner.address} is not the owner of {agent}; only its owner kills its sessions"
        )
    return ledger.append_entry(owner, "session", owner_kill_fields(agent, session_id, reason))
