"""Content hashes: how sealog refers to content it does not store (spec §4.3).

A content hash is ``sha256:`` followed by 64 lowercase hex digits. Text is hashed as its UTF-8
bytes, bytes as they are, a file as its bytes, and a JSON value as its RFC 8785 canonical bytes, so
the same value hashes the same wherever it was serialized.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from sealog.canonical import canonicalize
from sealog.errors import InputError, UsageError

__all__ = ["CONTENT_HASH", "content_hash", "hash_file", "is_content_hash"]

CONTENT_HASH = re.compile(r"^sha256:[0-9a-f]{64}\Z")
_CHUNK = 1 << 20


def is_content_hash(text: object) -> bool:
    """True if ``text`` is a well-formed ``sha256:<hex>`` content hash."""
    return isinstance(text, str) and bool(CONTENT_HASH.match(text))


def hash_file(path: Path) -> str:
    """Hash a file's bytes in chunks, so large files need no memory.

    Raises:
        InputError: the file cannot be read.
    """
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return "sha256:" + digest.hexdigest()


def content_hash(content: str | bytes | Path | Any) -> str:
    """Return the content hash of text, bytes, a file or a JSON value.

    Args:
        content: ``str`` (UTF-8), ``bytes``, a :class:`pathlib.Path` (the file's bytes), or a
            JSON value (dict, list, number, bool, None), hashed as canonical JSON.

    Raises:
        UsageError: the value is none of those.
        InputError: a file cannot be read.
    """
    if isinstance(content, str):
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UsageError(
                "cannot hash text with an unpaired surrogate: not valid Unicode"
            ) from exc
    elif isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
    elif isinstance(content, Path):
        return hash_file(content)
    elif content is None or isinstance(content, dict | list | int | float | bool):
        try:
            data = canonicalize(content, allow_floats=True)
        except InputError as exc:
            raise UsageError(f"cannot hash this JSON value: {exc.message}") from exc
    else:
        raise UsageError(f"cannot hash a {type(content).__name__}: pass str, bytes, Path or JSON")
    return "sha256:" + hashlib.sha256(data).hexdigest()
