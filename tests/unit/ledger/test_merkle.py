"""RFC 9162 Merkle math: the RFC 6962 / transparency-dev vectors, then Hypothesis properties."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.errors import VerificationError
from sealog.ledger._merkle import (
    EMPTY_ROOT,
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    perfect_nodes,
    root_from_leaves,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads(
    (Path(__file__).parents[2] / "assets" / "vectors" / "vectors.json").read_text("utf-8")
)
MERKLE = VECTORS["rfc6962_merkle"]
LEAF_INPUTS = [bytes.fromhex(h) for h in MERKLE["leaf_inputs_hex"]]
LEAF_HASHES = [leaf_hash(d) for d in LEAF_INPUTS]
PROBES = MERKLE["probe_corpus"]

# The pinned corpus accepts "sizes are equal (one) and proof is empty" with two equal 12-byte
# roots ("don't care 2"); sealog refuses any root that is not a 32-byte SHA-256 hash before it
# compares anything. Listed here so the deviation is visible and cannot widen silently.
STRICTER_THAN_CORPUS = {
    "testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
}


def h(hex_text: str) -> bytes:
    """Hex to bytes (the vectors write every hash in lowercase hex)."""
    return bytes.fromhex(hex_text)


def flip(data: bytes, bit: int = 0) -> bytes:
    """``data`` with one bit inverted (bit 0 is the low bit of the first byte)."""
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def probe_id(probe: dict) -> str:
    """A readable test id from the probe's file path."""
    return probe["file"].removeprefix("testdata/").removesuffix(".json")


