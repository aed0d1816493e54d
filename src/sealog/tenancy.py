"""Apps (tenants) and their API keys: who may read which private data on a sealog server.

Entries are author-signed and verification is public; what is private is *reading* a tenant's
log (listings, sessions, agents' logs) and managing it. An **app** is a tenant; **owners** are
bound to one app each (``app_owners``), and an owner's agents belong to its app. An **API key**
(``slk_<id>_<secret>``, the secret 32 random bytes in URL-safe base64) belongs to one app; only
the SHA-256 of the secret is stored, compared in constant time; revoking a key takes effect on
the next request (nothing is cached).

The store is its own SQLite file in the home, ``.sealog/tenants.db`` (mode 0600, WAL), created
on first use; it never touches the ledger. Tables::

    apps        (id, name UNIQUE, created)
    api_keys    (id, app_id, secret_sha256, prefix, created, revoked_at, last_used)
    app_owners  (owner_address PRIMARY KEY, app_id, added)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sealog.crypto import is_address
from sealog.errors import NotFound, StorageError, UsageError, VerificationError
from sealog.home import Home

__all__ = ["KEY_PREFIX", "TENANTS_FILE", "ApiKey", "App", "Tenants"]

KEY_PREFIX = "slk_"
TENANTS_FILE = "tenants.db"
_ID = re.compile(r"^[0-9a-f]{16}\Z")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_TOKEN = re.compile(r"^slk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})\Z")
_TOUCH = timedelta(seconds=60)
"""``last_used`` is written at most this often per key (a read must not always write)."""
_DUMMY = hashlib.sha256(b"no such key").hexdigest()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id),
  secret_sha256 TEXT NOT NULL, prefix TEXT NOT NULL, created TEXT NOT NULL,
  revoked_at TEXT, last_used TEXT);
CREATE INDEX IF NOT EXISTS api_keys_app ON api_keys (app_id);
CREATE TABLE IF NOT EXISTS app_owners (
  owner_address TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id), added TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS app_owners_app ON app_owners (app_id);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class App:
    """A tenant: the owners bound to it, their agents, and the API keys that read them."""

    id: str
    name: str
    created: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"id": self.id, "name": self.name, "created": self.created}


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: never its secret, only a display prefix."""

    id: str
    app_id: str
    prefix: str
    """``slk_<id>_`` and the secret's first 4 characters: enough to recognise, not to use."""
    created: str
    revoked_at: str | None
    last_used: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "app_id": self.app_id,
            "prefix": self.prefix,
            "created": self.created,
            "revoked_at": self.revoked_at,
            "last_used": self.last_used,
        }


_KEY_COLS = "id, app_id, prefix, created, revoked_at, last_used"


