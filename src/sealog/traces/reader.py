"""Reading a trace file as a stream of parsed JSON records, whatever its layout.

Three layouts are read, and told apart by their first bytes:

* **JSONL** — one JSON value per line. Each line is parsed on its own, so a malformed line is
  reported (:class:`Malformed`, with its line number) and the rest is still read.
* **A JSON array** — streamed element by element (``ijson``), so a file of a million events is
  never held whole. Each element's :attr:`Record.line` is its 1-based position in the array.
* **A JSON object document** (pretty-printed; an OTLP export, ``{"data": [...]}``) — one record,
  the whole object; or, when it is large, each element of its first top-level array under one of
  :data:`STREAMED_KEYS` streamed.

Input that is not a trace at all — a directory, an empty file, binary data, text that is no
JSON — is refused with an :class:`~sealog.errors.InputError` naming the file and the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]

from sealog.errors import InputError
from sealog.traces.adapters._base import Record

__all__ = ["MAX_LINE", "STREAMED_KEYS", "Malformed", "peek", "records"]

MAX_LINE = 64 << 20
"""Longest JSONL line read (64 MiB); a longer one is reported malformed and skipped."""
_WHOLE = 64 << 20
"""JSON object documents up to this size are parsed whole; larger ones are streamed."""
_SNIFF = 8192
STREAMED_KEYS = ("events", "data", "steps", "spans", "messages", "resourceSpans")
"""Keys under which a large JSON document's records are streamed, the first found used."""


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line that is not JSON: where, and why."""

    line: int
    message: str


def _check_file(path: Path) -> bytes:
    """The first bytes of ``path``, after refusing what cannot be a trace."""
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a trace file (JSONL or JSON)")
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if not head.strip():
        raise InputError(f"{path} is empty: there is no run in it")
    if b"\x00" in head:
        raise InputError(f"{path} is binary data, not a JSON or JSONL trace")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the sniff's end
            raise InputError(f"{path} is not UTF-8 text (byte {exc.start}); not a trace") from exc
    return head


def _layout(path: Path, head: bytes) -> str:
    """``jsonl``, ``array`` or ``object``."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        return "array"
    if not text.startswith(b"{"):
        raise InputError(f"{path} does not start with JSON (a '{{' or '[')")
    with path.open("rb") as f:
        first = f.readline(MAX_LINE)
        while first.strip() in {b"", b"\xef\xbb\xbf"}:
            first = f.readline(MAX_LINE)
    try:
        json.loads(first)
    except ValueError:
        return "object"  # a pretty-printed document: its first line is not a whole value
    return "jsonl"


def records(path: Path) -> Iterator[Record | Malformed]:
    """Each record of the trace at ``path``, in order (malformed JSONL lines reported inline).

    Raises:
        InputError: the file cannot be a trace (directory, empty, binary, not JSON), or a JSON
            document is malformed (its position named: a document cannot be read past that).
    """
    head = _check_file(path)
    layout = _layout(path, head)
    if layout == "jsonl":
        yield from _jsonl(path)
        return
    with path.open("rb") as f:
        try:
            if layout == "array":
                for position, item in enumerate(ijson.items(f, "item", use_float=True), 1):
                    yield Record(position, item)
            elif path.stat().st_size <= _WHOLE:
                yield Record(1, json.load(f))
            else:
                prefix = f"{_array_key(path)}.item"
                for position, item in enumerate(ijson.items(f, prefix, use_float=True), 1):
                    yield Record(position, item)
        except (ijson.JSONError, ValueError) as exc:
            raise InputError(f"{path} is not valid JSON: {exc}") from exc


def _array_key(path: Path) -> str:
    """The top-level key of a large document whose array holds the records.

    Raises:
        InputError: no top-level array under one of :data:`STREAMED_KEYS`.
    """
    with path.open("rb") as f:
        for prefix, event, _ in ijson.parse(f):
            if prefix in STREAMED_KEYS and event == "start_array":
                return str(prefix)
    raise InputError(
        f"{path} is a JSON document over {_WHOLE >> 20} MiB with no top-level array under "
        f"{', '.join(STREAMED_KEYS)}; give it as JSONL"
    )


def _jsonl(path: Path) -> Iterator[Record | Malformed]:
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            if len(line) > MAX_LINE:
                yield Malformed(number, f"line of {len(line)} bytes is longer than {MAX_LINE}")
                continue
            try:
                value: Any = json.loads(line)
            except UnicodeDecodeError:
                yield Malformed(number, "not UTF-8 text")
                continue
            except ValueError as exc:
                yield Malformed(number, f"not JSON: {exc}")
                continue
            yield Record(number, value)


def peek(path: Path, count: int = 5) -> list[Any]:
    """The first ``count`` well-formed records' values (for format detection)."""
    out: list[Any] = []
    for item in records(path):
        if isinstance(item, Record):
            out.append(item.value)
            if len(out) == count:
                break
    return out