class Store:
    """A node reader over every perfect subtree of the given leaves (what a backend stores)."""

    def __init__(self, leaves: Iterable[bytes]) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        compact = CompactRange()
        for leaf in leaves:
            for level, index, value in compact.append(leaf):
                self.nodes[level, index] = value
        self.reads = 0

    def read(self, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        self.reads += 1
        return {node: self.nodes[node] for node in wanted if node in self.nodes}


class Naive:
    """MTH straight from RFC 9162 §2.1.1 over leaf hashes, memoized per (start, end)."""

    def __init__(self, hashes: list[bytes]) -> None:
        self.hashes = hashes
        self.memo: dict[tuple[int, int], bytes] = {}

    @staticmethod
    def split(n: int) -> int:
        k = 1
        while k * 2 < n:
            k *= 2
        return k

    def mth(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n == 1:
            return self.hashes[start]
        if (start, end) not in self.memo:
            k = self.split(n)
            self.memo[start, end] = node_hash(self.mth(start, start + k), self.mth(start + k, end))
        return self.memo[start, end]

    def path(self, m: int, start: int, end: int) -> list[bytes]:
        """PATH(m, D[start:end]) of RFC 9162 §2.1.3.1."""
        if end - start == 1:
            return []
        k = self.split(end - start)
        if m < k:
            return [*self.path(m, start, start + k), self.mth(start + k, end)]
        return [*self.path(m - k, start + k, end), self.mth(start, start + k)]

    def subproof(self, m: int, start: int, end: int, *, complete: bool) -> list[bytes]:
        """SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1."""
        if m == end - start:
            return [] if complete else [self.mth(start, end)]
        k = self.split(end - start)
        if m <= k:
            left = self.subproof(m, start, start + k, complete=complete)
            return [*left, self.mth(start + k, end)]
        right = self.subproof(m - k, start + k, end, complete=False)
        return [*right, self.mth(start, start + k)]


# --- RFC 6962 vectors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", MERKLE["leaf_hashes"], ids=[f"leaf{c['index']}" for c in MERKLE["leaf_hashes"]]
)
def test_leaf_hash_vectors(case):
    """leaf_hash reproduces the RFC 6962 leaf hash of each of the 8 standard leaf inputs."""
    assert leaf_hash(LEAF_INPUTS[case["index"]]).hex() == case["leaf_hash"]


PERFECT = [
    (level, index, expected)
    for level, key in ((1, "level1_pairs"), (2, "level2_quads"), (3, "level3_root8"))
    for index, expected in enumerate(MERKLE["perfect_subtree_hashes"][key])
]


@pytest.mark.parametrize(
    ("level", "index", "expected"), PERFECT, ids=[f"level{lv}-{i}" for lv, i, _ in PERFECT]
)
def test_perfect_subtree_vectors(level, index, expected):
    """The naive MTH and the stored node both equal each published perfect subtree hash."""
    width = 1 << level
    assert Naive(LEAF_HASHES).mth(index * width, (index + 1) * width).hex() == expected
    assert Store(LEAF_HASHES).nodes[level, index].hex() == expected


ROOTS = MERKLE["root_hashes_by_tree_size"]


@pytest.mark.parametrize("case", ROOTS, ids=[f"size{c['tree_size']}" for c in ROOTS])
def test_root_vectors_from_leaves(case):
    """root_from_leaves gives the published root for every tree size 0..8."""
    assert root_from_leaves(LEAF_HASHES[: case["tree_size"]]).hex() == case["root_hash"]


@pytest.mark.parametrize("case", ROOTS, ids=[f"size{c['tree_size']}" for c in ROOTS])
def test_root_vectors_from_compact_range(case):
    """CompactRange, appended leaf by leaf, gives the published root for every size 0..8."""
    compact = CompactRange()
    for leaf in LEAF_HASHES[: case["tree_size"]]:
        compact.append(leaf)
    assert compact.size == case["tree_size"]
    assert compact.root().hex() == case["root_hash"]


@pytest.mark.parametrize("case", ROOTS, ids=[f"size{c['tree_size']}" for c in ROOTS])
def test_root_vectors_from_resumed_compact_range(case):
    """A CompactRange rebuilt from a saved frontier and then grown to 8 leaves gives the root."""
    saved = CompactRange()
    for leaf in LEAF_HASHES[: case["tree_size"]]:
        saved.append(leaf)
    resumed = CompactRange(saved.size, tuple(saved.hashes))
    assert resumed.root().hex() == case["root_hash"]
    for leaf in LEAF_HASHES[case["tree_size"] :]:
        resumed.append(leaf)
    assert resumed.root().hex() == ROOTS[8]["root_hash"]


def test_vendored_vectors_are_the_documented_copy(asset):
    """vectors.json is byte-identical to the copy whose SHA-256 its README records."""
    digest = hashlib.sha256(asset("vectors/vectors.json").read_bytes()).hexdigest()
    assert digest in asset("vectors/README.md").read_text(encoding="utf-8")


def test_vector_counts(vectors):
    """The vendored vectors hold every case the tests are parametrized over (nothing dropped)."""
    merkle = vectors["rfc6962_merkle"]
    assert len(merkle["leaf_inputs_hex"]) == len(merkle["leaf_hashes"]) == 8
    assert [c["tree_size"] for c in merkle["root_hashes_by_tree_size"]] == list(range(9))
    assert len(merkle["inclusion_proofs"]["cases"]) == 5
    assert len(merkle["consistency_proofs"]["cases"]) == 5
    summary = merkle["probe_corpus"]["summary"]
    assert len(merkle["probe_corpus"]["inclusion"]) == summary["inclusion_probes"] == 98
    assert len(merkle["probe_corpus"]["consistency"]) == summary["consistency_probes"] == 98
    assert sum(not p["want_error"] for p in PROBES["inclusion"]) == 6
    assert sum(not p["want_error"] for p in PROBES["consistency"]) == 6


INCLUSION = MERKLE["inclusion_proofs"]["cases"]
INCLUSION_IDS = [f"leaf{c['leaf_index']}-of-{c['tree_size']}" for c in INCLUSION]


@pytest.mark.parametrize("case", INCLUSION, ids=INCLUSION_IDS)
def test_inclusion_vectors_generated(case):
    """inclusion_proof over a store of the tree's leaves reproduces the published proof."""
    store = Store(LEAF_HASHES[: case["tree_size"]])
    proof = inclusion_proof(case["leaf_index"], case["tree_size"], store.read)
    assert [p.hex() for p in proof] == case["proof"]
    assert store.reads == 1


@pytest.mark.parametrize("case", INCLUSION, ids=INCLUSION_IDS)
def test_inclusion_vectors_verify(case):
    """verify_inclusion accepts each published proof against the published root."""
    assert LEAF_HASHES[case["leaf_index"]].hex() == case["leaf_hash"]
    proof = [h(p) for p in case["proof"]]
    verify_inclusion(
        case["leaf_index"], case["tree_size"], h(case["leaf_hash"]), proof, h(case["root_hash"])
    )


@pytest.mark.parametrize("case", INCLUSION, ids=INCLUSION_IDS)
def test_inclusion_vectors_tampered(case):
    """Flipping any one bit of a proof hash, the leaf or the root makes verify_inclusion raise."""
    index, size = case["leaf_index"], case["tree_size"]
    leaf, root, proof = h(case["leaf_hash"]), h(case["root_hash"]), [h(p) for p in case["proof"]]
    for position in range(len(proof)):
        for bit in (0, 255):
            bad = [*proof]
            bad[position] = flip(bad[position], bit)
            with pytest.raises(VerificationError):
                verify_inclusion(index, size, leaf, bad, root)
    with pytest.raises(VerificationError):
        verify_inclusion(index, size, flip(leaf), proof, root)
    with pytest.raises(VerificationError):
        verify_inclusion(index, size, leaf, proof, flip(root, 100))


CONSISTENCY = MERKLE["consistency_proofs"]["cases"]
CONSISTENCY_IDS = [f"{c['size1']}-to-{c['size2']}" for c in CONSISTENCY]


@pytest.mark.parametrize("case", CONSISTENCY, ids=CONSISTENCY_IDS)
def test_consistency_vectors_generated(case):
    """consistency_proof over a store of the new tree's leaves reproduces the published proof."""
    store = Store(LEAF_HASHES[: case["size2"]])
    proof = consistency_proof(case["size1"], case["size2"], store.read)
    assert [p.hex() for p in proof] == case["proof"]


@pytest.mark.parametrize("case", CONSISTENCY, ids=CONSISTENCY_IDS)
def test_consistency_vectors_verify(case):
    """verify_consistency accepts each published proof between the published roots."""
    assert ROOTS[case["size1"]]["root_hash"] == case["root1"]
    assert ROOTS[case["size2"]]["root_hash"] == case["root2"]
    proof = [h(p) for p in case["proof"]]
    verify_consistency(case["size1"], case["size2"], h(case["root1"]), h(case["root2"]), proof)


@pytest.mark.parametrize("case", CONSISTENCY, ids=CONSISTENCY_IDS)
def test_consistency_vectors_tampered(case):
    """Flipping any one bit of a proof hash or of either root makes verify_consistency raise."""
    old, new = case["size1"], case["size2"]
    root1, root2, proof = h(case["root1"]), h(case["root2"]), [h(p) for p in case["proof"]]
    for position in range(len(proof)):
        for bit in (0, 255):
            bad = [*proof]
            bad[position] = flip(bad[position], bit)
            with pytest.raises(VerificationError):
                verify_consistency(old, new, root1, root2, bad)
    with pytest.raises(VerificationError):
        verify_consistency(old, new, flip(root1), root2, proof)
    with pytest.raises(VerificationError):
        verify_consistency(old, new, root1, flip(root2, 77), proof)


# --- transparency-dev/merkle probe corpus ----------------------------------------------------


@pytest.mark.parametrize("probe", PROBES["inclusion"], ids=probe_id)
def test_inclusion_probe_corpus(probe):
    """verify_inclusion raises VerificationError exactly on the probes marked want_error."""
    args = (
        probe["leaf_index"],
        probe["tree_size"],
        h(probe["leaf_hash"]),
        [h(p) for p in probe["proof"]],
        h(probe["root"]),
    )
    if probe["want_error"]:
        with pytest.raises(VerificationError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("probe", PROBES["consistency"], ids=probe_id)
def test_consistency_probe_corpus(probe):
    """verify_consistency raises exactly on the want_error probes (a proof from size 0 is one)."""
    args = (
        probe["size1"],
        probe["size2"],
        h(probe["root1"]),
        h(probe["root2"]),
        [h(p) for p in probe["proof"]],
    )
    if probe["want_error"] or probe["file"] in STRICTER_THAN_CORPUS:
        with pytest.raises(VerificationError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_stricter_than_corpus_is_only_about_short_roots():
    """The one probe sealog refuses but the corpus accepts differs only in its 12-byte roots."""
    (probe,) = (p for p in PROBES["consistency"] if p["file"] in STRICTER_THAN_CORPUS)
    assert not probe["want_error"]
    assert len(h(probe["root1"])) == 12
    with pytest.raises(VerificationError, match="32 bytes"):
        verify_consistency(1, 1, h(probe["root1"]), h(probe["root2"]), [])
    verify_consistency(1, 1, LEAF_HASHES[0], LEAF_HASHES[0], [])


# --- edge cases of the API -----------------------------------------------------------------


def test_empty_root_is_sha256_of_nothing():
    """The root of the empty tree is SHA-256("") and CompactRange starts there."""
    assert EMPTY_ROOT.hex() == ROOTS[0]["root_hash"]
    assert CompactRange().root() == EMPTY_ROOT
    assert root_from_leaves([]) == EMPTY_ROOT


def test_leaf_and_node_hashes_are_domain_separated():
    """A leaf hash never equals the node hash of the same bytes (0x00 vs 0x01 prefix)."""
    left, right = LEAF_HASHES[0], LEAF_HASHES[1]
    assert leaf_hash(left + right) != node_hash(left, right)


def test_compact_range_refuses_wrong_frontier():
    """CompactRange(size, hashes) needs exactly one hash per set bit of size."""
    with pytest.raises(ValueError, match="one hash per set bit"):
        CompactRange(3, (LEAF_HASHES[0],))
    with pytest.raises(ValueError, match="one hash per set bit"):
        CompactRange(0, (LEAF_HASHES[0],))


def test_nodes_for_names_the_frontier():
    """CompactRange.nodes_for(size) names the perfect subtrees whose hashes the frontier holds."""
    assert CompactRange.nodes_for(0) == []
    assert CompactRange.nodes_for(7) == [(2, 0), (1, 2), (0, 6)]
    assert CompactRange.nodes_for(8) == [(3, 0)]
    store = Store(LEAF_HASHES[:7])
    compact = CompactRange()
    for leaf in LEAF_HASHES[:7]:
        compact.append(leaf)
    assert [store.nodes[n] for n in CompactRange.nodes_for(7)] == compact.hashes


def test_perfect_nodes_of_unaligned_range():
    """perfect_nodes splits an unaligned range into aligned perfect subtrees, left to right."""
    assert perfect_nodes(3, 8) == [(0, 3), (2, 1)]
    assert perfect_nodes(5, 5) == []
    assert perfect_nodes(1, 7) == [(0, 1), (1, 1), (1, 2), (0, 6)]


@pytest.mark.parametrize(("index", "size"), [(0, 0), (8, 8), (-1, 8)])
def test_inclusion_proof_refuses_index_outside_tree(index, size):
    """inclusion_proof raises ValueError for an index that is not below the tree size."""
    with pytest.raises(ValueError, match="is not in a tree"):
        inclusion_proof(index, size, Store(LEAF_HASHES).read)


@pytest.mark.parametrize(("old", "new"), [(0, 8), (5, 4), (-1, 3)])
def test_consistency_proof_refuses_bad_sizes(old, new):
    """consistency_proof raises ValueError unless 0 < old ≤ new."""
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(old, new, Store(LEAF_HASHES).read)


def test_proofs_need_every_node_from_the_store():
    """A store that lacks a node makes proof generation raise VerificationError, naming it."""
    store = Store(LEAF_HASHES)
    del store.nodes[1, 1]
    with pytest.raises(VerificationError, match="lacks 1 node"):
        inclusion_proof(0, 8, store.read)
    with pytest.raises(VerificationError, match="lacks"):
        consistency_proof(2, 8, store.read)


def test_verify_inclusion_refuses_short_hashes_before_hashing():
    """Proof, leaf and root must all be 32-byte hashes."""
    proof = [h(p) for p in INCLUSION[0]["proof"]]
    root = h(INCLUSION[0]["root_hash"])
    with pytest.raises(VerificationError, match="32 bytes"):
        verify_inclusion(0, 8, LEAF_HASHES[0], [*proof[:2], proof[2][:31]], root)
    with pytest.raises(VerificationError, match="32 bytes"):
        verify_inclusion(0, 8, LEAF_HASHES[0][:31], proof, root)


def test_verify_consistency_names_a_fork():
    """Two different roots for the same size are reported as a fork."""
    with pytest.raises(VerificationError, match="fork"):
        verify_consistency(8, 8, h(ROOTS[8]["root_hash"]), h(ROOTS[7]["root_hash"]), [])


def test_verify_consistency_refuses_shrinking_tree():
    """A new size below the old size is refused."""
    with pytest.raises(VerificationError, match="shrank"):
        verify_consistency(8, 7, h(ROOTS[8]["root_hash"]), h(ROOTS[7]["root_hash"]), [])


def test_verify_consistency_refuses_empty_old_tree():
    """No consistency proof exists from the empty tree (the corpus' convention)."""
    with pytest.raises(VerificationError, match="empty tree"):
        verify_consistency(0, 8, EMPTY_ROOT, h(ROOTS[8]["root_hash"]), [])


# --- Hypothesis properties --------------------------------------------------------------------

MAX_LEAVES = 300


@st.composite
def trees(draw, max_leaves=MAX_LEAVES):
    """Leaf hashes of a random tree: 1..max_leaves distinct random byte strings."""
    n = draw(st.integers(1, max_leaves))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    data = {rng.randbytes(rng.randrange(4, 24)) for _ in range(n)}
    while len(data) < n:
        data.add(rng.randbytes(rng.randrange(4, 24)))
    return [leaf_hash(d) for d in sorted(data, key=lambda _: rng.random())]


PROPERTY = settings(max_examples=50, deadline=None)


@PROPERTY
@given(trees())
def test_every_leaf_inclusion_proof_verifies(hashes):
    """For a random tree, every leaf's proof is the RFC's PATH and verifies against the root."""
    n, store, naive = len(hashes), Store(hashes), Naive(hashes)
    root = naive.mth(0, n)
    for index, leaf in enumerate(hashes):
        proof = inclusion_proof(index, n, store.read)
        assert proof == naive.path(index, 0, n)
        verify_inclusion(index, n, leaf, proof, root)


@PROPERTY
@given(trees())
def test_every_consistency_proof_verifies(hashes):
    """For a tree of size n, the proof from every 1 ≤ m ≤ n is the RFC's PROOF and verifies."""
    n, store, naive = len(hashes), Store(hashes), Naive(hashes)
    for m in range(1, n + 1):
        proof = consistency_proof(m, n, store.read)
        assert proof == naive.subproof(m, 0, n, complete=True)
        verify_consistency(m, n, naive.mth(0, m), naive.mth(0, n), proof)


@PROPERTY
@given(trees(), st.data())
def test_altered_inclusion_claims_fail(hashes, data):
    """Changing a proof hash, the root, the index, the leaf or the size breaks inclusion."""
    n, store, naive = len(hashes), Store(hashes), Naive(hashes)
    index = data.draw(st.integers(0, n - 1), label="index")
    leaf, root = hashes[index], naive.mth(0, n)
    proof = inclusion_proof(index, n, store.read)
    verify_inclusion(index, n, leaf, proof, root)
    bit = data.draw(st.integers(0, 255), label="bit")
    for position in range(len(proof)):
        bad = [*proof]
        bad[position] = flip(bad[position], bit)
        with pytest.raises(VerificationError):
            verify_inclusion(index, n, leaf, bad, root)
    with pytest.raises(VerificationError):
        verify_inclusion(index, n, leaf, proof, flip(root, bit))
    with pytest.raises(VerificationError):
        verify_inclusion(index, n, flip(leaf, bit), proof, root)
    with pytest.raises(VerificationError):
        verify_inclusion(index, n, leaf, [*proof, root], root)
    if proof:
        with pytest.raises(VerificationError):
            verify_inclusion(index, n, leaf, proof[:-1], root)
    if n > 1:
        other = data.draw(st.integers(0, n - 1).filter(lambda i: i != index), label="other")
        with pytest.raises(VerificationError):
            verify_inclusion(other, n, leaf, proof, root)
    # A different size claimed against that size's own (honest) root.
    size = data.draw(st.integers(index + 1, n + 8).filter(lambda s: s != n), label="size")
    grown = [*hashes, *(leaf_hash(b"extra %d" % i) for i in range(8))]
    with pytest.raises(VerificationError):
        verify_inclusion(index, size, leaf, proof, Naive(grown).mth(0, size))


@PROPERTY
@given(trees(), st.data())
def test_altered_consistency_claims_fail(hashes, data):
    """Changing a proof hash or either root breaks a consistency proof between m < n."""
    n = len(hashes)
    if n < 2:
        hashes = [*hashes, leaf_hash(b"second")]
        n = 2
    store, naive = Store(hashes), Naive(hashes)
    m = data.draw(st.integers(1, n - 1), label="m")
    old_root, new_root = naive.mth(0, m), naive.mth(0, n)
    proof = consistency_proof(m, n, store.read)
    bit = data.draw(st.integers(0, 255), label="bit")
    for position in range(len(proof)):
        bad = [*proof]
        bad[position] = flip(bad[position], bit)
        with pytest.raises(VerificationError):
            verify_consistency(m, n, old_root, new_root, bad)
    with pytest.raises(VerificationError):
        verify_consistency(m, n, flip(old_root, bit), new_root, proof)
    with pytest.raises(VerificationError):
        verify_consistency(m, n, old_root, flip(new_root, bit), proof)
    with pytest.raises(VerificationError):
        verify_consistency(m, n, old_root, new_root, proof[:-1])
    with pytest.raises(VerificationError):
        verify_consistency(m, n, old_root, new_root, [*proof, new_root])
    # Other sizes, each claimed against its own honest root.
    if n > 2:
        other = data.draw(st.integers(1, n - 1).filter(lambda s: s != m), label="other_m")
        with pytest.raises(VerificationError):
            verify_consistency(other, n, naive.mth(0, other), new_root, proof)


@PROPERTY
@given(trees())
def test_compact_range_root_matches_every_prefix(hashes):
    """After each append, CompactRange.root() equals root_from_leaves and the naive MTH."""
    naive, compact = Naive(hashes), CompactRange()
    for k, leaf in enumerate(hashes, start=1):
        compact.append(leaf)
        assert compact.root() == naive.mth(0, k)
        if k % 17 == 0 or k == len(hashes):
            assert root_from_leaves(hashes[:k]) == compact.root()


@PROPERTY
@given(trees())
def test_append_returns_exactly_the_perfect_subtrees(hashes):
    """Each append returns the perfect subtrees ending at the new leaf, each with its true MTH."""
    naive, compact, seen = Naive(hashes), CompactRange(), set()
    for count, leaf in enumerate(hashes, start=1):
        made = compact.append(leaf)
        expected = {
            (level, (count >> level) - 1)
            for level in range(count.bit_length())
            if count % (1 << level) == 0
        }
        assert {(level, index) for level, index, _ in made} == expected
        for level, index, value in made:
            assert value == naive.mth(index << level, (index + 1) << level)
        seen.update((level, index) for level, index, _ in made)
        assert [
            naive.mth(index << level, (index + 1) << level)
            for level, index in CompactRange.nodes_for(count)
        ] == compact.hashes
    n = len(hashes)
    assert seen == {
        (level, index) for level in range(n.bit_length()) for index in range(n >> level)
    }


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=300))
def test_tree_root_folds_stored_nodes_to_the_root(size):
    """tree_root over stored perfect subtrees equals the root computed from the leaves."""
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(size)]
    stored: dict[tuple[int, int], bytes] = {}
    compact = CompactRange()
    for leaf in leaves:
        for level, index, digest in compact.append(leaf):
            stored[(level, index)] = digest
    assert tree_root(size, lambda wanted: {n: stored[n] for n in wanted}) == root_from_leaves(
        leaves
    )


def test_tree_root_names_a_missing_node():
    """A node the storage should hold but lacks is a VerificationError, not a KeyError."""
    with pytest.raises(VerificationError, match="lacks"):
        tree_root(5, lambda _wanted: {})
