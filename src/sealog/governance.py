"""Governance traces: the seeds' trace record, sealed as an agent-signed ``trace`` entry.

The record — ``reasoning``, ``proposedAction``, ``validationResult``, ``policyVerdicts``,
``signatures``, ``txHash``, ``status`` (``executed`` | ``blocked`` | ``pending_approval``),
``riskScore``, ``blockedBy``, ``durationMs``, ``sessionKeyHash`` — is sealed as a ``trace`` entry
(spec §4.5g) signed by the agent (``agentId`` is its address). ``traceHash`` is the entry's id, so
a trace is verified like any entry.

Reasoning is sealed by hash only (``reasoning_hash``). Kept text — only when the app asks —
lives in a :class:`Blobs` store beside the ledger, outside the tree, keyed by that hash: it can
be erased (a privacy request) and the log still verifies, with the hash proving what was said to
whoever still holds the text.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealog.content import content_hash
from sealog.errors import InputError, NotFound, StorageError, UsageError
from sealog.ledger import SignedEntry

__all__ = ["REASONING_FILE", "Blobs", "TraceBook", "trace_fields", "trace_json"]

REASONING_FILE = "reasoning.db"
"""Where a home keeps the reasoning texts apps ask to keep (outside the tree, erasable)."""

_CAMEL = {
    "proposedAction": "proposed_action",
    "validationResult": "validation_result",
    "policyVerdicts": "policy_verdicts",
    "signatures": "signatures",
    "txHash": "tx_hash",
    "status": "status",
    "riskScore": "risk_score",
    "blockedBy": "blocked_by",
    "durationMs": "duration_ms",
    "sessionKeyHash": "session_key_hash",
    "reasoningHash": "reasoning_hash",
}
_SNAKE = {v: k for k, v in _CAMEL.items()}
_READ_ONLY = frozenset({"traceHash", "agentId", "reasoning"})


def trace_fields(record: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The ``trace`` entry fields of an API record, and its reasoning text (if it has one).

    ``reasoning`` is replaced by ``reasoning_hash``; a ``sessionKeyHash`` that is not already a
    content hash is hashed (the key itself never enters the log).

    Raises:
        InputError: an unknown member (with the known ones named).
    """
    unknown = sorted(set(record) - set(_CAMEL) - _READ_ONLY)
    if unknown:
        raise InputError(
            f"unknown trace member(s) {', '.join(unknown)}; known: {', '.join(sorted(_CAMEL))}, "
            "reasoning"
        )
    fields = {_CAMEL[k]: v for k, v in record.items() if k in _CAMEL and v is not None}
    reasoning = record.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, str):
            raise InputError("reasoning must be text")
        fields["reasoning_hash"] = content_hash(reasoning)
    key = fields.get("session_key_hash")
    if isinstance(key, str) and not key.startswith("sha256:"):
        fields["session_key_hash"] = content_hash(key)
    return fields, reasoning


def trace_json(entry: SignedEntry, index: int, reasoning: str | None) -> dict[str, Any]:
    """A sealed trace as the API answers it (camelCase, ``traceHash`` = the entry id)."""
    f = entry.fields
    out: dict[str, Any] = {"traceHash": entry.id, "agentId": entry.author, "time": entry.time,
                           "index": index}  # fmt: skip
    for snake, camel in _SNAKE.items():
        if snake in f:
            out[camel] = f[snake]
    out.setdefault("reasoningHash", None)
    out["reasoning"] = reasoning
    return out


@dataclass(frozen=True, slots=True)
class _Sealed:
    entry: SignedEntry
    index: int


class TraceBook:
    """Every trace of the log, by id and in log order."""

    def __init__(self) -> None:
        """An empty book."""
        self._traces: dict[str, _Sealed] = {}

    def apply(self, entry: SignedEntry, index: int) -> None:
        """Fold one entry (``trace`` entries; others are ignored)."""
        if entry.kind == "trace":
            self._traces[entry.id] = _Sealed(entry, index)

    def get(self, trace_hash: str) -> tuple[SignedEntry, int]:
        """One trace.

        Raises:
            NotFound: no such trace.
        """
        found = self._traces.get(trace_hash)
        if found is None:
            raise NotFound(f"no trace {trace_hash}")
        return found.entry, found.index

    def newest(
        self, authors: frozenset[str] | None, status: str | None, limit: int
    ) -> Iterator[tuple[SignedEntry, int]]:
        """Traces newest first, of ``authors`` (all when None), in ``status`` if given."""
        given = 0
        for sealed in reversed(self._traces.values()):
            f = sealed.entry.fields
            if authors is not None and sealed.entry.author not in authors:
                continue
            if status is not None and f.get("status") != status:
                continue
            yield sealed.entry, sealed.index
            given += 1
            if given == limit:
                return


class Blobs:
    """Kept reasoning texts by content hash, outside the tree: erasable (``:memory:`` allowed)."""

    def __init__(self, path: Path | str) -> None:
        """Open (or create) the store at ``path``."""
        self.path = path
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, text TEXT NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the reasoning store {path}: {exc}") from exc

    def put(self, digest: str, text: str) -> None:
        """Keep ``text`` under its hash.

        Raises:
            UsageError: ``text`` does not hash to ``digest``.
        """
        if content_hash(text) != digest:
            raise UsageError("the reasoning text does not hash to the sealed reasoning_hash")
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?)", (digest, text))

    def get(self, digest: str | None) -> str | None:
        """The text kept under ``digest``, or None (never kept, or erased)."""
        if digest is None:
            return None
        with self._lock:
            row = self._conn.execute("SELECT text FROM blobs WHERE hash = ?", (digest,)).fetchone()
        return None if row is None else str(row[0])

    def erase(self, digest: str) -> bool:
        """Forget the text kept under ``digest``; whether there was one."""
        with self._lock:
            done = self._conn.execute("DELETE FROM blobs WHERE hash = ?", (digest,))
        return done.rowcount > 0

    def close(self) -> None:
        """Close the store."""
        with self._lock:
            self._conn.close()
