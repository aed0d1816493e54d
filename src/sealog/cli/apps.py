"""``sealog apps``: tenants of a server, their API keys, and the owners bound to them.

The store is the home's ``tenants.db`` (see :mod:`sealog.tenancy`); a running server reads it
on every request, so a key made or revoked here counts at once.
"""

from __future__ import annotations

import typer
from rich.table import Table

from sealog.cli._common import JsonOpt, emit_json, err, out, state
from sealog.errors import NotFound, UsageError
from sealog.tenancy import Tenants

apps_app = typer.Typer(help="Apps (tenants) and their API keys.", no_args_is_help=True)
keys_app = typer.Typer(help="Make, list and revoke an app's API keys.", no_args_is_help=True)
owners_app = typer.Typer(help="Bind owners (and so their agents) to an app.", no_args_is_help=True)
apps_app.add_typer(keys_app, name="keys")
apps_app.add_typer(owners_app, name="owners")


def register(app: typer.Typer) -> None:
    """Add ``apps`` to the app."""
    app.add_typer(apps_app, name="apps")


def _store(ctx: typer.Context) -> Tenants:
    return Tenants.of_home(state(ctx).find_home())


def _shown_once() -> None:
    err.print("store this API key now: it is shown once, and only its hash is kept")


@apps_app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The app's name (letters, digits, '.', '_', '-')."),
    as_json: bool = JsonOpt,
) -> None:
    """Create an app and print its first API key (once)."""
    with _store(ctx) as tenants:
        app, token = tenants.create(name)
        key = tenants.keys(app.id)[0]
    if as_json:
        emit_json({**app.to_dict(), "key_id": key.id, "api_key": token})
    else:
        out.print(f"created app {app.name} ({app.id})")
        out.print(token)
    _shown_once()


@apps_app.command("list")
def list_apps(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """List the apps with their owners and active keys."""
    with _store(ctx) as tenants:
        rows = [
            {
                **app.to_dict(),
                "owners": tenants.owners(app.id),
                "active_keys": sum(k.revoked_at is None for k in tenants.keys(app.id)),
            }
            for app in tenants.apps()
        ]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "name", "owners", "active keys", "created", box=None)
    for r in rows:
        table.add_row(r["id"], r["name"], str(len(r["owners"])), str(r["active_keys"]),
                      r["created"])  # fmt: skip
    out.print(table if rows else "no apps yet: create one with 'sealog apps create NAME'")


@keys_app.command("new")
def new_key(
    ctx: typer.Context,
    app: str = typer.Argument(..., help="The app's name or id."),
    as_json: bool = JsonOpt,
) -> None:
    """Make another API key for an app and print it (once)."""
    with _store(ctx) as tenants:
        key, token = tenants.new_key(app)
    if as_json:
        emit_json({**key.to_dict(), "api_key": token})
    else:
        out.print(f"key {key.id}")
        out.print(token)
    _shown_once()


@keys_app.command("list")
def list_keys(
    ctx: typer.Context,
    app: str = typer.Argument(..., help="The app's name or id."),
    as_json: bool = JsonOpt,
) -> None:
    """List an app's keys (prefixes only), revoked ones included."""
    with _store(ctx) as tenants:
        rows = [k.to_dict() for k in tenants.keys(app)]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "prefix", "created", "last used", "revoked", box=None)
    for r in rows:
        table.add_row(r["id"], r["prefix"] + "…", r["created"], r["last_used"] or "-",
                      r["revoked_at"] or "-")  # fmt: skip
    out.print(table)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: str = typer.Argument(..., help="The key's id (16 hex digits)."),
    as_json: bool = JsonOpt,
) -> None:
    """Revoke an API key: the server refuses it from the next request on."""
    with _store(ctx) as tenants:
        key = tenants.revoke(key_id)
    if as_json:
        emit_json(key.to_dict())
        return
    out.print(f"revoked key {key.id} at {key.revoked_at}")


@owners_app.command("add")
def add_owner(
    ctx: typer.Context,
    app: str = typer.Argument(..., help="The app's name or id."),
    owner: str = typer.Argument(..., help="The owner's address, or its key name."),
    as_json: bool = JsonOpt,
) -> None:
    """Bind an owner, and so its agents, to an app (an owner belongs to one app)."""
    st = state(ctx)
    address = st.address(owner)
    with st.ledger() as ledger:
        try:
            role = ledger.agent(address).role
        except NotFound:  # it may register later, through the server
            role = "owner"
    if role != "owner":
        raise UsageError(f"{address} is an agent; bind its owner instead")
    with _store(ctx) as tenants:
        bound = tenants.bind(app, address)
    if as_json:
        emit_json({"app": bound.to_dict(), "owner": address})
        return
    out.print(f"owner {address} belongs to app {bound.name}")


@owners_app.command("list")
def list_owners(
    ctx: typer.Context,
    app: str = typer.Argument(..., help="The app's name or id."),
    as_json: bool = JsonOpt,
) -> None:
    """List the owners bound to an app."""
    with _store(ctx) as tenants:
        owners = tenants.owners(app)
    if as_json:
        emit_json(owners)
        return
    out.print("\n".join(owners) if owners else "no owners bound yet")
