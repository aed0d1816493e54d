"""What every command shares: the ledger home, key lookup, output, and exit codes.

Exit codes (every command): 0 success; 1 a negative answer (not verified, not found, refused);
2 bad usage or unreadable input. Errors print as one line on stderr; ``--debug`` adds the
traceback.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from sealog.crypto import SigningKey, is_address
from sealog.errors import (
    EntryRejected,
    Error,
    NotFound,
    PolicyViolation,
    UsageError,
    VerificationError,
)
from sealog.home import Home
from sealog.ledger import Ledger
from sealog.ledger._sequencer import REFUSALS

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_NEGATIVE",
    "JsonOpt",
    "State",
    "emit_json",
    "exit_code_for",
    "fail",
    "out",
    "state",
]

EXIT_NEGATIVE = 1
EXIT_BAD_INPUT = 2
LOG_KEY_NAME = "log"
"""``sealog keys show log`` shows the log's own key; no identity may take this name."""

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")


@dataclass(slots=True)
class State:
    """Global options, carried in the Typer context."""

    home: Path | None = None
    debug: bool = False

    def find_home(self) -> Home:
        """The ledger home these options point at."""
        return Home.find(self.home)

    def ledger(self) -> Ledger:
        """Open the ledger of the home."""
        return Ledger.open(self.find_home().path)

    def key(self, name: str) -> SigningKey:
        """Load identity ``name`` from the home's keystore."""
        if name == LOG_KEY_NAME:
            raise UsageError("the log key signs checkpoints only; use an agent or owner key")
        return self.find_home().keys.load(name)

    def address(self, ref: str) -> str:
        """Resolve an address, or the name of a key in the keystore, to an address."""
        if is_address(ref):
            return ref
        if ref.startswith("sl1"):
            raise UsageError(f"{ref!r} is not a valid address (sl1 followed by 40 hex digits)")
        return self.key(ref).address


def state(ctx: typer.Context) -> State:
    """The global options of this invocation."""
    found = ctx.find_object(State)
    return found if found is not None else State()


def exit_code_for(exc: Error) -> int:
    """1 for a negative answer, 2 for bad usage or unreadable input."""
    if isinstance(exc, NotFound | VerificationError | PolicyViolation):
        return EXIT_NEGATIVE
    if isinstance(exc, EntryRejected) and exc.code in REFUSALS:
        return EXIT_NEGATIVE
    return EXIT_BAD_INPUT


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print an error line and exit."""
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


def emit_json(data: Any) -> None:
    """Write JSON to stdout (never through Rich, so it stays byte-exact)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
