"""A marketplace checks agents over the API before they list anything.

The unregistered agent is refused, the registered one verified, and a spammer's track record —
buyers' reports, acknowledged — keeps it off the listings.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.markup import escape

from sealog.client import Client
from sealog.crypto import SigningKey
from sealog.demo._narrate import check
from sealog.ledger import Ledger, wire_entry
from sealog.ledger.entry import parse_time
from sealog.platform import admit
from sealog.policy.store import set_policy
from sealog.server import Settings, create_app
from sealog.signed_request import sign_request

__all__ = ["platform_check"]

_POLICY = """\
actions:
  allow: [list_item, answer_buyer]
"""


@contextmanager
def _serving(ledger: Ledger) -> Iterator[str]:
    """``sealog serve``'s app under uvicorn on a free loopback port, for the story's length."""
    config = uvicorn.Config(create_app(Settings(ledger=ledger)), host="127.0.0.1", port=0,
                            log_level="warning", access_log=False, lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="demo-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the demo API did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


def _post(http: httpx.Client, key: SigningKey, path: str, body: Any) -> httpx.Response:
    raw = json.dumps(body).encode()
    headers = {"content-type": "application/json", **sign_request(key, "POST", path, raw)}
    return http.post(path, content=raw, headers=headers)


def platform_check(console: Console, folder: Path) -> bool:
    """A marketplace asks the API about two sellers' agents before letting them list items."""
    console.rule("[bold]The marketplace that checks agents before they act[/bold]")
    ledger = Ledger.init(folder / ".sealog", origin="demo.sealog.dev/platform")
    owner, agent, stranger = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(agent, owner, name="seller-bot")
    set_policy(ledger, owner, agent.address, _POLICY)
    ok = True
    with _serving(ledger) as url, httpx.Client(base_url=url, timeout=10) as http:
        console.print(f"sealog serves the log at {url}; the marketplace only speaks HTTP.")
        start = ledger.sign_next(agent, "session", {"session_id": "shop-1", "event": "start"})
        _post(http, agent, "/logs", wire_entry(start))
        receipts = []
        for item in ("lamp", "chair"):
            proposed = {"action": "list_item", "target": f"market://items/{item}"}
            draft = _post(http, agent, "/sessions/shop-1/draft", proposed).json()
            decision = ledger.sign_next(agent, "decision", draft["fields"],
                                        time=parse_time(draft["time"]))  # fmt: skip
            action = ledger.sign_next(agent, "action", {"action": "list_item", "session_id":
                                      "shop-1", "target": f"market://items/{item}",
                                      "decision": decision.id})  # fmt: skip
            out = _post(
                http, agent, "/entries", {"entries": [wire_entry(decision), wire_entry(action)]}
            )
            receipts.append(out.json()["results"][1])
        console.print(f"seller-bot lists two items; each was decided and sealed first "
                      f"(policy_match {receipts[0]['policy_match']}).")  # fmt: skip

        unknown = http.get(f"/agents/{stranger.address}")
        console.print(f"GET /agents/{stranger.address[:12]}… → {unknown.status_code} "
                      f"{escape(unknown.json().get('detail', ''))}")  # fmt: skip
        ok &= check(console, unknown.status_code == 404,  # noqa: PLR2004
                    "an unregistered agent is refused: 404, it may not list anything")  # fmt: skip

        known = http.get(f"/agents/{agent.address}").json()
        console.print(f"GET /agents/{agent.address[:12]}… → registered {known['registered_at']}, "
                      f"policy v{known['policy_version']}, {known['stats']}")  # fmt: skip
        ok &= check(console, known["policy_version"] == 1, "seller-bot is registered, policy v1")
        chain = http.get(f"/verify/chain/{agent.address}").json()
        said = f"its chain verifies: {chain['total_entries']} entries, intact and complete"
        ok &= check(console, chain["chain_intact"] and chain["complete"], said)
        proof = http.get(f"/verify/{receipts[1]['id']}").json()
        ok &= check(console, proof["signature_valid"] and proof["included"]
                    and proof["policy_at_time"]["recomputed"] == "matches",
                    "the chair listing: signature valid, included, its decision recomputes "
                    f"under policy v{proof['policy_at_time']['version']}")  # fmt: skip
        ok &= _spammer(console, ledger, url, agent)
    ledger.close()
    return ok


_BAR = 75
"""The reputation this marketplace asks of an agent before it may list."""


def _spammer(console: Console, ledger: Ledger, url: str, seller: SigningKey) -> bool:
    """Buyers report a spamming agent over the API; its record keeps it off the marketplace."""
    market, buyer = SigningKey.generate(), SigningKey.generate()
    spam, spam_owner = SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(spam, spam_owner, name="spam-bot")
    ledger.register_owner(market, name="market.example")
    ledger.register_owner(buyer, name="a buyer")
    seen = datetime.now(UTC)
    with Client(url, key=market) as mk, Client(url, key=buyer) as by, \
            Client(url, key=spam) as bot:  # fmt: skip
        filed = [
            by.report(spam.address, "spam", "message_buyer", seen, severity="high"),
            by.report(spam.address, "spam", "message_buyer", seen, severity="high"),
            mk.report(spam.address, "policy_violation", "list_item", seen, severity="critical",
                      description="listed a counterfeit"),
        ]  # fmt: skip
        for receipt in filed[:2]:
            bot.respond(receipt["id"], acknowledged=True, owner=spam_owner)
        record = mk.agent(spam.address)
        console.print(f"spam-bot: {record.reports_received} reports, "
                      f"{record.reports_acknowledged} acknowledged, {record.reports_open} open, "
                      f"reputation {record.reputation}")  # fmt: skip
        refused, admitted = (
            admit(mk, spam.address, min_score=_BAR),
            admit(mk, seller.address, min_score=_BAR),
        )
    ok = check(console, not refused.allowed,
               f"spam-bot is refused: {refused.reason}")  # fmt: skip
    ok &= check(console, admitted.allowed, f"seller-bot is admitted: {admitted.reason}")
    return ok
