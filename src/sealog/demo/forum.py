"""The forum agent: refused a forbidden action, then caught by its own log posting off the books.

A support agent on a forum may read threads and post replies, never share pricing. It asks to
share pricing and is refused — the refusal sealed. Later the forum sees a reply from it that it
never logged, and files a signed ``unlogged_action`` report. sealog asks the agent's own chain:
no such entry near that time, in a chain that is intact, complete and goes on past it — so the
gap itself corroborates the report. The owner acknowledges; the agent's track record shows it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from sealog.client import EmbeddedClient
from sealog.crypto import SigningKey
from sealog.demo._narrate import check
from sealog.gate import Gate
from sealog.ledger import Ledger
from sealog.policy.store import set_policy
from sealog.service import Service

_POLICY = """\
version: "1"
agent_id: forum-helper
actions:
  allow: [read_thread, post_reply]
  deny: [share_pricing]
"""
_START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


class _Clock:
    """A clock the story moves by hand."""

    def __init__(self) -> None:
        self.now = _START

    def __call__(self) -> datetime:
        return self.now


def forum_agent(console: Console, folder: Path) -> bool:
    """Denied share_pricing; an unlogged reply reported by the forum and corroborated by the log."""
    console.rule("[bold]The forum agent, its refusal, and the reply it never logged[/bold]")
    ledger = Ledger.init(folder / ".sealog", origin="demo.sealog.dev/forum")
    try:
        owner, agent, forum = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
        ledger.register_agent(agent, owner, name="forum-helper")
        ledger.register_owner(forum, name="forum.example")
        set_policy(ledger, owner, agent.address, _POLICY)
        clock = _Clock()
        ok = True
        with Gate(ledger, agent, clock=clock) as gate, gate.session("support-1") as session:
            for minutes, action, target in (
                (0, "read_thread", "forum://t/41"),
                (2, "post_reply", "forum://t/41"),
            ):
                clock.now = _START + timedelta(minutes=minutes)
                session.post_action(session.pre_action(action, target=target))
            clock.now = _START + timedelta(minutes=5)
            refused = session.pre_action("share_pricing", target="forum://t/41")
            console.print(
                f"10:05  share_pricing → [red]{refused.outcome}[/red] by {refused.blocking_rule}",
                markup=True,
            )
            ok &= check(console, refused.outcome == "deny", "share_pricing is refused")
            sealed = ledger.get(refused.index).entry
            ok &= check(
                console,
                sealed.kind == "decision" and sealed.fields["outcome"] == "deny",
                f"the refusal is sealed at index {refused.index}",
            )
            console.print("10:20  (the agent posts a reply in t/42 without asking the gate)")
            clock.now = _START + timedelta(hours=1)
            session.post_action(session.pre_action("read_thread", target="forum://t/43"))
        observed = _START + timedelta(minutes=20)
        service = Service(ledger)
        with EmbeddedClient(service, forum) as platform:
            filed = platform.report(
                agent.address,
                "unlogged_action",
                "post_reply",
                observed,
                target="forum://t/42",
                severity="high",
                description="a reply appeared in t/42 with no log entry",
            )
            console.print(
                f"forum.example files report {filed['id'][:16]}…: unlogged_action, "
                "post_reply in t/42 at 10:20"
            )
            found = platform.get_report(filed["id"])
        said = found["corroboration"]
        console.print(
            f"the agent's chain says: [bold]{said['verdict']}[/bold] — {said['reason']}",
            markup=True,
        )
        ok &= check(
            console,
            said["verdict"] == "not-logged",
            "no post_reply entry within 15 minutes of 10:20",
        )
        ok &= check(
            console,
            said["chain_intact"] and said["complete"],
            "the chain is intact and complete, so nothing was removed",
        )
        ok &= check(
            console,
            said["next_entry"]["time"] > "2026-11-24T10:20",
            f"it goes on past 10:20 (entry {said['next_entry']['index']}, with its proof)",
        )
        with EmbeddedClient(service, agent) as helper:
            helper.respond(
                filed["id"],
                acknowledged=True,
                owner=owner,
                note="a deploy skipped the gate for one reply; fixed",
            )
            info = helper.agent(agent.address)
        ok &= check(
            console,
            info.reports_acknowledged == 1,
            f"the owner acknowledges; track record: {info.reports_received} report, "
            f"{info.denied_actions} denied action, reputation {info.reputation}",
        )
        report = ledger.verify()
        ok &= check(
            console,
            report.ok,
            f"the ledger verifies: {report.total_entries} entries, intact and complete",
        )
        return ok
    finally:
        ledger.close()
