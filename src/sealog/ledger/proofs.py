"""Inclusion and consistency proofs as values that travel (spec §6).

Hashes are lowercase hex in JSON. A proof carries the sizes it speaks of; the root it leads to
comes from a signed checkpoint the verifier holds, never from the proof itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sealog._encoding import hex_strict
from sealog.errors import FormatError
from sealog.ledger._merkle import verify_consistency, verify_inclusion

__all__ = ["ConsistencyProof", "InclusionProof"]


def _hashes(value: Any, what: str) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > 64:  # noqa: PLR2004 - a 2^64 tree's depth
        raise FormatError(f"{what} must be a list of at most 64 hex hashes")
    return tuple(hex_strict(h, f"{what} hash", 32) for h in value)


def _size(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value < 1 << 63:
        raise FormatError(f"{what} must be a non-negative integer")
    return value


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """RFC 9162 inclusion proof of the leaf at ``index`` in the tree of ``tree_size``."""

    index: int
    tree_size: int
    leaf_hash: bytes
    hashes: tuple[bytes, ...]

    def verify(self, root: bytes) -> None:
        """Check the proof against a checkpoint root.

        Raises:
            VerificationError: it does not lead to ``root``.
        """
        verify_inclusion(self.index, self.tree_size, self.leaf_hash, self.hashes, root)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "index": self.index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "hashes": [h.hex() for h in self.hashes],
        }

    @classmethod
    def from_dict(cls, data: Any) -> InclusionProof:
        """Parse the JSON form.

        Raises:
            FormatError: a field is missing or ill-typed.
        """
        if not isinstance(data, dict):
            raise FormatError("an inclusion proof is a JSON object")
        (leaf,) = _hashes([data.get("leaf_hash")], "leaf_hash")
        return cls(
            _size(data.get("index"), "index"),
            _size(data.get("tree_size"), "tree_size"),
            leaf,
            _hashes(data.get("hashes"), "hashes"),
        )


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """RFC 9162 consistency proof that the tree of ``new_size`` extends that of ``old_size``."""

    old_size: int
    new_size: int
    hashes: tuple[bytes, ...]

    def verify(self, old_root: bytes, new_root: bytes) -> None:
        """Check the proof between two checkpoint roots.

        Raises:
            VerificationError: the new tree does not extend the old one.
        """
        verify_consistency(self.old_size, self.new_size, old_root, new_root, self.hashes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "hashes": [h.hex() for h in self.hashes],
        }

    @classmethod
    def from_dict(cls, data: Any) -> ConsistencyProof:
        """Parse the JSON form.

        Raises:
            FormatError: a field is missing or ill-typed.
        """
        if not isinstance(data, dict):
            raise FormatError("a consistency proof is a JSON object")
        return cls(
            _size(data.get("old_size"), "old_size"),
            _size(data.get("new_size"), "new_size"),
            _hashes(data.get("hashes"), "hashes"),
        )
