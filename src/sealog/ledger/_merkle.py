"""RFC 9162 §2.1 Merkle tree math: pure functions over hashes, no I/O.

Nodes are named by ``(level, index)``: the perfect subtree at ``level`` covering leaves
``[index·2^level, (index+1)·2^level)``; level 0 holds the leaf hashes. Only perfect subtrees are
ever stored, and any other subtree hash is folded from O(log n) of them, so proofs cost
O(log n) node reads (the storage layout of Trillian, Tessera and tlog-tiles).

Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step,
with the conventions of transparency-dev/merkle for the edge cases the RFC leaves open: a proof of
the wrong length is refused before any hashing, and a consistency proof from the empty tree is an
error (callers decide what the empty tree is consistent with).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from sealog.errors import VerificationError

__all__ = [
    "EMPTY_ROOT",
    "CompactRange",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "perfect_nodes",
    "root_from_leaves",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string."""

Node = tuple[int, int]
"""A perfect subtree: (level, index)."""

NodeReader = Callable[[Iterable[Node]], dict[Node, bytes]]
"""Fetches stored perfect-subtree hashes in one call."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 ‖ d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly less than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaves(hashes: Sequence[bytes]) -> bytes:
    """Compute MTH over leaf hashes in O(n) time and O(log n) memory."""
    compact = CompactRange()
    for h in hashes:
        compact.append(h)
    return compact.root()


class CompactRange:
    """The right frontier of a growing tree: one perfect subtree root per set bit of its size.

    Appending a leaf returns the perfect subtrees it completed, which is exactly what a
    backend must store to answer proofs later.
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        """Resume from a saved frontier (``hashes`` from the largest subtree to the smallest)."""
        if len(hashes) != size.bit_count():
            raise ValueError("a compact range holds one hash per set bit of its size")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the new perfect subtrees as ``(level, index, hash)``."""
        index = self.size
        made = [(0, index, leaf)]
        h = leaf
        level = 0
        while (index >> level) & 1:
            h = node_hash(self.hashes.pop(), h)
            level += 1
            made.append((level, index >> level, h))
        self.hashes.append(h)
        self.size += 1
        return made

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        if not self.hashes:
            return EMPTY_ROOT
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = node_hash(left, h)
        return h

    @staticmethod
    def nodes_for(size: int) -> list[Node]:
        """The perfect subtrees that make up the frontier of a tree of ``size`` leaves."""
        return perfect_nodes(0, size)


def perfect_nodes(start: int, end: int) -> list[Node]:
    """Split ``[start, end)`` into perfect subtrees, largest (leftmost) first."""
    out: list[Node] = []
    while start < end:
        n = end - start
        level = n.bit_length() - 1
        if start & ((1 << level) - 1):
            level = (start & -start).bit_length() - 1
        out.append((level, start >> level))
        start += 1 << level
    return out


def _subtree(start: int, end: int, nodes: dict[Node, bytes]) -> bytes:
    """MTH(D[start:end]) folded from the fetched perfect subtrees."""
    parts = perfect_nodes(start, end)
    h = nodes[parts[-1]]
    for part in reversed(parts[:-1]):
        h = node_hash(nodes[part], h)
    return h


def _resolve(ranges: list[tuple[int, int]], read: NodeReader) -> list[bytes]:
    wanted = {node for start, end in ranges for node in perfect_nodes(start, end)}
    nodes = read(wanted)
    missing = wanted - nodes.keys()
    if missing:
        raise VerificationError(f"tree storage lacks {len(missing)} node(s), e.g. {min(missing)}")
    return [_subtree(start, end, nodes) for start, end in ranges]


def tree_root(size: int, read: NodeReader) -> bytes:
    """MTH of the first ``size`` leaves, folded from O(log n) stored perfect subtrees.

    Raises:
        VerificationError: the storage lacks a node it should hold.
    """
    return EMPTY_ROOT if size == 0 else _resolve([(0, size)], read)[0]


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[size]), fetching O(log n) stored nodes.

    Raises:
        ValueError: ``index`` is not below ``size``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
    ranges.reverse()
    return _resolve(ranges, read)


def consistency_proof(old: int, new: int, read: NodeReader) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old, D[new]).

    Raises:
        ValueError: not ``0 < old ≤ new``.
    """
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    ranges: list[tuple[int, int]] = []
    start, end, m, complete = 0, new, old, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            complete = False
    if not complete:
        ranges.append((start, end))
    ranges.reverse()
    return _resolve(ranges, read)


def _inclusion_length(index: int, size: int) -> int:
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an inclusion proof (RFC 9162 §2.1.3.2).

    Raises:
        VerificationError: the proof does not show ``leaf`` at ``index`` in the tree ``root``.
    """
    if not 0 <= index < size:
        raise VerificationError(f"index {index} is beyond tree size {size}")
    if len(proof) != _inclusion_length(index, size):
        raise VerificationError(
            f"inclusion proof has {len(proof)} hashes, expected {_inclusion_length(index, size)}"
        )
    if any(len(p) != 32 for p in proof) or len(leaf) != 32 or len(root) != 32:  # noqa: PLR2004
        raise VerificationError("proof hashes must be 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is longer than the path")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise VerificationError("inclusion proof does not lead to the checkpoint root")


def verify_consistency(  # noqa: C901, PLR0912 - RFC 9162 §2.1.4.2, step by step
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check a consistency proof (RFC 9162 §2.1.4.2).

    Raises:
        VerificationError: the tree ``new_root`` does not extend the tree ``old_root``.
    """
    if old > new:
        raise VerificationError(f"tree shrank from size {old} to {new}")
    if any(len(p) != 32 for p in proof) or len(old_root) != 32 or len(new_root) != 32:  # noqa: PLR2004
        raise VerificationError("proof hashes must be 32 bytes")
    if old == new:
        if proof:
            raise VerificationError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise VerificationError(f"two different roots for tree size {old} (a fork)")
        return
    if old == 0:
        raise VerificationError("no consistency proof exists from the empty tree")
    if not proof:
        raise VerificationError("consistency proof is empty")
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is longer than the path")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("consistency proof is shorter than the path")
    if fr != old_root:
        raise VerificationError("consistency proof does not lead to the old root (a fork)")
    if sr != new_root:
        raise VerificationError("consistency proof does not lead to the new root")
