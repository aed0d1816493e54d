"""``sealog reports``: file a signed report about an agent, answer one, list and show them.

Over the home's ledger, through the same client and service the SDK and the server use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from sealog.cli._common import JsonOpt, emit_json, out, state
from sealog.client import EmbeddedClient
from sealog.content import content_hash
from sealog.errors import UsageError
from sealog.ledger.entry import REPORT_CATEGORIES, SEVERITIES
from sealog.service import Service

__all__ = ["register"]

reports_app = typer.Typer(help="Reports about agents, and their answers.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``reports`` to the app."""
    app.add_typer(reports_app, name="reports")


def _evidence(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return content_hash(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read evidence {path}: {exc.strerror or exc}") from exc


@reports_app.command("file")
def file_report(
    ctx: typer.Context,
    agent: str = typer.Argument(..., help="The agent reported (address or key name)."),
    as_name: str = typer.Option(..., "--as", help="Your key name (a registered key)."),
    category: str = typer.Option(..., "--category", help=", ".join(REPORT_CATEGORIES)),
    action: str = typer.Option(..., "--action", help="The action observed (post_reply)."),
    observed_at: str = typer.Option(
        ..., "--observed-at", help="When you saw it, with a timezone (2026-11-21T09:00:00Z)."
    ),
    target: str | None = typer.Option(None, "--target", help="What it was done to."),
    severity: str = typer.Option("medium", "--severity", help=", ".join(SEVERITIES)),
    description: str | None = typer.Option(None, "--description", help="In words."),
    evidence: Path | None = typer.Option(
        None, "--evidence", help="A file of evidence: only its content hash is sealed."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """File a signed report about an agent; print its id."""
    st = state(ctx)
    subject = st.address(agent)
    with st.ledger() as ledger, EmbeddedClient(ledger, st.key(as_name)) as client:
        receipt = client.report(subject, category, action, observed_at, severity=severity,
                                target=target, description=description,
                                evidence_hash=_evidence(evidence))  # fmt: skip
    if as_json:
        emit_json(receipt)
        return
    out.print(f"report {receipt['id']} about {subject}, sealed as entry {receipt['index']}")


@reports_app.command("answer")
def answer(
    ctx: typer.Context,
    report_id: str = typer.Argument(..., help="The report's id (64 hex digits)."),
    as_name: str = typer.Option(..., "--as", help="The reported agent's key name."),
    owner: str | None = typer.Option(None, "--owner", help="Answer as the agent's owner key."),
    dispute: Path | None = typer.Option(
        None, "--dispute", help="Dispute it with this counter-evidence file (hash sealed)."
    ),
    note: str | None = typer.Option(None, "--note", help="In words."),
    as_json: bool = JsonOpt,
) -> None:
    """Acknowledge a report about your agent, or dispute it with counter-evidence."""
    st = state(ctx)
    owner_key = None if owner is None else st.key(owner)
    with st.ledger() as ledger, EmbeddedClient(ledger, st.key(as_name)) as client:
        receipt = client.respond(report_id, acknowledged=dispute is None,
                                 counter_evidence_hash=_evidence(dispute), note=note,
                                 owner=owner_key)  # fmt: skip
    if as_json:
        emit_json(receipt)
        return
    word = "disputed" if dispute is not None else "acknowledged"
    out.print(f"report {report_id[:16]}… {word}, sealed as entry {receipt['index']}")


@reports_app.command("list")
def list_reports(
    ctx: typer.Context,
    agent: str = typer.Argument(..., help="The agent (address or key name)."),
    as_json: bool = JsonOpt,
) -> None:
    """The reports about an agent, with their statuses."""
    st = state(ctx)
    with st.ledger() as ledger:
        found = Service(ledger).reports_about(st.address(agent))
    if as_json:
        emit_json(found)
        return
    out.print(f"{found['received']} report(s): {found['open']} open, {found['acknowledged']} "
              f"acknowledged, {found['disputed']} disputed")  # fmt: skip
    for r in found["reports"]:
        _line(r)


@reports_app.command("show")
def show(
    ctx: typer.Context,
    report_id: str = typer.Argument(..., help="The report's id (64 hex digits)."),
    as_json: bool = JsonOpt,
) -> None:
    """One report; for an unlogged_action, whether the agent's own chain logged it."""
    st = state(ctx)
    with st.ledger() as ledger:
        found = Service(ledger).report(report_id)
    if as_json:
        emit_json(found)
        return
    _line(found)
    if found.get("description"):
        out.print(f"  {escape(found['description'])}")
    for response in found["responses"]:
        word = "acknowledged" if response["acknowledged"] else "disputed"
        out.print(f"  {word} by {response['author']} at {response['time']}")
    corroboration = found.get("corroboration")
    if corroboration is not None:
        out.print(f"  the agent's chain says: [bold]{corroboration['verdict']}[/bold]")
        detail = corroboration.get("reason") or corroboration.get("entry")
        if detail:
            out.print(f"  {escape(str(detail))}")


def _line(r: dict[str, Any]) -> None:
    target = f" → {r['target']}" if r.get("target") else ""
    out.print(f"[{_COLOUR[r['status']]}]{r['status']:<12}[/] {r['severity']:<8} "
              f"{escape(r['category'])}: {escape(r['action_observed'] + target)} at "
              f"{r['observed_at']}  [dim]({r['id'][:16]}…, by {r['reporter']})[/dim]")  # fmt: skip


_COLOUR = {"open": "yellow", "acknowledged": "green", "disputed": "red"}
