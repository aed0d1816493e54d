"""``sealog receipts``: a run's execution receipts, and the join with a scanner's artifact."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from sealog.cli._common import EXIT_NEGATIVE, JsonOpt, emit_json, out, state
from sealog.errors import InputError
from sealog.receipts import join, receipts

__all__ = ["register"]

receipts_app = typer.Typer(help="Execution receipts of a run.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``receipts`` to the app."""
    app.add_typer(receipts_app, name="receipts")


@receipts_app.command("show")
def show(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="The run's id."),
    as_json: bool = JsonOpt,
) -> None:
    """Every tool call of a run: its decision, arguments digest, budget and state digests."""
    with state(ctx).ledger() as ledger:
        found = receipts(ledger.entries(), run_id)
    if as_json:
        emit_json(found)
        return
    for r in found:
        done = "executed" if r["executed"] else "not executed"
        d = r["decision"]
        args = f"{r['args_digest'][:23]}… ({r['args_basis']})"
        out.print(f"{escape(str(r['tool_call_id']))}: {escape(r['action'])} — {d['outcome']} "
                  f"({d['decision_class']}, policy v{d['policy_version']}), {done}, budget "
                  f"{r['budget_consumed']}, args {args}")  # fmt: skip


@receipts_app.command("join")
def join_artifact(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="The run's id."),
    artifact: Path = typer.Argument(..., help="The scanner's decision artifact (JSON)."),
    as_json: bool = JsonOpt,
) -> None:
    """Hold a scanner's artifact to the executed receipt: exit 0 match, 1 a mismatch."""
    try:
        data = json.loads(artifact.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the artifact {artifact}: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{artifact} is not a JSON object")
    with state(ctx).ledger() as ledger:
        answer = join(receipts(ledger.entries(), run_id), data)
    if as_json:
        emit_json(answer)
    else:
        out.print(f"{answer['outcome']}: {escape(answer['reason'])}")
    if answer["outcome"] != "match":
        raise typer.Exit(EXIT_NEGATIVE)
