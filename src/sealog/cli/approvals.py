"""``sealog approvals``: list the asks awaiting an owner, approve or deny one."""

from __future__ import annotations

import typer
from rich.markup import escape

from sealog.approvals import decide, name_approver
from sealog.cli._common import JsonOpt, emit_json, out, state
from sealog.service import Service

__all__ = ["register"]

approvals_app = typer.Typer(help="Asks awaiting an owner's verdict.", no_args_is_help=True)
_COLOUR = {"pending": "yellow", "approved": "green", "denied": "red", "expired": "dim"}


def register(app: typer.Typer) -> None:
    """Add ``approvals`` to the app."""
    app.add_typer(approvals_app, name="approvals")


@approvals_app.command("list")
def list_asks(
    ctx: typer.Context,
    agent: str | None = typer.Option(None, "--agent", help="One agent's (address or key name)."),
    status: str | None = typer.Option(
        "pending", "--status", help="pending (default), approved, denied, expired or all."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """The asks (pending by default), oldest first."""
    st = state(ctx)
    address = None if agent is None else st.address(agent)
    wanted = None if status in {None, "all"} else status
    with st.ledger() as ledger:
        asks = Service(ledger).asks(agent=address, status=wanted)
    if as_json:
        emit_json(asks)
        return
    if not asks:
        out.print(f"no {status or ''} asks".replace("  ", " "))
    for a in asks:
        colour = _COLOUR[a["status"]]
        target = f" → {a['target']}" if a["target"] else ""
        out.print(f"[{colour}]{a['status']:<9}[/] {escape(a['action'] + target)}  by "
                  f"{a['agent']}  asked {a['asked_at']}, expires {a['expires_at']}  "
                  f"[dim]{a['decision']}[/dim]")  # fmt: skip


def _verdict(ctx: typer.Context, decision: str, as_name: str, reason: str | None, *,
             approve: bool, as_json: bool) -> None:  # fmt: skip
    st = state(ctx)
    with st.ledger() as ledger:
        receipt = decide(ledger, st.key(as_name), decision, approve=approve, reason=reason)
    if as_json:
        emit_json(receipt.to_dict())
        return
    word = "approved" if approve else "denied"
    out.print(f"{decision[:16]}… {word}, sealed as entry {receipt.index}")


@approvals_app.command("approve")
def approve(
    ctx: typer.Context,
    decision: str = typer.Argument(..., help="The ask decision's id."),
    as_name: str = typer.Option(..., "--as", help="The agent's owner's key name."),
    reason: str | None = typer.Option(None, "--reason", help="Why, in words."),
    as_json: bool = JsonOpt,
) -> None:
    """Approve an ask: the agent may act, and the action counts as allowed."""
    _verdict(ctx, decision, as_name, reason, approve=True, as_json=as_json)


@approvals_app.command("deny")
def deny(
    ctx: typer.Context,
    decision: str = typer.Argument(..., help="The ask decision's id."),
    as_name: str = typer.Option(..., "--as", help="The agent's owner's key name."),
    reason: str | None = typer.Option(None, "--reason", help="Why, in words."),
    as_json: bool = JsonOpt,
) -> None:
    """Deny an ask: the agent must not act."""
    _verdict(ctx, decision, as_name, reason, approve=False, as_json=as_json)


@approvals_app.command("delegate")
def delegate(
    ctx: typer.Context,
    approver: str = typer.Argument(..., help="The key named (address or key name)."),
    as_name: str = typer.Option(..., "--as", help="The owner's key name."),
    withdraw: bool = typer.Option(False, "--withdraw", help="Withdraw it instead."),
    as_json: bool = JsonOpt,
) -> None:
    """Name a registered key approver of your agents' asks (or withdraw it)."""
    st = state(ctx)
    address = st.address(approver)
    with st.ledger() as ledger:
        receipt = name_approver(ledger, st.key(as_name), address, active=not withdraw)
    if as_json:
        emit_json(receipt.to_dict())
        return
    word = "withdrawn as" if withdraw else "named"
    out.print(f"{address} {word} approver, sealed as entry {receipt.index}")
