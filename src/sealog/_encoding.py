"""Strict decoders for the text encodings in sealog's formats (spec §1).

Each encoded value has exactly one accepted spelling: standard base64 with padding and zero pad
bits, and lowercase hex. A decoder that tolerated other spellings would let two different
strings stand for the same bytes, which is how signature and proof checks get confused.
"""

from __future__ import annotations

import base64
import binascii
import re

from sealog.errors import FormatError

__all__ = ["b64decode_strict", "hex_strict"]

_HEX = re.compile(r"[0-9a-f]*\Z")


def b64decode_strict(text: object, what: str) -> bytes:
    """Decode standard base64 that is in its one canonical spelling.

    Raises:
        FormatError: not a string, not base64, or not the canonical spelling of its bytes.
    """
    if not isinstance(text, str):
        raise FormatError(f"{what} must be base64 text")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise FormatError(f"{what} is not canonical base64 (padding or pad bits)")
    return raw


def hex_strict(text: object, what: str, length: int | None = None) -> bytes:
    """Decode lowercase hex, optionally of exactly ``length`` bytes.

    Raises:
        FormatError: not a string of lowercase hex digits of the right length.
    """
    if not isinstance(text, str) or len(text) % 2 or not _HEX.match(text):
        raise FormatError(f"{what} must be lowercase hex")
    raw = bytes.fromhex(text)
    if length is not None and len(raw) != length:
        raise FormatError(f"{what} must be {length} bytes, got {len(raw)}")
    return raw
