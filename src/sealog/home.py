"""The ledger home: a ``.sealog`` folder holding the embedded ledger, the log key and identities.

Found like git finds ``.git``: ``--home`` first, then ``SEALOG_HOME``, then the nearest
``.sealog`` in the working directory or any parent. Layout::

    .sealog/
      log.key          the log's signing key (signed-note key format; its name is the origin)
      ledger.db        the SQLite ledger (WAL)
      keys/NAME.key    identities made with ``sealog keys new`` (mode 0600)
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sealog.crypto import SigningKey, valid_key_name
from sealog.errors import FormatError, NotFound, UsageError

__all__ = ["HOME_DIR", "Home", "Keystore"]

HOME_DIR = ".sealog"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


def _write_secret(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 from the start; never overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_key_file(path: Path) -> tuple[str, SigningKey]:
    """Load a key file.

    Raises:
        NotFound: there is no such file.
        FormatError: it is not a key file.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise NotFound(f"no key file at {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read key file {path}: {exc}") from exc
    return SigningKey.from_note_skey(text)


@dataclass(frozen=True, slots=True)
class Keystore:
    """Named identities in a folder, one key file each."""

    root: Path

    def path(self, name: str) -> Path:
        """The file of identity ``name``.

        Raises:
            UsageError: the name is not 1–64 letters, digits, '.', '_' or '-'.
        """
        if not _NAME.match(name):
            raise UsageError(
                f"key name {name!r} is not allowed", hint="use letters, digits, '.', '_' or '-'"
            )
        return self.root / f"{name}.key"

    def new(self, name: str) -> SigningKey:
        """Create identity ``name`` with a fresh key.

        Raises:
            UsageError: the name is taken or not allowed.
        """
        path = self.path(name)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = SigningKey.generate()
        try:
            _write_secret(path, key.to_note_skey(name))
        except FileExistsError as exc:
            raise UsageError(f"a key named {name!r} exists already", hint=str(path)) from exc
        return key

    def load(self, name: str) -> SigningKey:
        """Load identity ``name``.

        Raises:
            NotFound: no such identity.
        """
        path = self.path(name)
        if not path.exists():
            raise NotFound(f"no key named {name!r}", hint="create it with 'sealog keys new NAME'")
        return read_key_file(path)[1]

    def names(self) -> list[str]:
        """Every identity's name, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("*.key"))


@dataclass(frozen=True, slots=True)
class Home:
    """A located ``.sealog`` folder."""

    path: Path

    @property
    def ledger_path(self) -> Path:
        """The SQLite ledger file."""
        return self.path / "ledger.db"

    @property
    def log_key_path(self) -> Path:
        """The log's signing key."""
        return self.path / "log.key"

    @property
    def keys(self) -> Keystore:
        """The identities kept here."""
        return Keystore(self.path / "keys")

    def log_key(self) -> tuple[str, SigningKey]:
        """The log's origin and signing key."""
        return read_key_file(self.log_key_path)

    @classmethod
    def init(cls, path: Path, origin: str | None = None) -> Home:
        """Create a home with a fresh log key at ``path`` (the ``.sealog`` folder itself).

        Raises:
            UsageError: a ledger already lives there, or the origin is not a valid key name.
        """
        origin = origin or f"sealog.local/{secrets.token_hex(8)}"
        if not valid_key_name(origin):
            raise UsageError(f"origin {origin!r} must hold no spaces or '+'")
        home = cls(path)
        if home.log_key_path.exists():
            raise UsageError(f"a ledger already lives in {path}", hint="use it, or pick --home")
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_secret(home.log_key_path, SigningKey.generate().to_note_skey(origin))
        return home

    @classmethod
    def find(cls, explicit: Path | str | None = None, start: Path | None = None) -> Home:
        """Locate the home: ``explicit``, then ``SEALOG_HOME``, then walking up from ``start``.

        Raises:
            NotFound: no ledger home anywhere on that path.
        """
        chosen = explicit or os.environ.get("SEALOG_HOME")
        if chosen:
            home = cls(Path(chosen))
            if not home.log_key_path.exists():
                raise NotFound(f"no sealog ledger in {chosen}", hint="run 'sealog init' there")
            return home
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            candidate = cls(folder / HOME_DIR)
            if candidate.log_key_path.exists():
                return candidate
        raise NotFound(
            "no sealog ledger here or in any parent folder",
            hint="run 'sealog init', or pass --home / set SEALOG_HOME",
        )
