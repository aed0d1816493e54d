"""The support agent that leaks PII three times: killed, and the owner paged by a signed webhook."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from sealog.crypto import SigningKey
from sealog.demo._narrate import check
from sealog.errors import SessionKilled, VerificationError
from sealog.gate import Gate
from sealog.ledger import Ledger
from sealog.policy.notify import verify_webhook
from sealog.policy.store import set_policy

_POLICY = """\
version: "1"
agent_id: support-bot
actions:
  allow: [post_reply]
violations:
  thresholds:
    pii_blocked: 3
  on_threshold: kill
kill_switch:
  notify:
    - webhook: "{url}"
  grace_period: 0s
"""

_REPLIES = [
    "Hi Dana, sorry about the delay. Let me look up your order.",
    "Found it: the account is dana.cho@example.com, right?",
    "Your order #4471 left our warehouse on Tuesday.",
    "The refund goes back to card 4111 1111 1111 1111.",
    "For the record, the SSN we hold is 123-45-6789.",
    "Anything else I can help with today?",
]
_PII = {
    "an email address": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    "a card number": re.compile(r"\b(?:\d[ -]?){13,16}\b"),
    "a social security number": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
}
_TICKET = "helpdesk://tickets/T-1042"


def _scan(reply: str) -> str | None:
    """What kind of PII the reply holds, if any (a toy scanner for the story)."""
    return next((kind for kind, pattern in _PII.items() if pattern.search(reply)), None)


@dataclass
class _Inbox:
    """What the receiver got: each request's parsed JSON and whether its signature held."""

    secret: str
    received: list[tuple[bool, dict[str, Any]]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)


@contextmanager
def _receiver(inbox: _Inbox) -> Iterator[str]:
    """A local HTTP receiver that verifies every webhook; yields its URL, always shuts down."""

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                verify_webhook(inbox.secret, dict(self.headers.items()), body, now=time.time())
                valid = True
            except VerificationError:
                valid = False
            inbox.received.append((valid, json.loads(body)))
            inbox.arrived.set()
            self.send_response(204 if valid else 401)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            """Keep the demo's output clean."""

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="demo-receiver", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/sealog"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def pii_kill(console: Console, folder: Path) -> bool:
    """A support agent leaks PII three times; the third kills it and a signed webhook arrives."""
    console.rule("[bold]The support agent that leaks PII[/bold]")
    ledger = Ledger.init(folder / ".sealog", origin="demo.sealog.dev/pii")
    owner, agent = SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(agent, owner, name="support-bot")
    inbox = _Inbox(secrets.token_hex(16))
    try:
        with _receiver(inbox) as url:
            set_policy(ledger, owner, agent.address, _POLICY.format(url=url))
            console.print(
                "Globex registers support-bot and seals its policy: three blocked PII leaks "
                f"kill the session, and the kill is posted to the on-call webhook at {url}."
            )
            with Gate(ledger, agent, webhook_secret=inbox.secret) as gate:
                session_id, killed = _conversation(console, gate)
            # closing the gate delivered what was pending and sealed the outcome
            inbox.arrived.wait(5)
        return _checks(console, ledger, inbox, session_id, killed)
    finally:
        ledger.close()


def _conversation(console: Console, gate: Gate) -> tuple[str, SessionKilled | None]:
    """Gate each reply, block those the scanner flags; return the session id and the refusal."""
    with gate.session("support-T-1042") as session:
        for reply in _REPLIES:
            try:
                decision = session.pre_action(
                    "post_reply", target=_TICKET, args={"chars": len(reply)}
                )
            except SessionKilled as exc:
                console.print(f'support-bot tries to send "{escape(reply)}"', markup=True)
                console.print(f"  [red]refused: {escape(exc.message)}[/red]", markup=True)
                return session.id, exc
            leak = _scan(reply)
            if leak is None:
                session.post_action(decision)
                console.print(
                    f'support-bot replies: "{escape(reply)}"  [dim]sent[/dim]', markup=True
                )
                continue
            session.post_action(decision, status="blocked", metadata={"pii": leak})
            killed = session.record_violation("pii_blocked", detail=f"reply held {leak}")
            count = dict(session.state.violations).get("pii_blocked", 0)
            console.print(
                f'support-bot drafts "{escape(reply)}"  [yellow]blocked: {leak}[/yellow] '
                f"(violation {count} of 3)",
                markup=True,
            )
            if killed:
                console.print(
                    "  [red]the third violation reaches the threshold: the session is killed[/red]",
                    markup=True,
                )
    return session.id, None


def _checks(
    console: Console, ledger: Ledger, inbox: _Inbox, session_id: str, killed: SessionKilled | None
) -> bool:
    ok = check(console, killed is not None, "the next reply is refused: the session is killed")
    ok &= check(console, len(inbox.received) == 1, "the receiver got one webhook")
    if not inbox.received:
        return False
    valid, payload = inbox.received[0]
    event = payload.get("sealog", {})
    console.print(f"  [bold]{escape(payload.get('text', ''))}[/bold]", markup=True)
    console.print(f"  rule {event.get('rule_id')}, session {event.get('session_id')}")
    console.print(f"  [dim]{escape(str(event.get('reason')))}[/dim]", markup=True)
    ok &= check(console, valid, "its signature is valid for the shared secret")
    ok &= check(console, event.get("event") == "session_killed", "event: session_killed")
    ok &= check(
        console, event.get("rule_id") == "violations.pii_blocked", "rule: violations.pii_blocked"
    )
    cited = str(event.get("ledger_entry"))
    kills = [
        s.entry
        for s in ledger.entries()
        if s.entry.id == cited
        and s.entry.kind == "session"
        and s.entry.fields.get("event") == "kill"
    ]
    ok &= check(
        console,
        len(kills) == 1 and kills[0].fields.get("session_id") == session_id,
        f"the payload cites the sealed kill entry {cited[:16]}…",
    )
    delivered = [
        s.entry
        for s in ledger.entries()
        if s.entry.kind == "session"
        and s.entry.fields.get("session_id") == session_id
        and s.entry.fields.get("event") == "delivery"
        and s.entry.fields["delivery"].get("status") == "delivered"
    ]
    ok &= check(console, len(delivered) == 1, "the delivery itself is sealed in the ledger")
    full = ledger.verify()
    ok &= check(
        console,
        full.ok,
        f"the ledger verifies: {full.total_entries} entries, intact and complete",
    )
    return bool(ok)
