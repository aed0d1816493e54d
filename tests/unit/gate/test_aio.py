"""The asyncio twins: the same decisions and entries as the sync session, off the event loop."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

import pytest
from gate_world import HELPER

from sealog.errors import ApprovalRequired, PolicyViolation, SessionKilled, UsageError
from sealog.gate import AsyncSession, Session, open_session
from sealog.policy.cost import PriceOverrides

POLICY = """
actions: {allow: [quote, transfer, search], deny: [delete_account]}
budget: {max_cost_per_session: 1.00, on_exceed: kill}
violations: {thresholds: {pii_blocked: 2}, on_threshold: kill}
conditions:
  - require: "args.amount <= 700"
    actions: [transfer]
ask:
  - actions: [search]
    when: "args.q == 'secret'"
"""
DENY_BUDGET = "actions: {allow: ['*']}\nbudget: {max_cost_per_session: 1.00, on_exceed: deny}"


def sealed(ledger, session_id: str) -> list[tuple]:
    """What the log says happened in one session, without ids and times."""
    out = []
    for stored in ledger.entries():
        f = stored.entry.fields
        if f.get("session_id") == session_id:
            out.append(
                (
                    stored.entry.kind,
                    f.get("event"),
                    f.get("action"),
                    f.get("outcome"),
                    f.get("blocking_rule"),
                    f.get("rule_id"),
                    f.get("estimate"),
                    f.get("cost"),
                )
            )
    return out


SCRIPT = [
    ("pre", "quote", {}, "0.1"),
    ("post", "0.2"),
    ("pre", "transfer", {"amount": 900}, "0"),
    ("pre", "delete_account", {}, "0"),
    ("pre", "search", {"q": "secret"}, "0"),
    ("charge", "0.05"),
    ("violation",),
    ("pre", "quote", {}, "0.3"),
    ("post", None),
    ("violation",),
    ("pre", "quote", {}, "0"),
]


def play_sync(session: Session) -> list[tuple[str, str | None]]:
    """Run SCRIPT on a sync session: the outcome of each decision."""
    outcomes, last = [], None
    for step in SCRIPT:
        if step[0] == "pre":
            try:
                last = session.pre_action(step[1], args=step[2], estimate=step[3])
            except SessionKilled as exc:
                last = exc.decision
            outcomes.append((last.outcome, last.blocking_rule))
        elif step[0] == "post":
            session.post_action(last, cost=step[1])
        elif step[0] == "charge":
            session.charge(step[1])
        else:
            session.record_violation("pii_blocked")
    return outcomes


async def play_async(session: AsyncSession) -> list[tuple[str, str | None]]:
    """Run SCRIPT on an async session: the outcome of each decision."""
    outcomes, last = [], None
    for step in SCRIPT:
        if step[0] == "pre":
            try:
                last = await session.pre_action(step[1], args=step[2], estimate=step[3])
            except SessionKilled as exc:
                last = exc.decision
            outcomes.append((last.outcome, last.blocking_rule))
        elif step[0] == "post":
            await session.post_action(last, cost=step[1])
        elif step[0] == "charge":
            await session.charge(step[1])
        else:
            await session.record_violation("pii_blocked")
    return outcomes


def test_the_async_session_decides_and_seals_as_the_sync_one(open_gate, ledger):
    """Allow, deny, ask, a violation kill and the refusal after it: same outcomes, same entries."""
    gate = open_gate(POLICY)
    with gate.session("sync") as s:
        expected = play_sync(s)

    async def main():
        async with await open_session(gate, "async") as a:
            return await play_async(a), await a.state()

    outcomes, state = asyncio.run(main())
    assert outcomes == expected
    assert [o for o, _ in outcomes] == ["allow", "deny", "deny", "ask", "allow", "kill"]
    assert sealed(ledger, "async") == sealed(ledger, "sync")
    assert state == s.state


def test_gathered_pre_actions_hold_the_budget(open_gate):
    """Eight concurrent pre_actions reserving 0.2 against $1.00: exactly five are allowed."""
    gate = open_gate(DENY_BUDGET)

    async def main():
        async with await open_session(gate) as s:
            decisions = await asyncio.gather(
                *(s.pre_action("quote", estimate="0.2") for _ in range(8))
            )
            allowed = [d for d in decisions if d.allowed]
            held = (await s.total_cost(), await s.reserved())
            await asyncio.gather(*(s.post_action(d, cost="0.1") for d in allowed))
            return decisions, allowed, held, (await s.total_cost(), await s.reserved())

    decisions, allowed, held, settled = asyncio.run(main())
    assert len(allowed) == 5
    assert {d.blocking_rule for d in decisions if not d.allowed} == {"budget.max_cost_per_session"}
    assert held == (Decimal("1.0"), Decimal("1.0"))
    assert settled == (Decimal("0.5"), Decimal(0))


def test_calls_run_off_the_event_loop_thread(open_gate, notes):
    """The seal and the kill notification happen in a worker thread, not the loop's."""
    gate = open_gate(POLICY)

    async def main():
        s = await open_session(gate)
        await s.kill("stop")
        with pytest.raises(SessionKilled):
            await s.pre_action("quote")
        assert await s.killed()
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert notes.events() == [("session_killed", "session.manual_kill")]
    assert loop_thread not in notes.threads


