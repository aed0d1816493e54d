"""``sealog demo``: the seed stories end to end on a fresh embedded ledger."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from sealog.cli._common import EXIT_NEGATIVE, out
from sealog.demo import STORIES, run_demo


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the app."""
    app.command("demo")(demo)


def demo(
    keep: Path | None = typer.Option(
        None, "--keep", help="Run in this folder and keep the ledgers."
    ),
    story: str | None = typer.Option(None, "--story", help=f"Run one story: {', '.join(STORIES)}."),
) -> None:
    """Run the seed stories end to end (no server, embedded SQLite)."""
    if story is not None and story not in STORIES:
        out.print(f"no story {story!r}; choose from {', '.join(STORIES)}")
        raise typer.Exit(2)
    if keep is not None:
        ok = run_demo(out, keep, story)
    else:
        with tempfile.TemporaryDirectory(prefix="sealog-demo-") as tmp:
            ok = run_demo(out, Path(tmp), story)
    out.rule()
    out.print(
        "[green]demo complete: every check held[/green]" if ok else "[red]demo failed[/red]",
        markup=True,
    )
    if not ok:
        raise typer.Exit(EXIT_NEGATIVE)
