"""The content pipeline: a fabricated statistic traced to the stage that introduced it.

Four agents — research, draft, fact-check, publish — each seal what they produced and what it
was built from (content hashes only; the texts stay with their owners). The published article
says "73% of users"; the research notes never did. Walking the article's provenance back with
the texts at hand finds the draft stage stating a figure none of its sources state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from sealog.content import content_hash
from sealog.crypto import SigningKey
from sealog.demo._narrate import check
from sealog.ledger import Ledger
from sealog.provenance import content_folder
from sealog.service import Service

_NOTES = (
    "Survey of 1,200 users (March): 41% use the export weekly; the median session is 12 minutes."
)
_DRAFT = (
    "Our survey of 1,200 users shows 73% of users rely on the export every week, "
    "with a median session of 12 minutes."
)
_STAGES = ("research", "draft", "fact-check", "publish")


def content_pipeline(console: Console, folder: Path) -> bool:
    """Research → draft → fact-check → publish; the invented 73% is traced to the draft."""
    console.rule("[bold]The content pipeline and the statistic nobody researched[/bold]")
    ledger = Ledger.init(folder / ".sealog", origin="demo.sealog.dev/pipeline")
    texts = folder / "content"
    texts.mkdir(exist_ok=True)
    try:
        owner = SigningKey.generate()
        agents = {name: SigningKey.generate() for name in _STAGES}
        for name, key in agents.items():
            ledger.register_agent(key, owner, name=name)
        svc = Service(ledger)
        contents = {
            "research": _NOTES,
            "draft": _DRAFT,
            "fact-check": _DRAFT,
            "publish": _DRAFT + "\n— published by the newsroom",
        }
        previous: str | None = None
        for stage in _STAGES:
            text = contents[stage]
            digest = content_hash(text)
            (texts / f"{stage}.txt").write_text(text, encoding="utf-8")
            fields: dict[str, Any] = {"action": stage.replace("-", "_"), "content_hash": digest}
            if previous is not None:
                fields["sources"] = [previous]
            svc.submit([ledger.sign_next(agents[stage], "action", fields)])
            console.print(
                f"{stage:<10} seals {digest[:23]}…"
                + (f" built from {previous[:23]}…" if previous else "")
            )
            previous = digest
        assert previous is not None
        found = svc.lineage(previous, content_folder(texts))
        ok = check(
            console,
            [s["action"] for s in found["stages"]]
            == ["publish", "fact_check", "draft", "research"],
            "the article's lineage runs publish ← fact-check ← draft ← research",
        )
        ok &= check(
            console,
            [s["action"] for s in found["entered"]] == ["research"],
            "content entered the pipeline at the research stage",
        )
        diverged = found["diverged"]
        where = [(d["stage"]["action"], d["new_figures"]) for d in diverged]
        for action, figures in where:
            console.print(
                f"  diverged at {action}: {escape(', '.join(figures))} in none of its sources"
            )
        ok &= check(
            console,
            where == [("draft", ["73%"])],
            "the 73% was introduced by the draft stage, not the research",
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
