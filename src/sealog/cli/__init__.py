"""The ``sealog`` command: thin commands over the same Ledger the SDK uses.

Each command group lives in its own module; this one builds the app and owns the one error
boundary: a :class:`sealog.Error` becomes one line on stderr and an exit code (see
:mod:`sealog.cli._common`); anything else is a bug, reported as such, with the traceback only
under ``--debug``.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import typer

from sealog import __version__
from sealog.cli import (
    agents,
    approvals,
    apps,
    demo,
    entries,
    gate,
    governance,
    keys,
    policy,
    provenance,
    receipts,
    reports,
    serve,
    traces,
    transparency,
    verify,
)
from sealog.cli._common import EXIT_BAD_INPUT, State, err, exit_code_for
from sealog.errors import Error

__all__ = ["app", "main"]

app = typer.Typer(
    name="sealog",
    help="The flight recorder and circuit breaker for AI agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sealog {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None, "--home", envvar="SEALOG_HOME", help="Ledger home (default: nearest .sealog)."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """The flight recorder and circuit breaker for AI agents."""
    del version
    ctx.obj = State(home=home, debug=debug)


keys.register(app)
agents.register(app)
apps.register(app)
entries.register(app)
transparency.register(app)
verify.register(app)
policy.register(app)
gate.register(app)
traces.register(app)
reports.register(app)
provenance.register(app)
approvals.register(app)
governance.register(app)
receipts.register(app)
demo.register(app)
serve.register(app)


_POLICY_COMMANDS = frozenset({"check", "explain", "set", "show", "history", "--help", "-h"})


def _aliased(args: list[str]) -> list[str]:
    """``sealog policy TRACE POLICY`` is ``guard``'s alias; ``policy CMD`` stays the group."""
    if len(args) >= 3 and args[0] == "policy" and args[1] not in _POLICY_COMMANDS:  # noqa: PLR2004
        return ["guard", *args[1:]]
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 negative answer, 2 bad usage or input)."""
    args = _aliased(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=args, prog_name="sealog")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Error as exc:
        if debug:
            traceback.print_exc()
        err.print(f"[red]error:[/red] {exc.diagnostics()}", markup=True, highlight=False)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - the boundary that turns bugs into one line
        if debug:
            traceback.print_exc()
        err.print(
            f"[red]internal error:[/red] {type(exc).__name__}: {exc} "
            "(a bug in sealog; rerun with --debug and report it)",
            markup=True,
            highlight=False,
        )
        return EXIT_BAD_INPUT
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
