"""``sealog agents``: register agents under owners; look them up."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from sealog.cli._common import JsonOpt, emit_json, out, state
from sealog.ledger.storage import Registration
from sealog.policy.store import policy_history
from sealog.service import Service

agents_app = typer.Typer(help="Register agents and look them up.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``agents`` to the app."""
    app.add_typer(agents_app, name="agents")


def _describe(reg: Registration, entries: int | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "address": reg.address,
        "name": reg.name,
        "role": reg.role,
        "owner": reg.owner,
        "registered_at": reg.time,
        "registration_index": reg.index,
    }
    if entries is not None:
        info["entries"] = entries
    return info


@agents_app.command("register")
def register_agent(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The agent's key name (see 'sealog keys new')."),
    owner: str = typer.Option(
        ..., "--owner", help="The owner's key name; registered first if new."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Register an agent key under an owner key."""
    st = state(ctx)
    agent_key, owner_key = st.key(name), st.key(owner)
    with st.ledger() as ledger:
        receipt = ledger.register_agent(agent_key, owner_key, name=name)
        reg = ledger.agent(agent_key.address)
    if as_json:
        emit_json({**_describe(reg), "receipt": receipt.to_dict()})
        return
    out.print(f"registered {name} {reg.address} under {owner} {owner_key.address}")
    out.print(f"entry {receipt.index}  id {receipt.id}")


@agents_app.command("register-owner")
def register_owner(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The key name (see 'sealog keys new')."),
    as_json: bool = JsonOpt,
) -> None:
    """Register a key as an owner on its own: a platform or a user that files reports."""
    st = state(ctx)
    key = st.key(name)
    with st.ledger() as ledger:
        receipt = ledger.register_owner(key, name=name)
        reg = ledger.agent(key.address)
    if as_json:
        emit_json({**_describe(reg), "receipt": receipt.to_dict()})
        return
    out.print(f"registered {name} {reg.address} as an owner")
    out.print(f"entry {receipt.index}  id {receipt.id}")


@agents_app.command("show")
def show(
    ctx: typer.Context,
    agent: str = typer.Argument(..., help="Address, or a key name."),
    as_json: bool = JsonOpt,
) -> None:
    """Show a registered agent or owner and its track record (exit 1 when unknown)."""
    st = state(ctx)
    address = st.address(agent)
    with st.ledger() as ledger:
        reg = ledger.agent(address)
        count = sum(1 for _ in ledger.entries(agent=address))
        versions = policy_history(ledger, address)
        record = Service(ledger).agent_info(address).to_dict()["stats"]
    info = _describe(reg, count)
    if reg.role == "agent":
        info["policy_version"] = versions[-1].version if versions else None
        info.update({k: v for k, v in record.items() if k != "entries"})
    if as_json:
        emit_json(info)
        return
    for field, value in info.items():
        out.print(f"{field:<19} {'-' if value is None else value}")


@agents_app.command("list")
def list_agents(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """List every registered agent and owner."""
    with state(ctx).ledger() as ledger:
        rows = [_describe(r) for r in ledger.registrations()]
    if as_json:
        emit_json(rows)
        return
    table = Table("address", "role", "name", "owner", "registered", box=None)
    for r in rows:
        table.add_row(
            r["address"], r["role"], r["name"] or "-", r["owner"] or "-", r["registered_at"]
        )
    out.print(table if rows else "no agents registered yet")
