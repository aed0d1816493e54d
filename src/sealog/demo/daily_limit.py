"""The trading agent held to its $1,000 daily transfer limit, with the verdict in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from sealog.crypto import SigningKey
from sealog.demo._narrate import check
from sealog.gate import Gate, GateDecision, Session
from sealog.ledger import Ledger
from sealog.policy.store import set_policy

_POLICY = """\
version: "1"
agent_id: trader-7
actions:
  allow: [quote, transfer]
aggregates:
  - sum: amount
    actions: [transfer]
    window: 24h
    max: 1000
    unit: "$"
"""
_LIMIT = "aggregates[0]"
_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# (hours after the start, amount, allowed?, why)
_TRANSFERS = [
    (0, 500, True, "the first of the day"),
    (2, 300, True, "$800 in all"),
    (5, 400, False, "it would make $1,200"),
    (6, 200, True, "exactly $1,000, the cap itself"),
    (25, 450, True, "a day on, Monday's 09:00 $500 has left the window"),
]


@dataclass
class _Clock:
    """A clock the story moves by hand, so every decision time is known."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


def _limit_detail(decision: GateDecision) -> str:
    """The daily-limit rule's verdict in words."""
    return next(v.detail for v in decision.verdicts if v.rule_id == _LIMIT)


def _transfer(console: Console, session: Session, clock: _Clock, hours: int, amount: int) -> bool:
    """Move the clock, ask the gate, transfer if allowed; return whether it was allowed."""
    clock.now = _START + timedelta(hours=hours)
    decision = session.pre_action("transfer", target="acct:ops-payroll", args={"amount": amount})
    when = clock.now.strftime("%a %H:%M")
    if decision.allowed:
        session.post_action(decision, metadata={"amount": str(amount)})
        console.print(
            f"{when}  transfer ${amount:,}: [green]allowed[/green] — {_limit_detail(decision)}",
            markup=True,
        )
    else:
        console.print(
            f"{when}  transfer ${amount:,}: [red]{decision.outcome}[/red] by "
            f"{decision.blocking_rule} — {decision.reason}",
            markup=True,
        )
    return decision.allowed


def daily_limit(console: Console, folder: Path) -> bool:
    """Transfers against a $1,000 daily limit: allowed, refused at the cap, allowed a day later."""
    console.rule("[bold]The trading agent and its $1,000 daily limit[/bold]")
    ledger = Ledger.init(folder / ".sealog", origin="demo.sealog.dev/daily-limit")
    try:
        owner, agent = SigningKey.generate(), SigningKey.generate()
        ledger.register_agent(agent, owner, name="trader-7")
        set_policy(ledger, owner, agent.address, _POLICY)
        console.print(
            "Acme Capital seals trader-7's policy: transfers may total at most $1,000 "
            "in any 24 hours."
        )
        clock = _Clock(_START)
        ok = True
        with Gate(ledger, agent, clock=clock) as gate, gate.session("treasury-run") as session:
            for hours, amount, expected, why in _TRANSFERS:
                allowed = _transfer(console, session, clock, hours, amount)
                word = "allowed" if expected else "refused"
                ok &= check(console, allowed == expected, f"{word} as expected: {why}")
        return _checks(console, ledger, session.id) and ok
    finally:
        ledger.close()


def _checks(console: Console, ledger: Ledger, session_id: str) -> bool:
    """What the ledger proves about the run."""
    stored = [s for s in ledger.entries() if s.entry.fields.get("session_id") == session_id]
    decisions = [s for s in stored if s.entry.kind == "decision"]
    denied = [s for s in decisions if s.entry.fields["outcome"] == "deny"]
    ok = check(
        console,
        len(denied) == 1 and denied[0].entry.fields.get("blocking_rule") == _LIMIT,
        f"the refusal is sealed: outcome deny, rule {_LIMIT}, at index "
        + (str(denied[0].index) if denied else "?"),
    )
    allowed = [s for s in decisions if s.entry.fields["outcome"] == "allow"]
    cited = {s.entry.fields.get("decision"): s.index for s in stored if s.entry.kind == "action"}
    ok &= check(
        console,
        len(allowed) == sum(expected for _, _, expected, _ in _TRANSFERS)
        and all(cited.get(d.entry.id, -1) > d.index for d in allowed),
        f"each of the {len(allowed)} allowed transfers is sealed after the decision it cites",
    )
    full = ledger.verify()
    ok &= check(
        console, full.ok, f"the ledger verifies: {full.total_entries} entries, intact and complete"
    )
    return ok