def test_async_with_ends_the_session(open_gate, ledger):
    """Leaving async with seals the end entry with the totals."""
    gate = open_gate(POLICY)

    async def main():
        async with await open_session(gate, "s1", run_id="r1") as s:
            await s.post_action(await s.pre_action("quote", estimate="0.25"))
            assert (s.id, s.run_id, s.gate) == ("s1", "r1", gate)

    asyncio.run(main())
    end = ledger.get(ledger.size() - 1).entry.fields
    assert (end["event"], end["figures"]) == ("end", {"cost_usd": "0.25", "actions": "1"})


def test_enforce_raises_the_typed_refusals(open_gate):
    """enforce on the async session raises PolicyViolation and ApprovalRequired as sync does."""
    gate = open_gate(POLICY)

    async def main():
        s = await open_session(gate)
        with pytest.raises(PolicyViolation):
            s.enforce(await s.pre_action("delete_account"))
        with pytest.raises(ApprovalRequired):
            s.enforce(await s.pre_action("search", args={"q": "secret"}))
        ok = await s.pre_action("quote")
        assert s.enforce(ok) is ok
        with pytest.raises(UsageError):
            await s.pre_action("quote", estimate="-1")

    asyncio.run(main())


def test_the_async_action_block(open_gate, ledger):
    """A refused block never runs; an exception is sealed as error; the block's cost is sealed."""
    gate = open_gate(POLICY)
    ran = []

    async def main():
        s = await open_session(gate)
        with pytest.raises(PolicyViolation):
            async with s.action("delete_account"):
                ran.append(True)
        async with s.action("quote", estimate="0.5") as act:
            act.cost = "0.3"
        cost = ledger.get(ledger.size() - 1).entry.fields["cost"]
        with pytest.raises(KeyError):
            async with s.action("quote"):
                raise KeyError("boom")
        return cost, await s.total_cost()

    cost, total = asyncio.run(main())
    assert ran == []
    assert (cost, total) == ("0.3", Decimal("0.3"))
    metadata = ledger.get(ledger.size() - 1).entry.fields["metadata"]
    assert metadata == {"status": "error", "error": "KeyError"}


def test_a_cancelled_block_is_sealed_as_an_error(open_gate, ledger):
    """Cancelling the task inside a guarded block still seals the action, status error."""
    gate = open_gate(POLICY)

    async def main():
        s = await open_session(gate)
        started = asyncio.Event()

        async def work():
            async with s.action("quote", estimate="0.1"):
                started.set()
                await asyncio.sleep(30)

        task = asyncio.create_task(work())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await s.reserved()

    assert asyncio.run(main()) == 0
    metadata = ledger.get(ledger.size() - 1).entry.fields["metadata"]
    assert metadata == {"status": "error", "error": "CancelledError"}


def test_the_async_guard(open_gate, ledger):
    """A guarded coroutine is decided on its keyword arguments; a refused call never runs."""
    gate = open_gate(POLICY)
    calls = []

    async def main():
        s = await open_session(gate)

        @s.guard("transfer", estimate="0.01")
        async def transfer(*, amount: int) -> str:
            calls.append(amount)
            await asyncio.sleep(0)
            return f"sent {amount}"

        assert await transfer(amount=5) == "sent 5"
        with pytest.raises(PolicyViolation):
            await transfer(amount=900)

    asyncio.run(main())
    assert calls == [5]
    assert ledger.get(ledger.size() - 1).entry.fields["args"] == '{"amount":900}'


def test_async_children_roll_up_and_die_with_the_parent(open_gate):
    """An async child (also under another agent's gate) spends into the parent and dies with it."""
    gate = open_gate(POLICY)
    helper_gate = open_gate("actions: {allow: ['*']}", agent=HELPER)

    async def main():
        parent = await open_session(gate)
        own, other = await parent.child(), await parent.child(helper_gate, session_id="h")
        await own.post_action(await own.pre_action("quote", estimate="0.2"), cost="0.1")
        await other.post_action(await other.pre_action("anything", estimate="0.3"))
        total = await parent.total_cost()
        await parent.kill("stop")
        for child in (own, other):
            with pytest.raises(SessionKilled):
                await child.pre_action("quote")
        return total

    assert asyncio.run(main()) == Decimal("0.4")


def test_async_model_spend_and_violations(open_gate):
    """charge, charge_usage and record_violation seal and hold the limits as their sync twins."""
    prices = PriceOverrides.from_mapping(
        {"anthropic/in-house": {"input_per_mtok": "1", "output_per_mtok": "2"}}
    )
    gate = open_gate(POLICY, prices=prices)
    usage = {"model": "in-house", "usage": {"input_tokens": 100_000, "output_tokens": 50_000}}

    async def main():
        s = await open_session(gate)
        await s.charge("0.1")
        await s.charge_usage("anthropic", usage)
        total = await s.total_cost()
        first = await s.record_violation("pii_blocked")
        second = await s.record_violation("pii_blocked")
        return total, first, second, (await s.state()).killed_by

    assert asyncio.run(main()) == (Decimal("0.3"), False, True, "violations.pii_blocked")
