"""``sealog verify`` and ``sealog export``: audits and offline evidence bundles."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from sealog.cli._common import EXIT_NEGATIVE, JsonOpt, State, emit_json, out, state
from sealog.errors import FormatError, UsageError
from sealog.gate.replay import ReplayReport, replay
from sealog.ledger import VerifyReport, bundle_entries, export_bundle, load_bundle, verify_bundle
from sealog.receipts import training_rows


def register(app: typer.Typer) -> None:
    """Add ``verify`` and ``export`` to the app."""
    app.command("verify")(verify)
    app.command("export")(export)


def _read_note(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read checkpoint file {path}: {exc}") from exc


def render_report(report: VerifyReport) -> None:
    """Print a verification report for a person."""
    verdict = "[green]VERIFIED[/green]" if report.ok else "[red]NOT VERIFIED[/red]"
    out.print(f"{verdict}  {report.scope}", markup=True)
    out.print(f"  entries        {report.total_entries} (checkpoint tree size {report.tree_size})")
    out.print(f"  authors        {report.authors}, signatures checked {report.signatures_checked}")
    out.print(f"  chain intact   {'yes' if report.chain_intact else 'NO'}")
    out.print(f"  complete       {'yes' if report.complete else 'NO'}")
    if report.consistent_with_saved is not None:
        out.print(f"  extends saved  {'yes' if report.consistent_with_saved else 'NO'}")
    for gap in report.gaps:
        where = ", ".join(
            f"{k} {v}"
            for k, v in (
                ("index", gap.index),
                ("author", gap.author),
                ("seq", gap.seq),
                ("size", gap.size),
            )
            if v is not None
        )
        out.print(f"  [red]{gap.kind}[/red] ({where}): {gap.detail}", markup=True)


def verify(
    ctx: typer.Context,
    bundle: Path | None = typer.Argument(None, help="An evidence bundle to verify offline."),
    agent: str | None = typer.Option(
        None, "--agent", help="Check this author's chain (address or key name)."
    ),
    since_checkpoint: Path | None = typer.Option(
        None, "--since-checkpoint", help="A checkpoint saved earlier; the log must extend it."
    ),
    log_key: str | None = typer.Option(
        None, "--log-key", help="Pin the log's verifier key (NAME+KEYID+BASE64) for a bundle."
    ),
    entry: str | None = typer.Option(
        None, "--entry", help="Check one entry (index or id): signature, chain, inclusion."
    ),
    replay_decisions: bool = typer.Option(
        False, "--replay", help="Also recompute every sealed decision from the log alone."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Verify the ledger, or a bundle offline: exit 0 intact and complete, 1 not, 2 bad input."""
    if entry is not None:
        if bundle is not None or agent is not None or since_checkpoint is not None:
            raise UsageError("--entry checks one entry of the ledger; give no other target")
        _verify_entry(ctx, entry, as_json=as_json)
        return
    if replay_decisions and agent is not None:
        raise UsageError("--replay recomputes the whole log's decisions; drop --agent")
    replayed: ReplayReport | None = None
    if bundle is not None:
        if agent is not None or since_checkpoint is not None:
            raise UsageError("--agent and --since-checkpoint apply to the ledger, not to a bundle")
        document = load_bundle(bundle)
        report = verify_bundle(document, log_vkey=log_key)
        if replay_decisions and report.ok:
            replayed = replay(bundle_entries(document))
    else:
        if log_key is not None:
            raise UsageError("--log-key pins the key of a bundle; give the bundle file")
        st = state(ctx)
        note = _read_note(since_checkpoint) if since_checkpoint is not None else None
        with st.ledger() as ledger:
            report = ledger.verify(
                agent=st.address(agent) if agent else None, since_checkpoint=note
            )
            if replay_decisions and report.ok:
                replayed = replay(ledger.entries())
    if as_json:
        emit_json(report.to_dict() | ({} if replayed is None else {"replay": replayed.to_dict()}))
    else:
        render_report(report)
        if replayed is not None:
            render_replay(replayed)
        elif replay_decisions:
            out.print("  replay         skipped: the log itself did not verify")
    if not report.ok or (replayed is not None and not replayed.ok):
        raise typer.Exit(EXIT_NEGATIVE)


def render_replay(report: ReplayReport) -> None:
    """Print what the replay recomputed and every finding, located."""
    verdict = "[green]REPLAYED[/green]" if report.ok else "[red]DECISIONS DIFFER[/red]"
    out.print(
        f"{verdict}  {report.decisions} decisions: {report.matched} recomputed identical, "
        f"{len(report.unverifiable)} unverifiable; {report.kills} kills checked",
        markup=True,
    )
    for f in report.findings:
        colour = "yellow" if f.kind == "unverifiable" else "red"
        out.print(
            f"  [{colour}]{f.kind}[/{colour}] (index {f.index}, session {escape(f.session_id)}): "
            f"{escape(f.detail)}",
            markup=True,
        )


def _verify_entry(ctx: typer.Context, ref: str, *, as_json: bool) -> None:
    with state(ctx).ledger() as ledger:
        result = ledger.verify_entry(int(ref) if ref.isdecimal() else ref)
    ok = result.signature_valid and result.chain_intact and result.included
    if as_json:
        emit_json({"ok": ok, **result.to_dict()})
    else:
        verdict = "[green]VERIFIED[/green]" if ok else "[red]NOT VERIFIED[/red]"
        out.print(f"{verdict}  entry {result.index} ({result.id})", markup=True)
        out.print(f"  signature valid  {'yes' if result.signature_valid else 'NO'}")
        out.print(f"  chain intact     {'yes' if result.chain_intact else 'NO'}")
        out.print(f"  included         {'yes' if result.included else 'NO'}")
        out.print(f"  {result.detail}")
    if not ok:
        raise typer.Exit(EXIT_NEGATIVE)


def export(
    ctx: typer.Context,
    dest: Path = typer.Option(..., "--out", help="Where to write the bundle (JSON)."),
    agent: str | None = typer.Option(
        None, "--agent", help="Only this author (address or key name)."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Only entries at or after this time (ISO 8601)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="Only entries at or before this time (ISO 8601)."
    ),
    training: bool = typer.Option(
        False, "--training", help="Write decisions and outcomes as JSONL instead (masked)."
    ),
    with_args: bool = typer.Option(
        False, "--with-args", help="With --training: keep the arguments (credentials masked)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Write a self-contained evidence bundle that 'sealog verify FILE' checks offline.

    With --training, write every decision and its outcome as JSONL for training and evaluation.
    """
    st = state(ctx)
    if training:
        _training(st, dest, with_args=with_args)
        return
    with st.ledger() as ledger:
        summary = export_bundle(
            ledger, dest, agent=st.address(agent) if agent else None, since=since, until=until
        )
    if as_json:
        emit_json(summary.to_dict())
        return
    kind = "full" if summary.full else "partial (with inclusion proofs)"
    out.print(
        f"wrote {summary.entries} entries to {summary.path}: {kind}, "
        f"checkpoint size {summary.tree_size}"
    )


def _training(st: State, dest: Path, *, with_args: bool) -> None:
    """Decisions and outcomes as JSONL, written to a temporary name and renamed."""
    partial = dest.with_name(dest.name + ".partial")
    count = 0
    try:
        with st.ledger() as ledger, partial.open("w", encoding="utf-8") as sink:
            for row in training_rows(ledger.entries(), with_args=with_args):
                sink.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
        partial.replace(dest)
    except OSError as exc:
        raise UsageError(f"cannot write {dest}: {exc.strerror or exc}") from exc
    out.print(f"wrote {count} decisions to {dest}")
