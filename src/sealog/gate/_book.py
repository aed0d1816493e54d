"""The session book: what sessions have seen, folded from their sealed entries, and the judge.

:class:`Book` is the one place where sealed gate entries become session state. The live
session applies each entry right after it is durable; ``verify --replay`` applies the log's
entries in order. The same fold, so a recomputed decision sees exactly the state the live one
saw. Per session it keeps the :class:`~sealog.policy.SessionState`, the parent, and the
estimates reserved by allowed decisions not yet settled by the action entry that cites them:

* ``session`` start — a new session (its parent must exist);
* ``decision`` — an allowed action is recorded with its estimate reserved, in the session and
  (cost only) in every ancestor; a kill marks the session killed;
* ``action`` citing an allowed decision — the actual cost replaces the estimate
  (``cost − estimate``); citing a denied or ask decision (an action logged after the fact,
  against the gate) or none (a model call, say) — its cost is added;
* ``session`` violation / kill / end — counted / killed / closed. A kill may be the agent's
  owner's (it names the ``agent``); one made before the session started kills it as it starts.

:func:`judge` is the decision the gate makes on a proposed action, for the live session and for
the replay alike: the session's policy on its state, plus every ancestor's session budgets on the
cost rolled up to it (rule ids prefixed ``parent.`` per level up).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal

from sealog.gate._record import at_of, proposed_from
from sealog.ledger.entry import SignedEntry
from sealog.policy import CompiledPolicy, Decision, ProposedAction, SessionState, Verdict

__all__ = ["Book", "BookError", "Tracked", "judge"]


class BookError(ValueError):
    """A gate entry that does not fit the sessions before it (replay reports it as a gap)."""


@dataclass(slots=True)
class Tracked:
    """One session as the book knows it."""

    session_id: str
    agent: str
    parent: str | None
    state: SessionState
    start_index: int
    reserved: dict[str, Decimal] = field(default_factory=dict)
    """Estimates of allowed decisions (by entry id) whose action is not sealed yet."""
    refused: dict[str, str] = field(default_factory=dict)
    """Denied and ask decisions (by entry id) an action may still cite: one logged after the
    fact, against the gate's answer (``log_action``) — evidence, not a settlement."""
    ended: bool = False


