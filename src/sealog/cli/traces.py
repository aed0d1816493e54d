"""Runs recorded elsewhere: ``import``, ``inspect`` and ``guard``.

``inspect`` answers to ``describe`` and ``summarize`` too; ``guard`` to ``check`` and to
``sealog policy TRACE POLICY``.

Exit codes: 0 done (guard: pass), 1 guard found violations, 2 bad input — a file that is not a
trace, a wrong ``--format``, a policy with typos — always with a one-line reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO

import typer

from sealog.cli._common import JsonOpt, State, emit_json, out, state
from sealog.crypto import SigningKey
from sealog.errors import NotFound, UsageError
from sealog.ledger import Ledger
from sealog.policy import compile_policy, load_policy
from sealog.traces import FORMATS, open_trace
from sealog.traces.analysis import TIMELINE, analyse
from sealog.traces.events import Event
from sealog.traces.render import (
    event_json,
    github,
    html_report,
    inspect_json,
    inspect_text,
    sarif,
    verdict_text,
)
from sealog.traces.seal import Sealer, event_line

__all__ = ["register"]

EXIT_VIOLATIONS = 1
_FORMAT_HELP = f"The trace's format ({', '.join(FORMATS)}); detected when left out."
FormatOpt = typer.Option(None, "--format", "-f", help=_FORMAT_HELP)
StrictOpt = typer.Option(False, "--strict", help="Make any malformed line fatal (exit 2).")


def register(app: typer.Typer) -> None:
    """Add ``import``, ``inspect`` and ``guard`` (with their aliases) to the app."""
    app.command("import")(import_trace)
    app.command("inspect")(inspect)
    app.command("describe", hidden=True)(inspect)
    app.command("summarize", hidden=True)(inspect)
    app.command("guard")(guard)
    app.command("check", hidden=True)(guard)


def import_trace(
    ctx: typer.Context,
    first: str = typer.Argument(
        ..., metavar="[FORMAT] TRACE", help="The format (optional), then the trace."
    ),
    second: str | None = typer.Argument(None, hidden=True),
    out_path: Path | None = typer.Option(
        None, "--out", "-o", help="Write the normalized run here (default: stdout)."
    ),
    seal: bool = typer.Option(False, "--seal", help="Also seal the run into the ledger."),
    as_name: str = typer.Option("importer", "--as", help="The agent key that signs a seal."),
    owner: str | None = typer.Option(
        None, "--owner", help="Register --as under this owner key if it is new."
    ),
    include_raw: bool = typer.Option(
        False, "--include-raw", help="Keep each event's source record."
    ),
    strict: bool = StrictOpt,
) -> None:
    """Convert a trace to the normalized run (JSON); with --seal, seal it into the ledger."""
    fmt, file = (first, second) if second is not None else (None, first)
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown trace format {fmt!r}; the formats are {', '.join(FORMATS)}")
    trace = open_trace(file, fmt, strict=strict, keep_raw=include_raw)
    ledger: Ledger | None = None
    sealer: Sealer | None = None
    if seal:
        st = state(ctx)
        key = _importer(st, as_name, owner)
        ledger = st.ledger()
        if not _is_agent(ledger, key.address):
            if owner is None:
                ledger.close()
                raise UsageError(
                    f"key {as_name!r} is not a registered agent; pass --owner NAME to register it"
                )
            ledger.register_agent(key, st.key(owner), name=as_name)
        sealer = Sealer(ledger, key, trace.path, trace.format, event_json)
    sink: IO[str] = sys.stdout if out_path is None else _open_out(out_path)
    try:
        sink.write('{"format":"sealog-run/v1","events":[\n')
        count = 0

        def each(event: Event) -> None:
            nonlocal count
            sink.write(("," if count else "") + event_line(event_json(event)).decode() + "\n")
            count += 1
            if sealer is not None:
                sealer.add(event)

        analysis = analyse(trace, each=each)
        summary = inspect_json(analysis)
        tail = {"run": summary["run"], "input": summary["input"]}
        sink.write("]," + json.dumps(tail, ensure_ascii=False)[1:] + "\n")
        sealed = sealer.finish(trace.run, count) if sealer is not None else 0
    finally:
        if sink is not sys.stdout:
            sink.close()
        if ledger is not None:
            ledger.close()
    if out_path is not None or seal:
        where = f" → {out_path}" if out_path is not None else ""
        sealed_text = f", {sealed} entries sealed as {as_name}" if seal else ""
        typer.echo(f"imported {count} events ({trace.format}){where}{sealed_text}", err=True)


def _open_out(path: Path) -> IO[str]:
    try:
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _importer(st: State, name: str, owner: str | None) -> SigningKey:
    home = st.find_home()
    try:
        return home.keys.load(name)
    except NotFound:
        if owner is None:
            raise UsageError(
                f"no key {name!r} to sign the seal; create it with `sealog keys new {name}` or "
                "pass --owner NAME to create and register it"
            ) from None
        return home.keys.new(name)


def _is_agent(ledger: Ledger, address: str) -> bool:
    try:
        return ledger.agent(address).role == "agent"
    except NotFound:
        return False


def inspect(
    trace_file: str = typer.Argument(..., metavar="TRACE", help="The trace (JSONL or JSON)."),
    fmt: str | None = FormatOpt,
    as_json: bool = JsonOpt,
    include_raw: bool = typer.Option(
        False, "--include-raw", help="With --json: add evidence and events (a forensic export)."
    ),
    strict: bool = StrictOpt,
) -> None:
    """What a run did: access, counts, tools, files, cost and risky findings."""
    trace = open_trace(trace_file, fmt, strict=strict, keep_raw=include_raw)
    analysis = analyse(trace, timeline=TIMELINE if include_raw else 0)
    if as_json:
        emit_json(inspect_json(analysis, include_raw=include_raw))
    else:
        inspect_text(analysis, out)


def guard(
    trace_file: str = typer.Argument(..., metavar="TRACE", help="The trace (JSONL or JSON)."),
    policy_file: Path = typer.Argument(..., metavar="POLICY", help="The policy (YAML or JSON)."),
    fmt: str | None = FormatOpt,
    as_json: bool = JsonOpt,
    as_sarif: bool = typer.Option(False, "--sarif", help="Print SARIF 2.1.0."),
    as_github: bool = typer.Option(False, "--github", help="Print GitHub Actions annotations."),
    html_path: Path | None = typer.Option(None, "--html", help="Also write an HTML report here."),
    strict: bool = StrictOpt,
) -> None:
    """Hold a finished run to a policy: exit 0 pass, 1 violations, 2 bad input."""
    policy = compile_policy(load_policy(policy_file))
    trace = open_trace(trace_file, fmt, strict=strict)
    analysis = analyse(trace, policy, timeline=TIMELINE if html_path else 0)
    if html_path is not None:
        try:
            html_path.write_text(html_report(analysis), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {html_path}: {exc.strerror or exc}") from exc
    if as_sarif:
        emit_json(sarif(analysis))
    elif as_github:
        for line in github(analysis):
            typer.echo(line)
    elif as_json:
        emit_json(inspect_json(analysis))
    else:
        verdict_text(analysis, out)
        if html_path is not None:
            out.print(f"  report: {html_path}")
    if not analysis.passed:
        raise typer.Exit(EXIT_VIOLATIONS)
