"""``sealog provenance HASH``: where a piece of content came from, across agents."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from sealog.cli._common import JsonOpt, emit_json, out, state
from sealog.provenance import content_folder
from sealog.service import Service

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``provenance`` to the app."""
    app.command("provenance")(provenance)


def provenance(
    ctx: typer.Context,
    digest: str = typer.Argument(..., metavar="HASH", help="A content hash (sha256:…)."),
    content: Path | None = typer.Option(
        None, "--content", help="A folder of the contents: find where figures were introduced."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Walk content back through the agents that built it, to where it entered.

    With --content, also name the stage that introduced figures none of its sources state.
    """
    lookup = None if content is None else content_folder(content)
    with state(ctx).ledger() as ledger:
        found = Service(ledger).lineage(digest, lookup)
    if as_json:
        emit_json(found)
        return
    out.print(f"[bold]{found['content']}[/bold]: {len(found['stages'])} stage(s)", markup=True)
    for stage in found["stages"]:
        built = ", ".join(s[:15] + "…" for s in stage["sources"]) or "nothing known"
        out.print(f"  {escape(stage['action'])} by {stage['author']} at {stage['time']} "
                  f"(entry {stage['index']}) ← {built}")  # fmt: skip
    for stage in found["entered"]:
        out.print(f"  entered at {escape(stage['action'])} by {stage['author']} "
                  f"(entry {stage['index']})")  # fmt: skip
    for item in found["diverged"]:
        stage = item["stage"]
        figures = ", ".join(item["new_figures"])
        out.print(f"  [red]diverged[/red] at {escape(stage['action'])} by {stage['author']} "
                  f"(entry {stage['index']}): {escape(figures)} in none of its sources",
                  markup=True)  # fmt: skip
