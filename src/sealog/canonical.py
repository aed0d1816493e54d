"""Canonical JSON: the only place in sealog that turns values into bytes to hash or sign.

sealog hashes and signs RFC 8785 (JCS) canonical JSON. Entries use a strict *profile* of it
(spec §2): no floats, integers within the I-JSON safe range, valid Unicode, bounded depth.
Fractional quantities travel as decimal strings. Within that profile, ``json.dumps`` with sorted
keys and no whitespace produces exactly the JCS bytes, except when object keys hold characters
outside the Basic Multilingual Plane (JCS sorts keys by UTF-16 code units, Python by code point);
those values, and values with floats (allowed only for hashing a user's arbitrary JSON content),
go through the ``rfc8785`` reference implementation. Both paths are pinned by the RFC's vectors.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import rfc8785

from sealog.errors import CanonicalError

__all__ = ["MAX_SAFE_INTEGER", "canonicalize", "encode_arguments", "parse_canonical"]

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer magnitude allowed in canonical values (I-JSON, RFC 7493 §2.2)."""

_FOUR_BYTE = re.compile(rb"[\xf0-\xf4]")
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def canonicalize(value: Any, *, allow_floats: bool = False) -> bytes:
    """Return the canonical bytes of a JSON value.

    Args:
        value: dicts with str keys, lists, str, int, bool and None (and float when allowed).
        allow_floats: accept floats, serialized per RFC 8785 §3.2.2.3. Entries never allow
            them; content hashing of a user's own JSON does.

    Raises:
        CanonicalError: the value is outside the profile (a float, a huge integer, a
            non-string key, an unpaired surrogate, an unsupported type, absurdly deep nesting).
    """
    try:
        needs_reference = _check(value, allow_floats=allow_floats)
    except RecursionError as exc:
        raise CanonicalError("JSON nested too deeply") from exc
    try:
        if needs_reference:
            return bytes(rfc8785.dumps(value))
        return _DUMPS(value).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("string is not valid Unicode (unpaired surrogate)") from exc
    except (rfc8785.CanonicalizationError, ValueError) as exc:
        raise CanonicalError(f"value cannot be canonicalized: {exc}") from exc


def encode_arguments(args: Any) -> tuple[str, str]:
    """A tool call's arguments as JSON text that parses back to exactly them, and its basis.

    ``canonical``: RFC 8785 with floats allowed (ES6 shortest round-trip numbers), the form the
    ``args_digest`` of a decision is taken over. ``raw``: sorted keys, no whitespace, used where
    RFC 8785 cannot express the value (an integer beyond ±(2^53−1)) or would change a number's
    type or sign (``1.0`` is written ``1``, ``-0.0`` is written ``0``). Either text parses back
    type for type, every float bit for bit (spec §4.5b).

    Raises:
        CanonicalError: the arguments are not JSON (a non-string key, NaN, a lone surrogate, an
            object of another type).
    """
    try:
        text = canonicalize(args, allow_floats=True).decode("utf-8")
    except CanonicalError as exc:
        reason = exc.message
    else:
        if _exact(json.loads(text), args):
            return text, "canonical"
        reason = "a number would not read back as written"
    try:
        text = _RAW(args)
        text.encode("utf-8")
        exact = _exact(json.loads(text), args)
    except (TypeError, ValueError, RecursionError) as exc:
        raise CanonicalError(f"arguments are not JSON: {reason}") from exc
    if not exact:
        raise CanonicalError(f"arguments are not JSON: {reason}")
    return text, "raw"


_RAW = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
).encode


def _exact(parsed: object, given: object) -> bool:
    """Whether parsed JSON is the given value: ints stay ints, floats bit for bit, no tuples."""
    if isinstance(parsed, float) or isinstance(given, float):
        return (
            isinstance(parsed, float) and isinstance(given, float) and parsed.hex() == given.hex()
        )
    if isinstance(parsed, dict) and isinstance(given, dict):
        return parsed.keys() == given.keys() and all(_exact(parsed[k], given[k]) for k in parsed)
    if isinstance(parsed, list) and isinstance(given, list):
        return len(parsed) == len(given) and all(map(_exact, parsed, given))
    return isinstance(parsed, bool) == isinstance(given, bool) and parsed == given


def parse_canonical(data: bytes) -> Any:
    """Parse bytes that must already be canonical; return the value.

    The bytes are decoded as strict UTF-8, parsed with floats and out-of-range integers
    refused, and compared with the canonical form of what was parsed, so duplicate keys,
    whitespace, escapes that JCS would not write, and key order are all caught. Where the bytes
    hold no 4-byte UTF-8 sequence (no key can then sort differently in UTF-16), the comparison
    uses the fast encoder directly.

    Raises:
        CanonicalError: the bytes are not valid JSON, or not in canonical form.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        raise CanonicalError("not valid JSON: starts with a UTF-8 byte-order mark")
    try:
        text = data.decode("utf-8")
        value = _DECODER.decode(text)
    except UnicodeDecodeError as exc:
        raise CanonicalError(f"not valid UTF-8 at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise CanonicalError(f"not valid JSON: {exc.msg} at byte {exc.pos}") from exc
    except RecursionError as exc:
        raise CanonicalError("JSON nested too deeply") from exc
    if not data.isascii() and _FOUR_BYTE.search(data):
        again = canonicalize(value)
    else:
        try:
            again = _DUMPS(value).encode("utf-8")
        except UnicodeEncodeError as exc:  # pragma: no cover - strict UTF-8 input has none
            raise CanonicalError("string is not valid Unicode") from exc
    if again != data:
        raise CanonicalError("bytes are valid JSON but not in canonical (RFC 8785) form")
    return value


def _refuse_float(token: str) -> Any:
    raise CanonicalError(f"non-integer number {token!r}: fractional values must be strings")


def _safe_int(token: str) -> int:
    value = int(token)
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return value
    raise CanonicalError(f"integer {token} is outside ±(2^53-1): write it as a string")


_DECODER = json.JSONDecoder(
    parse_float=_refuse_float, parse_constant=_refuse_float, parse_int=_safe_int
)


def _check(value: Any, *, allow_floats: bool) -> bool:
    """Validate ``value`` against the profile; return True if the reference encoder is needed."""
    if value is None or value is True or value is False or type(value) is str:
        return False
    if type(value) is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return False
        raise CanonicalError(f"integer {value} is outside ±(2^53-1): write it as a string")
    if type(value) is float:
        if not allow_floats:
            raise CanonicalError(f"float {value!r} is not allowed: write fractions as strings")
        if not math.isfinite(value):
            raise CanonicalError(f"{value!r} has no JSON form")
        return True
    reference = False
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise CanonicalError(f"object key {key!r} is not a string")
            if not key.isascii() and max(map(ord, key)) > 0xFFFF:  # noqa: PLR2004 - BMP bound
                reference = True
            reference = _check(item, allow_floats=allow_floats) or reference
        return reference
    if type(value) is list:
        for item in value:
            reference = _check(item, allow_floats=allow_floats) or reference
        return reference
    raise CanonicalError(f"type {type(value).__name__} has no canonical JSON form")
