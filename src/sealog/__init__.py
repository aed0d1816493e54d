"""sealog: the flight recorder and circuit breaker for AI agents.

Map of the API:

* :class:`Ledger` — the signed, append-only, verifiable log (``sealog.ledger``).
* :class:`SigningKey`, :class:`PublicKey` — Ed25519 identities; an address is derived from a key.
* :func:`content_hash` — ``sha256:<hex>`` of text, bytes, a file or a JSON value.
* :func:`canonicalize` — the one producer of bytes that are hashed or signed.
* :class:`Gate`, :class:`Session` — the live gate: decide before an agent acts, seal every
  decision and action (``sealog.gate``); :class:`SessionKilled`, :class:`PolicyViolation` and
  :class:`ApprovalRequired` are its typed refusals.
* :class:`Client`, :class:`AsyncClient` — the SDK, embedded or remote (``sealog.client``).
* :class:`Error` and its subclasses — the one exception tree (``sealog.errors``).
"""

from __future__ import annotations

from sealog.canonical import canonicalize
from sealog.client import AsyncClient, Client
from sealog.content import content_hash
from sealog.crypto import PublicKey, SigningKey
from sealog.errors import (
    ApprovalRequired,
    CanonicalError,
    EntryRejected,
    Error,
    FormatError,
    InputError,
    NotFound,
    PolicyError,
    PolicyViolation,
    SessionKilled,
    StorageError,
    UnavailableError,
    UsageError,
    VerificationError,
)
from sealog.gate import Gate, GateDecision, Session
from sealog.ledger import Ledger, VerifyReport

__version__ = "0.1.0"

__all__ = [
    "ApprovalRequired",
    "AsyncClient",
    "CanonicalError",
    "Client",
    "EntryRejected",
    "Error",
    "FormatError",
    "Gate",
    "GateDecision",
    "InputError",
    "Ledger",
    "NotFound",
    "PolicyError",
    "PolicyViolation",
    "PublicKey",
    "Session",
    "SessionKilled",
    "SigningKey",
    "StorageError",
    "UnavailableError",
    "UsageError",
    "VerificationError",
    "VerifyReport",
    "__version__",
    "canonicalize",
    "content_hash",
]
