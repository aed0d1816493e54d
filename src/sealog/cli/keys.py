"""``sealog init`` and ``sealog keys``: the ledger home and the identities kept in it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sealog.cli._common import LOG_KEY_NAME, JsonOpt, emit_json, out, state
from sealog.errors import UsageError
from sealog.home import HOME_DIR, Home
from sealog.ledger import Ledger

keys_app = typer.Typer(help="Create and show Ed25519 identities.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``init`` and ``keys`` to the app."""
    app.command("init")(init)
    app.add_typer(keys_app, name="keys")


def init(
    ctx: typer.Context,
    origin: str | None = typer.Option(
        None, "--origin", help="The log's name in checkpoints (default: sealog.local/<random>)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Create an embedded ledger and a log key in ./.sealog (or --home)."""
    target = state(ctx).home or Path.cwd() / HOME_DIR
    with Ledger.init(target, origin) as ledger:
        info = {"home": str(target), "origin": ledger.origin, "log_vkey": ledger.vkey}
    if as_json:
        emit_json(info)
        return
    out.print(f"Created ledger in {target}")
    out.print(f"origin   {info['origin']}")
    out.print(f"log key  {info['log_vkey']}")


@keys_app.command("new")
def new(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name of the identity."),
    as_json: bool = JsonOpt,
) -> None:
    """Create an identity (private key file, mode 0600) and print its address."""
    if name == LOG_KEY_NAME:
        raise UsageError(f"{LOG_KEY_NAME!r} names the log's own key; choose another name")
    home = state(ctx).find_home()
    key = home.keys.new(name)
    if as_json:
        emit_json({"name": name, "address": key.address, "public_key": key.public_key.b64})
        return
    out.print(key.address)


@keys_app.command("list")
def list_keys(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """List the identities in this home."""
    store = state(ctx).find_home().keys
    rows = [{"name": n, "address": store.load(n).address} for n in store.names()]
    if as_json:
        emit_json(rows)
        return
    table = Table("name", "address", box=None)
    for row in rows:
        table.add_row(row["name"], row["address"])
    out.print(table if rows else "no keys yet: create one with 'sealog keys new NAME'")


@keys_app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Identity name, or 'log' for the log's key."),
    as_json: bool = JsonOpt,
) -> None:
    """Show an identity's address, public key and C2SP verifier key line."""
    home: Home = state(ctx).find_home()
    if name == LOG_KEY_NAME:
        origin, key = home.log_key()
        key_name = origin
    else:
        key, key_name = home.keys.load(name), name
    info = {
        "name": key_name,
        "address": key.address,
        "public_key": key.public_key.b64,
        "vkey": key.public_key.vkey(key_name),
    }
    if as_json:
        emit_json(info)
        return
    for field, value in info.items():
        out.print(f"{field:<11} {value}")
