"""Signed HTTP requests: who sent a write, when, once (spec §12).

Every write to a sealog server carries four headers::

    Sealog-Author     the signer's address (sl1…)
    Sealog-Timestamp  Unix seconds when it was signed
    Sealog-Nonce      32 lowercase hex digits, fresh per request
    Sealog-Signature  base64 Ed25519 signature

over the message ``"sealog/request/v1\\n" ‖ METHOD "\\n" ‖ path-and-query "\\n" ‖ timestamp
"\\n" ‖ nonce "\\n" ‖ hex(SHA-256(body))``. The server refuses a request whose signature does not
verify under the author's registered key, whose timestamp is more than :data:`MAX_SKEW` seconds
away from its clock (stale), or whose (author, nonce) it has seen within that window (replayed).
Entries inside the body carry their own signatures; the request signature binds them to one
sender, one moment and one delivery. Client and server use these functions only.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sealog._encoding import b64decode_strict
from sealog.crypto import PublicKey, SigningKey, is_address
from sealog.errors import FormatError, VerificationError

__all__ = [
    "AUTHOR",
    "MAX_SKEW",
    "NONCE",
    "SIGNATURE",
    "TIMESTAMP",
    "NonceCache",
    "SignedHeaders",
    "request_message",
    "sign_request",
    "verify_request",
]

AUTHOR: Final = "Sealog-Author"
TIMESTAMP: Final = "Sealog-Timestamp"
NONCE: Final = "Sealog-Nonce"
SIGNATURE: Final = "Sealog-Signature"
MAX_SKEW: Final = 300
"""Seconds a request's timestamp may differ from the server's clock."""
PREFIX: Final = b"sealog/request/v1\n"
_NONCE = re.compile(r"^[0-9a-f]{32}\Z")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}\Z")


def request_message(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The exact bytes a request signature covers."""
    digest = hashlib.sha256(body).hexdigest()
    return PREFIX + f"{method.upper()}\n{target}\n{timestamp}\n{nonce}\n{digest}".encode()


def sign_request(
    key: SigningKey, method: str, target: str, body: bytes, *, now: float | None = None
) -> dict[str, str]:
    """The four headers that sign a request to ``target`` (its path and query) as ``key``."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = secrets.token_hex(16)
    signature = key.sign(request_message(method, target, timestamp, nonce, body))
    return {
        AUTHOR: key.address,
        TIMESTAMP: timestamp,
        NONCE: nonce,
        SIGNATURE: base64.b64encode(signature).decode("ascii"),
    }


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    """The request-signature headers, parsed and shape-checked."""

    author: str
    timestamp: int
    nonce: str
    signature: bytes
    raw_timestamp: str

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> SignedHeaders:
        """Read the headers (case-insensitively, as HTTP has them).

        Raises:
            FormatError: a header is missing or malformed (the message names it).
        """
        lower = {k.lower(): v for k, v in headers.items()}
        values = {}
        for name in (AUTHOR, TIMESTAMP, NONCE, SIGNATURE):
            value = lower.get(name.lower())
            if value is None:
                raise FormatError(f"a signed request needs the {name} header")
            values[name] = value
        if not is_address(values[AUTHOR]):
            raise FormatError(f"{AUTHOR} must be a sealog address (sl1 + 40 hex digits)")
        if not _TIMESTAMP.match(values[TIMESTAMP]):
            raise FormatError(f"{TIMESTAMP} must be Unix seconds")
        if not _NONCE.match(values[NONCE]):
            raise FormatError(f"{NONCE} must be 32 lowercase hex digits")
        signature = b64decode_strict(values[SIGNATURE], SIGNATURE)
        if len(signature) != 64:  # noqa: PLR2004 - Ed25519
            raise FormatError(f"{SIGNATURE} must be base64 of 64 bytes")
        return cls(values[AUTHOR], int(values[TIMESTAMP]), values[NONCE], signature,
                   values[TIMESTAMP])  # fmt: skip


class NonceCache:
    """(author, nonce) pairs seen within the skew window: a replayed request is refused."""

    def __init__(self, window: int = MAX_SKEW, limit: int = 1_000_000) -> None:
        """Remember nonces for ``window`` seconds, at most ``limit`` of them."""
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._window, self._limit = window, limit
        self._lock = threading.Lock()

    def claim(self, author: str, nonce: str, now: float) -> bool:
        """Record the pair; False if it was seen within the window (a replay)."""
        with self._lock:
            while self._seen and (
                len(self._seen) >= self._limit
                or next(iter(self._seen.values())) < now - 2 * self._window
            ):
                self._seen.popitem(last=False)
            if (author, nonce) in self._seen:
                return False
            self._seen[author, nonce] = now
            return True


def verify_request(
    headers: SignedHeaders,
    key: PublicKey,
    request: tuple[str, str, bytes],
    nonces: NonceCache,
    *,
    now: float | None = None,
) -> None:
    """Check a request's signature, freshness and novelty; ``request`` is (method, target, body).

    Raises:
        VerificationError: the signature does not verify (code ``bad-request-signature``),
            the timestamp is too far from now (``stale-request``), or the nonce was used
            (``replayed-request``).
    """
    clock = time.time() if now is None else now
    method, target, body = request
    message = request_message(method, target, headers.raw_timestamp, headers.nonce, body)
    if key.address != headers.author or not key.verify(message, headers.signature):
        raise VerificationError(
            "the request signature does not verify for its author, method, path and body",
            code="bad-request-signature",
        )
    if abs(clock - headers.timestamp) > MAX_SKEW:
        raise VerificationError(
            f"the request was signed {int(clock - headers.timestamp)} s from now; "
            f"at most {MAX_SKEW} s are accepted",
            code="stale-request",
        )
    if not nonces.claim(headers.author, headers.nonce, clock):
        raise VerificationError("this request was delivered before", code="replayed-request")
