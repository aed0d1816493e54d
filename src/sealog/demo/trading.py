"""The trading agent in a $50K dispute: what was traded, proven offline, tamper caught."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from sealog.content import content_hash
from sealog.crypto import SigningKey
from sealog.demo._narrate import check
from sealog.ledger import Ledger, export_bundle, load_bundle, verify_bundle

_TRADES = [
    ("buy", "AAPL", 40, "187.20"),
    ("buy", "MSFT", 25, "411.05"),
    ("sell", "AAPL", 40, "189.95"),
    ("buy", "TSLA", 200, "250.00"),
    ("sell", "MSFT", 25, "415.30"),
]
_DISPUTED = 3


def trading_dispute(console: Console, folder: Path) -> bool:
    """Register a trading agent, log its trades, prove them offline, catch a tampered copy."""
    console.rule("[bold]The trading agent in a $50K dispute[/bold]")
    ok = True
    ledger = Ledger.init(folder / ".sealog", origin="demo.sealog.dev/trading")
    owner, agent = SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(agent, owner, name="trader-7")
    console.print(
        f"Acme Capital registers agent trader-7 at [cyan]{agent.address}[/cyan].", markup=True
    )

    start = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
    receipts = []
    for n, (side, symbol, qty, price) in enumerate(_TRADES):
        order = {"side": side, "symbol": symbol, "qty": qty, "price": price}
        notional = f"{int(qty) * float(price):.2f}"
        receipts.append(
            ledger.append(
                agent,
                "trade",
                target=f"exchange://nasdaq/{symbol}",
                content_hash=content_hash(order),
                metadata={**order, "notional_usd": notional},
                time=start + timedelta(minutes=7 * n),
            )
        )
    disputed = receipts[_DISPUTED]
    console.print(
        f"trader-7 logs {len(_TRADES)} trades; each one is signed by the agent and sealed."
    )
    console.print(
        f"The client disputes trade #{disputed.index}: "
        "[bold]buy 200 TSLA @ 250.00 = $50,000.00[/bold].",
        markup=True,
    )

    bundle_path = folder / "evidence.json"
    summary = export_bundle(ledger, bundle_path, agent=agent.address)
    console.print(
        f"The owner exports an evidence bundle ({summary.entries} entries, inclusion proofs, "
        f"checkpoint of size {summary.tree_size}) and sends it with the log key:"
    )
    console.print(f"  [dim]{ledger.vkey}[/dim]", markup=True)

    report = verify_bundle(load_bundle(bundle_path), log_vkey=ledger.vkey)
    ok &= check(
        console,
        report.ok,
        f"the client verifies it offline: {report.signatures_checked} signatures, "
        "chain intact, every entry included",
    )
    entry = ledger.get(disputed.index).entry
    ok &= check(
        console,
        entry.fields["metadata"]["notional_usd"] == "50000.00",
        f"the disputed trade is in the agent's signed chain at seq {entry.seq}, made {entry.time}",
    )

    tampered = json.loads(bundle_path.read_text())
    item = next(i for i in tampered["entries"] if i["index"] == disputed.index)
    raw = base64.b64decode(item["entry"]).replace(b'"qty":200', b'"qty":20')
    item["entry"] = base64.b64encode(raw).decode()
    forged = folder / "evidence-tampered.json"
    forged.write_text(json.dumps(tampered))
    console.print(
        "Someone edits a copy of the bundle: the disputed trade becomes 20 shares ($5,000)."
    )
    bad = verify_bundle(load_bundle(forged), log_vkey=ledger.vkey)
    named = [g for g in bad.gaps if g.kind == "altered" and g.index == disputed.index]
    ok &= check(console, not bad.ok, "verification of the tampered copy fails")
    ok &= check(
        console,
        bool(named),
        f"and names the altered entry: index {disputed.index}"
        + (f", author {named[0].author}, seq {named[0].seq}" if named and named[0].author else ""),
    )
    full = ledger.verify()
    ok &= check(
        console,
        full.ok,
        f"the ledger itself still verifies: {full.total_entries} entries, complete",
    )
    ledger.close()
    return ok
