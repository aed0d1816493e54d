"""InclusionProof and ConsistencyProof: the proof values that travel as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sealog.canonical import canonicalize, parse_canonical
from sealog.errors import FormatError, VerificationError
from sealog.ledger.proofs import ConsistencyProof, InclusionProof

VECTORS = json.loads(
    (Path(__file__).parents[2] / "assets" / "vectors" / "vectors.json").read_text("utf-8")
)
MERKLE = VECTORS["rfc6962_merkle"]
INCLUSION = MERKLE["inclusion_proofs"]["cases"]
CONSISTENCY = MERKLE["consistency_proofs"]["cases"]
ROOT8 = bytes.fromhex(MERKLE["root_hashes_by_tree_size"][8]["root_hash"])


def inclusion(case) -> InclusionProof:
    """The InclusionProof value of a vector case."""
    return InclusionProof(
        case["leaf_index"],
        case["tree_size"],
        bytes.fromhex(case["leaf_hash"]),
        tuple(bytes.fromhex(p) for p in case["proof"]),
    )


def consistency(case) -> ConsistencyProof:
    """The ConsistencyProof value of a vector case."""
    return ConsistencyProof(
        case["size1"], case["size2"], tuple(bytes.fromhex(p) for p in case["proof"])
    )


@pytest.mark.parametrize(
    "case", INCLUSION, ids=[f"leaf{c['leaf_index']}-of-{c['tree_size']}" for c in INCLUSION]
)
def test_inclusion_proof_verifies_vectors(case):
    """InclusionProof.verify accepts each RFC 6962 vector and refuses another tree's root."""
    proof = inclusion(case)
    proof.verify(bytes.fromhex(case["root_hash"]))
    with pytest.raises(VerificationError):
        proof.verify(bytes.fromhex(MERKLE["root_hashes_by_tree_size"][7]["root_hash"]))


@pytest.mark.parametrize(
    "case", CONSISTENCY, ids=[f"{c['size1']}-to-{c['size2']}" for c in CONSISTENCY]
)
def test_consistency_proof_verifies_vectors(case):
    """ConsistencyProof.verify accepts each RFC 6962 vector and refuses swapped roots."""
    proof = consistency(case)
    root1, root2 = bytes.fromhex(case["root1"]), bytes.fromhex(case["root2"])
    proof.verify(root1, root2)
    if root1 != root2:
        with pytest.raises(VerificationError):
            proof.verify(root2, root1)


def test_inclusion_proof_json_round_trip():
    """from_dict(to_dict(p)) == p, the dict holds lowercase hex, and it is canonical JSON."""
    proof = inclusion(INCLUSION[1])
    data = proof.to_dict()
    assert data == {
        "index": 5,
        "tree_size": 8,
        "leaf_hash": INCLUSION[1]["leaf_hash"],
        "hashes": INCLUSION[1]["proof"],
    }
    assert InclusionProof.from_dict(data) == proof
    assert InclusionProof.from_dict(parse_canonical(canonicalize(data))) == proof


def test_consistency_proof_json_round_trip():
    """from_dict(to_dict(p)) == p for a consistency proof, including an empty one."""
    for case in CONSISTENCY:
        proof = consistency(case)
        assert proof.to_dict()["hashes"] == case["proof"]
        assert ConsistencyProof.from_dict(proof.to_dict()) == proof


GOOD_INCLUSION = inclusion(INCLUSION[0]).to_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"index": None}, "index must be a non-negative", id="index-missing"),
        pytest.param({"index": -1}, "index must be a non-negative", id="index-negative"),
        pytest.param({"index": True}, "index must be a non-negative", id="index-bool"),
        pytest.param({"index": "0"}, "index must be a non-negative", id="index-string"),
        pytest.param({"tree_size": 1 << 63}, "tree_size must be", id="size-2^63"),
        pytest.param({"leaf_hash": None}, "leaf_hash hash must be lowercase hex", id="no-leaf"),
        pytest.param(
            {"leaf_hash": "zz" * 32}, "leaf_hash hash must be lowercase hex", id="leaf-zz"
        ),
        pytest.param({"leaf_hash": "00" * 31}, "leaf_hash hash must be 32 bytes", id="leaf-31"),
        pytest.param({"hashes": None}, "hashes must be a list", id="hashes-missing"),
        pytest.param({"hashes": "00" * 32}, "hashes must be a list", id="hashes-string"),
        pytest.param({"hashes": ["00" * 32] * 65}, "at most 64", id="hashes-65"),
        pytest.param({"hashes": [5]}, "hashes hash must be lowercase hex", id="hash-int"),
        pytest.param({"hashes": ["00" * 33]}, "hashes hash must be 32 bytes", id="hash-33"),
    ],
)
def test_inclusion_proof_from_dict_refuses_bad_fields(change, message):
    """InclusionProof.from_dict raises FormatError naming the missing or ill-typed field."""
    with pytest.raises(FormatError, match=message):
        InclusionProof.from_dict({**GOOD_INCLUSION, **change})


@pytest.mark.parametrize("data", [None, [], "proof", 3])
def test_proofs_from_dict_refuse_non_objects(data):
    """Both proof types refuse JSON that is not an object."""
    with pytest.raises(FormatError, match="is a JSON object"):
        InclusionProof.from_dict(data)
    with pytest.raises(FormatError, match="is a JSON object"):
        ConsistencyProof.from_dict(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"new_size": 8, "hashes": []}, "old_size"),
        ({"old_size": 1, "hashes": []}, "new_size"),
        ({"old_size": 1, "new_size": 8}, "hashes must be a list"),
        ({"old_size": 1, "new_size": -8, "hashes": []}, "new_size"),
        ({"old_size": 1, "new_size": 8, "hashes": ["ab"]}, "must be 32 bytes"),
    ],
    ids=["no-old", "no-new", "no-hashes", "negative-new", "short-hash"],
)
def test_consistency_proof_from_dict_refuses_bad_fields(data, message):
    """ConsistencyProof.from_dict raises FormatError naming the bad field."""
    with pytest.raises(FormatError, match=message):
        ConsistencyProof.from_dict(data)


def test_tampered_proof_from_json_fails_verification():
    """A proof parsed from JSON whose hash was edited parses, but does not verify."""
    data = inclusion(INCLUSION[0]).to_dict()
    data["hashes"][1] = "ff" + data["hashes"][1][2:]
    proof = InclusionProof.from_dict(data)
    with pytest.raises(VerificationError):
        proof.verify(ROOT8)
