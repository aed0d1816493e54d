"""Sealing an imported run into the ledger, so the forensic record is tamper-evident from then on.

The importer's agent key signs, in order:

1. an ``action`` entry ``trace.import`` naming the file (its SHA-256), the format and the run;
2. one ``action`` entry ``trace.event`` per event: its kind, index, tool, status, time and input
   line in ``metadata``, and in ``content_hash`` the SHA-256 of the event's line as
   :func:`event_line` writes it (the line ``sealog import --out`` writes), so the normalized run
   can be checked against the ledger event by event; content stays with its owner;
3. an ``action`` entry ``trace.imported`` with the number of events, so a truncated seal shows.

Entries are submitted in batches (group commit); each batch is durable before the next.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sealog.crypto import SigningKey
from sealog.ledger import Ledger, SignedEntry
from sealog.traces.events import Event, RunInfo

__all__ = ["BATCH", "Sealer", "event_line", "file_digest"]

BATCH = 1000
"""Entries per submission."""


def event_line(record: dict[str, Any]) -> bytes:
    """The bytes of one normalized event as a line of ``run.json`` (sorted keys, compact)."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode()  # fmt: skip


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of the file's bytes, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


class Sealer:
    """Signs and appends the entries of one imported run as its events pass."""

    def __init__(
        self,
        ledger: Ledger,
        key: SigningKey,
        path: Path,
        fmt: str,
        describe: Callable[[Event], dict[str, Any]],
    ) -> None:
        """Seal the run read from ``path`` (format ``fmt``) as ``key``'s agent.

        ``describe`` gives an event's normalized record (hashed into its entry).

        Raises:
            EntryRejected: the key is not a registered agent (nothing is sealed).
        """
        self.ledger, self.key, self.describe = ledger, key, describe
        digest = file_digest(path)
        self.run_ref = f"import-{digest[7:23]}"
        self.sealed = 0
        self._pending: list[SignedEntry] = []
        self._append("trace.import", {"file": path.name, "file_sha256": digest, "format": fmt})
        self.flush()

    def _append(self, action: str, metadata: dict[str, Any], digest: str | None = None) -> None:
        fields: dict[str, Any] = {"action": action, "run_id": self.run_ref, "metadata": metadata}
        if digest is not None:
            fields["content_hash"] = digest
        self._pending.append(self.ledger.sign_next(self.key, "action", fields))
        if len(self._pending) >= BATCH:
            self.flush()

    def add(self, event: Event) -> None:
        """Seal one event (buffered; durable at the next flush)."""
        line = event_line(self.describe(event))
        meta: dict[str, Any] = {"kind": event.kind, "index": event.index}
        for name in ("tool", "status", "time", "call_id"):
            value = getattr(event, name)
            if value is not None:
                meta[name] = value
        if event.source is not None:
            meta["line"] = event.source.line
        self._append("trace.event", meta, "sha256:" + hashlib.sha256(line).hexdigest())

    def finish(self, run: RunInfo, events: int) -> int:
        """Seal the closing entry and flush; the number of entries sealed."""
        meta: dict[str, Any] = {"events": events, "format": run.format}
        for name in ("run_id", "agent", "tool_version", "started", "ended"):
            value = getattr(run, name)
            if value is not None:
                meta[name] = value
        self._append("trace.imported", meta)
        self.flush()
        return self.sealed

    def flush(self) -> None:
        """Submit the buffered entries (one durable group)."""
        if self._pending:
            self.ledger.submit(self._pending)
            self.sealed += len(self._pending)
            self._pending = []