class Book:
    """Sessions by id, folded from their sealed entries; one lock guards a tree of sessions."""

    def __init__(self, base: Book | None = None) -> None:
        """An empty book, or (``base``) a trial copy of one: see :meth:`fork`."""
        self.lock: threading.RLock = threading.RLock() if base is None else base.lock
        self._sessions: dict[str, Tracked] = {}
        self._doomed: dict[str, tuple[str, str]] = (
            {} if base is None else dict(base._doomed)  # noqa: SLF001 - the same class
        )
        """Sessions their agent's owner killed before they started: id → (agent, rule)."""
        self._asked: dict[str, tuple[str, SignedEntry]] = (
            {} if base is None else dict(base._asked)  # noqa: SLF001 - the same class
        )
        """Ask decisions not yet approved or denied: decision id → (session, entry)."""
        self._base = base

    def fork(self) -> Book:
        """A trial copy: entries applied to it leave this book unchanged until :meth:`absorb`.

        Sessions are copied on first access, so a fork costs what it touches.
        """
        return Book(self)

    def absorb(self, fork: Book) -> None:
        """Take over what was applied to ``fork`` (a fork of this book)."""
        if fork._base is not self:
            raise ValueError("absorb takes a fork of this very book")
        self._sessions.update(fork._sessions)
        self._doomed = fork._doomed
        self._asked = fork._asked

    def _find(self, session_id: str) -> Tracked | None:
        found = self._sessions.get(session_id)
        if found is None and self._base is not None:
            up = self._base._find(session_id)  # noqa: SLF001 - the same class
            if up is not None:
                found = replace(up, reserved=dict(up.reserved), refused=dict(up.refused))
                self._sessions[session_id] = found
        return found

    def __contains__(self, session_id: object) -> bool:
        return isinstance(session_id, str) and self._find(session_id) is not None

    def get(self, session_id: str) -> Tracked:
        """The session.

        Raises:
            BookError: no such session in this book.
        """
        found = self._find(session_id)
        if found is None:
            raise BookError(f"session {session_id!r} was never started")
        return found

    def ancestors(self, session_id: str) -> Iterator[Tracked]:
        """The parent, its parent, … up to the root."""
        parent = self.get(session_id).parent
        while parent is not None:
            tracked = self.get(parent)
            yield tracked
            parent = tracked.parent

    def effective(self, session_id: str) -> SessionState:
        """The session's state, killed if it or any ancestor was killed."""
        tracked = self.get(session_id)
        if tracked.state.killed_by is not None:
            return tracked.state
        for up in self.ancestors(session_id):
            if up.state.killed_by is not None:
                return tracked.state.killed(f"parent session {up.session_id}")
        return tracked.state

    def apply(self, entry: SignedEntry, index: int) -> None:
        """Fold one sealed entry into the sessions (entries of other kinds are ignored).

        Raises:
            BookError: the entry contradicts the sessions (a decision in a session never
                started or started by another agent, an action citing no open decision …).
        """
        kind, f = entry.kind, entry.fields
        if kind == "approval":
            self._approval(entry)
            return
        if kind not in ("session", "decision", "action"):
            return
        sid = f.get("session_id")
        if not isinstance(sid, str):
            return
        if kind == "session" and f.get("event") == "start":
            self._start(entry, sid, index)
            return
        agent = str(f.get("agent") or entry.author)  # a kill by the owner names the agent
        found = self._find(sid)
        if found is None:
            if kind == "action":
                return
            if agent != entry.author and f.get("event") == "kill":
                self._doomed.setdefault(sid, (agent, str(f["rule_id"])))
                return
            raise BookError(f"{kind} entry in session {sid!r}, which was never started")
        tracked = found
        if tracked.agent != agent:
            raise BookError(f"session {sid!r} belongs to {tracked.agent}, not {agent}")
        if kind == "decision":
            self._decision(tracked, entry)
        elif kind == "action":
            self._action(tracked, entry)
        else:
            self._event(tracked, entry)

    def _start(self, entry: SignedEntry, sid: str, index: int) -> None:
        if sid in self:
            raise BookError(f"session {sid!r} started twice")
        parent = entry.fields.get("parent_session")
        if parent is not None and str(parent) not in self:
            raise BookError(f"session {sid!r} names parent {parent!r}, which was never started")
        state = SessionState.empty(started_at=at_of(entry.fields))
        doomed = self._doomed.get(sid)
        if doomed is not None and doomed[0] == entry.author:
            state = state.killed(doomed[1])
        self._sessions[sid] = Tracked(
            sid, entry.author, None if parent is None else str(parent), state, index
        )

    def _decision(self, tracked: Tracked, entry: SignedEntry) -> None:
        if tracked.ended:
            raise BookError(f"decision in session {tracked.session_id!r} after it ended")
        f = entry.fields
        try:
            action = proposed_from(f)
        except (ValueError, KeyError, ArithmeticError) as exc:
            raise BookError(f"decision entry does not describe an action: {exc}") from exc
        outcome = str(f["outcome"])
        blocking = f.get("blocking_rule")
        if outcome == "kill":
            tracked.state = tracked.state.killed(str(blocking or "session.killed"))
        elif outcome == "allow":
            sealed = Decision("allow", (), 0, None, "allowed", None, str(f["policy_hash"]))
            tracked.state = tracked.state.record(action, sealed)
            tracked.reserved[entry.id] = action.cost
            self._roll_up(tracked, action.cost)
        else:
            tracked.refused[entry.id] = outcome
            if outcome == "ask":
                self._asked[entry.id] = (tracked.session_id, entry)

    def _approval(self, entry: SignedEntry) -> None:
        """An owner's verdict on an ask: approved, the action counts as allowed from now on."""
        found = self._asked.pop(str(entry.fields["decision"]), None)
        if found is None or entry.fields.get("verdict") != "approve":
            return
        sid, asked = found
        tracked = self._find(sid)
        if tracked is None:
            return
        action = proposed_from(asked.fields)
        tracked.refused.pop(asked.id, None)
        sealed = Decision("allow", (), 0, None, "allowed", None, str(asked.fields["policy_hash"]))
        tracked.state = tracked.state.record(action, sealed)
        tracked.reserved[asked.id] = action.cost
        self._roll_up(tracked, action.cost)

    def pending_asks(self) -> list[tuple[str, SignedEntry]]:
        """Ask decisions awaiting a verdict, as (session id, decision entry)."""
        return list(self._asked.values())

    def _action(self, tracked: Tracked, entry: SignedEntry) -> None:
        f = entry.fields
        cost = Decimal(str(f["cost"])) if f.get("cost") is not None else None
        cited = f.get("decision")
        if cited is None:
            delta = cost or Decimal(0)
        else:
            estimate = tracked.reserved.pop(str(cited), None)
            if estimate is not None:
                delta = Decimal(0) if cost is None else cost - estimate
            elif tracked.refused.pop(str(cited), None) is not None:
                delta = cost or Decimal(0)
            else:
                raise BookError(
                    f"action cites decision {str(cited)[:16]}…, which is not an open decision "
                    f"of session {tracked.session_id!r}"
                )
        if delta:
            tracked.state = tracked.state.settle(delta)
            self._roll_up(tracked, delta)

    def _event(self, tracked: Tracked, entry: SignedEntry) -> None:
        f = entry.fields
        event = f.get("event")
        if event == "violation":
            tracked.state = tracked.state.with_violation(str(f["violation"]), int(f["count"]))
        elif event == "kill":
            tracked.state = tracked.state.killed(str(f["rule_id"]))
        elif event == "end":
            tracked.ended = True

    def _roll_up(self, tracked: Tracked, delta: Decimal) -> None:
        for up in self.ancestors(tracked.session_id):
            up.state = up.state.settle(delta)


def judge(
    book: Book,
    session_id: str,
    action: ProposedAction,
    policy_of: Callable[[Tracked], CompiledPolicy],
) -> Decision:
    """The gate's decision on ``action`` in the session, at ``action.at``.

    The session's policy decides on its (effective) state; each ancestor's session budgets are
    then held to the ancestor's spending plus this estimate, by the ancestor's own policy.
    """
    tracked = book.get(session_id)
    policy = policy_of(tracked)
    decision = policy.evaluate(action, book.effective(session_id), now=action.at)
    if decision.outcome == "kill" or tracked.parent is None:
        return decision
    extra: list[Verdict] = []
    for depth, up in enumerate(book.ancestors(session_id), 1):
        verdicts = policy_of(up).standing(up.state, action.at, cost=action.cost, budget_only=True)
        extra.extend(replace(v, rule_id="parent." * depth + v.rule_id) for v in verdicts)
    return policy.decide(decision.verdicts + tuple(extra)) if extra else decision
