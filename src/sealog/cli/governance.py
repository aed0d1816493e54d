"""``sealog governance``: governance traces in the home's ledger — list, show, erase reasoning."""

from __future__ import annotations

import typer
from rich.markup import escape

from sealog.cli._common import JsonOpt, State, emit_json, out, state
from sealog.governance import REASONING_FILE, Blobs
from sealog.service import Service

__all__ = ["register"]

governance_app = typer.Typer(
    help="Governance traces: list, show, erase kept reasoning.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add ``governance`` to the app."""
    app.add_typer(governance_app, name="governance")


def _service(st: State) -> tuple[Service, Blobs]:
    blobs = Blobs(st.find_home().path / REASONING_FILE)
    return Service(st.ledger(), blobs), blobs


@governance_app.command("list")
def list_traces(
    ctx: typer.Context,
    agent: str | None = typer.Option(None, "--agent", help="One agent's (address or key name)."),
    status: str | None = typer.Option(
        None, "--status", help="executed, blocked or pending_approval."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="How many, newest first."),
    as_json: bool = JsonOpt,
) -> None:
    """Traces, newest first."""
    st = state(ctx)
    svc, blobs = _service(st)
    try:
        authors = None if agent is None else frozenset({st.address(agent)})
        traces = svc.list_traces(authors, status=status, limit=limit)
    finally:
        svc.ledger.close()
        blobs.close()
    if as_json:
        emit_json(traces)
        return
    for t in traces:
        action = escape(str(t.get("proposedAction", {}).get("action", "?")))
        out.print(f"{t['status']:<17} {action:<16} risk {t.get('riskScore', '-')!s:<4} "
                  f"{t['agentId']}  {t['time']}  [dim]{t['traceHash']}[/dim]")  # fmt: skip


@governance_app.command("show")
def show(
    ctx: typer.Context,
    trace_hash: str = typer.Argument(..., help="The trace's hash (its entry id)."),
    as_json: bool = JsonOpt,
) -> None:
    """One trace, with its reasoning text if it was kept and not erased."""
    svc, blobs = _service(state(ctx))
    try:
        found = svc.trace(trace_hash)
    finally:
        svc.ledger.close()
        blobs.close()
    if as_json:
        emit_json(found)
        return
    for key, value in found.items():
        out.print(f"{key}: {escape(str(value))}")


@governance_app.command("erase-reasoning")
def erase(
    ctx: typer.Context,
    trace_hash: str = typer.Argument(..., help="The trace's hash (its entry id)."),
) -> None:
    """Erase a trace's kept reasoning text (a privacy request): the log and its hash stay."""
    svc, blobs = _service(state(ctx))
    try:
        erased = svc.erase_reasoning(trace_hash)
    finally:
        svc.ledger.close()
        blobs.close()
    out.print("reasoning erased" if erased else "no reasoning text was kept for this trace")
