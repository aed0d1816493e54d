"""What a verification found: the report and its gaps (spec §8.3).

Two separate verdicts (DESIGN §3): **intact**, nothing altered (no gap of an integrity kind),
and **complete**, nothing missing (no ``missing`` or ``truncated-tail`` gap). Each gap names
its kind and, as precisely as the evidence allows, the index, author, sequence number or tree
size where it was found.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["GAP_KINDS", "INTEGRITY_KINDS", "Gap", "VerifyReport"]

GAP_KINDS = (
    "altered",
    "missing",
    "reordered",
    "duplicated",
    "broken-link",
    "unknown-key",
    "root-mismatch",
    "forked-checkpoint",
    "bad-checkpoint",
    "bad-registration",
    "bad-policy",
    "truncated-tail",
    "beyond-checkpoint",
)
"""Every kind of gap a verification can report (spec §8.3)."""

_COMPLETENESS = frozenset({"missing", "truncated-tail"})
"""Gaps that make a log incomplete; every other kind means something was altered."""
INTEGRITY_KINDS = frozenset(GAP_KINDS) - _COMPLETENESS


@dataclass(frozen=True, slots=True)
class Gap:
    """One problem found, located as precisely as the evidence allows."""

    kind: str
    detail: str
    index: int | None = None
    author: str | None = None
    seq: int | None = None
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form without empty locators."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(slots=True)
class VerifyReport:
    """The answer of a verification."""

    scope: str
    total_entries: int = 0
    tree_size: int | None = None
    authors: int = 0
    signatures_checked: int = 0
    checkpoints_checked: int = 0
    consistent_with_saved: bool | None = None
    gaps: list[Gap] = field(default_factory=list)

    @property
    def chain_intact(self) -> bool:
        """Nothing altered, reordered, duplicated or forked."""
        return not any(g.kind in INTEGRITY_KINDS for g in self.gaps)

    @property
    def complete(self) -> bool:
        """Nothing missing from any author's chain, no truncated tail."""
        return not any(g.kind in _COMPLETENESS for g in self.gaps)

    @property
    def ok(self) -> bool:
        """Intact and complete: the only passing verdict."""
        return not self.gaps

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the CLI's ``--json``)."""
        return {
            "ok": self.ok,
            "scope": self.scope,
            "total_entries": self.total_entries,
            "tree_size": self.tree_size,
            "authors": self.authors,
            "signatures_checked": self.signatures_checked,
            "checkpoints_checked": self.checkpoints_checked,
            "chain_intact": self.chain_intact,
            "complete": self.complete,
            "consistent_with_saved": self.consistent_with_saved,
            "gaps": [g.to_dict() for g in self.gaps],
        }
