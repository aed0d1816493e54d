"""sealog: the flight recorder and circuit breaker for AI agents.

Map of the API:

* :class:`Ledger` — the signed, append-only, verifiable log (``sealog.ledger``).
* :class:`SigningKey`, :class:`PublicKey` — Ed25519 identities; an address is derived from a key.
* :func:`content_hash` — ``sha256:<hex>`` of text, bytes, a file or a JSON value.
* :func:`canonicalize` — the one producer of bytes that are hashed or signed.
* :class:`Error` and its subclasses — the one exception tree (``sealog.errors``).
"""

from __future__ import annotations

from sealog.canonical import canonicalize
from sealog.content import content_hash
from sealog.crypto import PublicKey, SigningKey
from sealog.errors import (
    CanonicalError,
    EntryRejected,
    Error,
    FormatError,
    InputError,
    NotFound,
    PolicyError,
    StorageError,
    UsageError,
    VerificationError,
)
from sealog.ledger import Ledger, VerifyReport

__version__ = "0.1.0"

__all__ = [
    "CanonicalError",
    "EntryRejected",
    "Error",
    "FormatError",
    "InputError",
    "Ledger",
    "NotFound",
    "PolicyError",
    "PublicKey",
    "SigningKey",
    "StorageError",
    "UsageError",
    "VerificationError",
    "VerifyReport",
    "__version__",
    "canonicalize",
    "content_hash",
]
