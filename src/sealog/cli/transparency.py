"""``sealog checkpoint`` and ``sealog prove``: the log's signed head and its proofs."""

from __future__ import annotations

from pathlib import Path

import typer

from sealog.cli._common import JsonOpt, emit_json, out, state
from sealog.ledger import Checkpoint
from sealog.ledger.bundle import atomic_write

prove_app = typer.Typer(
    help="Print RFC 9162 inclusion and consistency proofs.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add ``checkpoint`` and ``prove`` to the app."""
    app.command("checkpoint")(checkpoint)
    app.add_typer(prove_app, name="prove")


def checkpoint(
    ctx: typer.Context,
    save: Path | None = typer.Option(
        None, "--out", help="Also save the note to this file (for verify --since-checkpoint)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Print the latest log-signed checkpoint (a C2SP signed note)."""
    with state(ctx).ledger() as ledger:
        note = ledger.checkpoint()
        parsed, _ = Checkpoint.open(note, ledger.vkey)
        vkey = ledger.vkey
    if save is not None:
        atomic_write(save, note.encode())
    if as_json:
        emit_json(
            {
                "origin": parsed.origin,
                "size": parsed.size,
                "root": parsed.root.hex(),
                "log_vkey": vkey,
                "note": note,
            }
        )
        return
    out.print(note, end="")


@prove_app.command("inclusion")
def inclusion(
    ctx: typer.Context,
    index: int = typer.Argument(..., min=0, help="The entry's index."),
    size: int | None = typer.Option(None, "--size", min=1, help="Tree size (default: latest)."),
    as_json: bool = JsonOpt,
) -> None:
    """Print the inclusion proof of an entry in the tree of a given size."""
    with state(ctx).ledger() as ledger:
        proof = ledger.prove_inclusion(index, size)
        root = ledger.root_at(proof.tree_size)
    data = {**proof.to_dict(), "root": root.hex()}
    if as_json:
        emit_json(data)
        return
    out.print(f"entry {proof.index} in tree of size {proof.tree_size} (root {root.hex()})")
    out.print(f"leaf  {proof.leaf_hash.hex()}")
    for h in proof.hashes:
        out.print(f"      {h.hex()}")


@prove_app.command("consistency")
def consistency(
    ctx: typer.Context,
    old: int = typer.Argument(..., min=1, help="The older tree size."),
    new: int = typer.Argument(..., min=1, help="The newer tree size."),
    as_json: bool = JsonOpt,
) -> None:
    """Print the proof that the tree of size NEW extends the tree of size OLD."""
    with state(ctx).ledger() as ledger:
        proof = ledger.prove_consistency(old, new)
        old_root, new_root = ledger.root_at(old), ledger.root_at(new)
    data = {**proof.to_dict(), "old_root": old_root.hex(), "new_root": new_root.hex()}
    if as_json:
        emit_json(data)
        return
    out.print(f"tree {old} (root {old_root.hex()}) -> tree {new} (root {new_root.hex()})")
    for h in proof.hashes:
        out.print(f"      {h.hex()}")
