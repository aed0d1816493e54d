"""Webhook signatures: HMAC-SHA256 over a version tag, the timestamp and the exact body.

The scheme follows Slack's own request signing: the signed message is
``b"v1:" + timestamp + b":" + body`` where ``timestamp`` is the decimal Unix time in seconds sent
in ``X-Sealog-Timestamp`` and ``body`` is the request body exactly as received (canonical JSON);
``X-Sealog-Signature`` carries ``v1=<lowercase hex digest>``. Binding the timestamp lets a receiver
refuse replays older than a few minutes; the ``v1`` tag lets the scheme change without ambiguity.
Several comma-separated signatures may be sent (secret rotation); one valid signature suffices.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from sealog.errors import UsageError, VerificationError

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "sign_webhook",
    "verify_webhook",
]

SIGNATURE_HEADER = "X-Sealog-Signature"
"""Header holding ``v1=<hex HMAC-SHA256>``."""
TIMESTAMP_HEADER = "X-Sealog-Timestamp"
"""Header holding the signing time in whole Unix seconds."""

_VERSION = "v1"


def _key(secret: str | bytes) -> bytes:
    """The HMAC key as bytes (a str secret is UTF-8); an empty secret is a usage error."""
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise UsageError("a webhook secret must not be empty")
    return key


def _digest(key: bytes, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``v1:<timestamp>:<body>``."""
    message = f"{_VERSION}:{timestamp}:".encode("ascii") + body
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign_webhook(secret: str | bytes, body: bytes, *, timestamp: int) -> dict[str, str]:
    """The two signature headers for ``body`` sent at ``timestamp`` (Unix seconds).

    Raises:
        UsageError: the secret is empty.
    """
    stamp = str(int(timestamp))
    return {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: f"{_VERSION}={_digest(_key(secret), stamp, body)}",
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value looked up case-insensitively, as HTTP requires."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify_webhook(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | datetime,
    tolerance: int = 300,
) -> None:
    """Check a received webhook: signature valid for this body, timestamp within ``tolerance``.

    Args:
        secret: The shared secret configured for this receiver.
        headers: The request headers (any case).
        body: The raw request body, exactly as received; never a re-serialization.
        now: The receiver's current time (Unix seconds or an aware datetime).
        tolerance: Seconds the timestamp may differ from ``now`` either way (replay window).

    Raises:
        VerificationError: a header is missing or malformed (``webhook-unsigned``), the
            timestamp is outside the window (``webhook-stale``), or no signature matches
            (``webhook-bad-signature``).
        UsageError: the secret is empty.
    """
    key = _key(secret)
    stamp = _header(headers, TIMESTAMP_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if stamp is None or signature is None:
        raise VerificationError(
            "webhook is not signed: missing "
            + (TIMESTAMP_HEADER if stamp is None else SIGNATURE_HEADER),
            code="webhook-unsigned",
            hint="refuse the request",
        )
    stamp = stamp.strip()
    if not stamp.isascii() or not stamp.isdigit():
        raise VerificationError(
            f"webhook timestamp is not whole Unix seconds: {stamp[:32]!r}",
            code="webhook-unsigned",
        )
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - int(stamp)) > tolerance:
        raise VerificationError(
            f"webhook timestamp {stamp} is more than {tolerance}s from now",
            code="webhook-stale",
            hint="check the clocks, or refuse it as a replay",
        )
    expected = _digest(key, stamp, body)
    candidates = [part.strip() for part in signature.split(",")]
    matched = False
    for candidate in candidates:
        version, _, digest = candidate.partition("=")
        if version == _VERSION and hmac.compare_digest(digest.encode(), expected.encode()):
            matched = True
    if not matched:
        raise VerificationError(
            "webhook signature does not match its body and timestamp",
            code="webhook-bad-signature",
            hint="check the secret; the body must be verified as received",
        )