class Tenants:
    """The apps-and-keys store of a home (thread-safe; opened on first use).

    Args:
        path: the SQLite file (``:memory:`` for a throwaway store).
    """

    def __init__(self, path: Path | str) -> None:
        """Use the store at ``path``; nothing is read or created until the first call."""
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    @classmethod
    def of_home(cls, home: Home) -> Tenants:
        """The store of a ledger home (``.sealog/tenants.db``)."""
        return cls(home.path / TENANTS_FILE)

    def close(self) -> None:
        """Release the database (a later call opens it again)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        """Use as a context manager that closes the store."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close on exit."""
        self.close()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            target = str(self.path)
            try:
                if target != ":memory:" and not Path(target).exists():
                    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA busy_timeout=10000")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.executescript(_SCHEMA)
            except FileExistsError:  # created by another process meanwhile
                return self._db()
            except (OSError, sqlite3.Error) as exc:
                raise StorageError(f"cannot open the tenants store {target}: {exc}") from exc
            self._conn = conn
        return self._conn

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"the tenants store failed: {exc}") from exc

    # -- apps ---------------------------------------------------------------------------------

    def create(self, name: str) -> tuple[App, str]:
        """Create app ``name`` with its first API key; the key's full text (shown once).

        Raises:
            UsageError: the name is taken or not allowed.
        """
        if not _NAME.match(name) or _ID.match(name):
            raise UsageError(
                f"app name {name!r} is not allowed",
                hint="1-64 letters, digits, '.', '_' or '-', and not 16 hex digits (an id)",
            )
        app = App(secrets.token_hex(8), name, _now())
        with self._lock:
            try:
                self._db().execute(
                    "INSERT INTO apps (id, name, created) VALUES (?, ?, ?)",
                    (app.id, app.name, app.created),
                )
            except sqlite3.IntegrityError as exc:
                raise UsageError(f"an app named {name!r} exists already") from exc
            except sqlite3.Error as exc:
                raise StorageError(f"the tenants store failed: {exc}") from exc
            _, token = self.new_key(app.id)
        return app, token

    def apps(self) -> list[App]:
        """Every app, by name."""
        return [App(*row) for row in self._run("SELECT id, name, created FROM apps ORDER BY name")]

    def app(self, ref: str) -> App:
        """An app by id or name.

        Raises:
            NotFound: no such app.
        """
        rows = self._run(
            "SELECT id, name, created FROM apps WHERE id = ? OR name = ? ORDER BY id = ? DESC",
            (ref, ref, ref),
        )
        if not rows:
            raise NotFound(f"no app {ref!r}", hint="list them with 'sealog apps list'")
        return App(*rows[0])

    # -- keys ---------------------------------------------------------------------------------

    def new_key(self, app_ref: str) -> tuple[ApiKey, str]:
        """A fresh API key for an app; the key and its full text (shown once, stored hashed).

        Raises:
            NotFound: no such app.
        """
        app = self.app(app_ref)
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        key = ApiKey(key_id, app.id, f"{KEY_PREFIX}{key_id}_{secret[:4]}", _now(), None, None)
        self._run(
            "INSERT INTO api_keys (id, app_id, secret_sha256, prefix, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (key.id, key.app_id, _digest(secret), key.prefix, key.created),
        )
        return key, f"{KEY_PREFIX}{key_id}_{secret}"

    def keys(self, app_ref: str) -> list[ApiKey]:
        """An app's keys, revoked ones included, oldest first.

        Raises:
            NotFound: no such app.
        """
        app = self.app(app_ref)
        rows = self._run(
            f"SELECT {_KEY_COLS} FROM api_keys WHERE app_id = ? ORDER BY rowid", (app.id,)
        )
        return [ApiKey(*row) for row in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key at once (revoking it again changes nothing).

        Raises:
            NotFound: no such key.
        """
        self._run(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (_now(), key_id),
        )
        rows = self._run(f"SELECT {_KEY_COLS} FROM api_keys WHERE id = ?", (key_id,))
        if not rows:
            raise NotFound(f"no API key {key_id!r}")
        return ApiKey(*rows[0])

    def authenticate(self, token: str) -> tuple[App, ApiKey]:
        """The app an API key belongs to, if the key is well-formed, known and not revoked.

        Raises:
            VerificationError: code ``unauthorized``; the message never says which check failed.
        """
        match = _TOKEN.match(token)
        key_id, secret = match.groups() if match else ("", "")
        rows = self._run(f"SELECT {_KEY_COLS}, secret_sha256 FROM api_keys WHERE id = ?", (key_id,))
        stored = rows[0][-1] if rows else _DUMMY
        good = hmac.compare_digest(stored, _digest(secret))
        if not (match and rows and good) or rows[0][4] is not None:
            raise VerificationError("unknown or revoked API key", code="unauthorized")
        key = ApiKey(*rows[0][:-1])
        now = datetime.now(UTC)
        if key.last_used is None or datetime.fromisoformat(key.last_used) < now - _TOUCH:
            self._run("UPDATE api_keys SET last_used = ? WHERE id = ?", (_now(), key.id))
        return self.app(key.app_id), key

    # -- owners -------------------------------------------------------------------------------

    def owners(self, app_ref: str) -> list[str]:
        """The owner addresses bound to an app, sorted.

        Raises:
            NotFound: no such app.
        """
        app = self.app(app_ref)
        rows = self._run(
            "SELECT owner_address FROM app_owners WHERE app_id = ? ORDER BY owner_address",
            (app.id,),
        )
        return [str(row[0]) for row in rows]

    def app_of(self, owner: str) -> App | None:
        """The app an owner is bound to, if any."""
        rows = self._run(
            "SELECT a.id, a.name, a.created FROM app_owners o JOIN apps a ON a.id = o.app_id "
            "WHERE o.owner_address = ?",
            (owner,),
        )
        return App(*rows[0]) if rows else None

    def bind(self, app_ref: str, owner: str) -> App:
        """Bind an owner (and so its agents) to an app; binding it again changes nothing.

        The claim is atomic: of two concurrent binds of one owner to two apps, one wins.

        Raises:
            NotFound: no such app.
            UsageError: ``owner`` is not an address, or is bound to another app (code
                ``wrong-tenant``).
        """
        if not is_address(owner):
            raise UsageError(f"{owner!r} is not an owner address (sl1 + 40 hex digits)")
        app = self.app(app_ref)
        self._run(
            "INSERT OR IGNORE INTO app_owners (owner_address, app_id, added) VALUES (?, ?, ?)",
            (owner, app.id, _now()),
        )
        bound = self.app_of(owner)
        if bound is None or bound.id != app.id:
            other = "another app" if bound is None else f"app {bound.name!r}"
            raise UsageError(f"owner {owner} belongs to {other}", code="wrong-tenant")
        return app
