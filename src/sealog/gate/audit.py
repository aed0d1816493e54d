"""The policy's audit export: each sealed gate entry as one JSON line, for tools that tail a file.

A policy's ``audit: {export: PATH}`` (AgentTrace: ``export: [{file: PATH}]``) makes the gate
append a line per entry it seals — decisions, actions, session events — right after the entry
is durable. The ledger stays the evidence: the file is a convenience copy, so a failure to write
it is logged and never blocks a decision. ``include`` (AgentTrace's ``action_name``,
``policy_decision``, ``cost_incurred``, ``session_state``) keeps only those sections; the entry's
place (``index``, ``entry_id``, ``kind``, ``time``, ``session_id``) is always written.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from sealog.ledger.entry import SignedEntry
from sealog.policy import SessionState
from sealog.policy.model import AuditExport

__all__ = ["SECTIONS", "AuditWriter", "audit_line"]

_LOG = logging.getLogger("sealog.gate.audit")

SECTIONS = ("action_name", "policy_decision", "cost_incurred", "session_state", "event")
"""The sections a line may hold; ``include`` selects among them (all when it is empty)."""


def audit_line(
    entry: SignedEntry, index: int, state: SessionState | None, include: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The JSON line for one sealed gate entry."""
    f = entry.fields
    sections: dict[str, Any] = {}
    if "action" in f:
        sections["action_name"] = f["action"]
    if entry.kind == "decision":
        sections["policy_decision"] = {
            name: f.get(name)
            for name in ("outcome", "blocking_rule", "decision_class", "risk", "policy_version")
        } | {"policy_hash": f.get("policy_hash"), "failed": f.get("failed", [])}
        sections["cost_incurred"] = f.get("estimate")
    elif entry.kind == "action":
        sections["cost_incurred"] = f.get("cost")
    else:
        sections["event"] = {k: v for k, v in f.items() if k not in _COMMON}
    if state is not None:
        sections["session_state"] = {
            "total_cost": str(state.total_cost),
            "actions": state.action_count,
            "violations": dict(state.violations),
            "killed_by": state.killed_by,
        }
    wanted = set(include) if include else set(SECTIONS)
    return {
        "index": index,
        "entry_id": entry.id,
        "kind": entry.kind,
        "time": entry.time,
        "agent": entry.author,
        "session_id": f.get("session_id"),
        **{k: v for k, v in sections.items() if k in wanted},
    }


_COMMON = frozenset({"v", "kind", "author", "seq", "prev", "time", "session_id"})


class AuditWriter:
    """Appends audit lines to the policy's export file (thread-safe; never raises)."""

    def __init__(self, export: AuditExport) -> None:
        """Write to ``export.path`` (relative paths from the working directory)."""
        if export.path is None:
            raise ValueError("an audit export without a path writes nothing")
        self.path = Path(export.path).expanduser()
        self.include = export.include
        self._lock = threading.Lock()

    def write(self, entry: SignedEntry, index: int, state: SessionState | None) -> None:
        """Append the entry's line; a failure is logged, never raised into the decision path."""
        try:
            line = json.dumps(audit_line(entry, index, state, self.include), ensure_ascii=False)
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(line + "\n")
        except (OSError, TypeError, ValueError):
            _LOG.exception("audit line for entry %s could not be written to %s", index, self.path)
