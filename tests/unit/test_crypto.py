"""Ed25519 keys, addresses and signed-note key formats, pinned by RFC 8032 and C2SP/Go vectors."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from sealog.crypto import (
    ADDRESS_PREFIX,
    COSIGNATURE_V1,
    ED25519_NOTE,
    PublicKey,
    SigningKey,
    is_address,
    key_id,
    valid_key_name,
)
from sealog.errors import FormatError

VECTORS = json.loads(
    (Path(__file__).parents[1] / "assets" / "vectors" / "vectors.json").read_text("utf-8")
)
RFC8032 = VECTORS["rfc8032_ed25519"]["cases"]
C2SP, GO, SUMDB = VECTORS["c2sp_signed_note"]
TEST1_SEED = bytes.fromhex(RFC8032[0]["secret_key_seed"])
TEST1_ADDRESS = "sl1f2dfa3c6c6857d6b4c3d5fcf46ec0d4ff31288c3"


def flip(data: bytes, bit: int) -> bytes:
    """``data`` with one bit inverted."""
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- RFC 8032 Ed25519 ---------------------------------------------------------------------


@pytest.mark.parametrize("case", RFC8032, ids=[c["name"] for c in RFC8032])
def test_rfc8032_public_key_from_seed(case):
    """SigningKey derives the RFC 8032 public key from each test seed."""
    key = SigningKey(bytes.fromhex(case["secret_key_seed"]))
    assert key.public_key.raw.hex() == case["public_key"]


@pytest.mark.parametrize("case", RFC8032, ids=[c["name"] for c in RFC8032])
def test_rfc8032_signature_is_byte_identical(case):
    """Signing the test message reproduces the RFC 8032 signature byte for byte."""
    key = SigningKey(bytes.fromhex(case["secret_key_seed"]))
    assert key.sign(bytes.fromhex(case["message"])).hex() == case["signature"]


@pytest.mark.parametrize("case", RFC8032, ids=[c["name"] for c in RFC8032])
def test_rfc8032_verify_accepts_and_flipped_bit_rejects(case):
    """PublicKey.verify accepts the RFC signature and rejects it with a bit flipped."""
    key = PublicKey(bytes.fromhex(case["public_key"]))
    message, signature = bytes.fromhex(case["message"]), bytes.fromhex(case["signature"])
    assert key.verify(message, signature)
    for bit in (0, 7, 255, 256, 511):
        assert not key.verify(message, flip(signature, bit))
    assert not key.verify(message + b"\x00", signature)


@pytest.mark.parametrize("length", [0, 32, 63, 65, 128])
def test_verify_is_false_for_wrong_length_signature(length):
    """PublicKey.verify returns False (never raises) for a signature that is not 64 bytes."""
    key = SigningKey(TEST1_SEED)
    signature = key.sign(b"m")
    assert not key.public_key.verify(b"m", (signature * 2)[:length])


def test_verify_is_false_for_garbage_signature():
    """A 64-byte signature that is not a valid encoding returns False, not an exception."""
    assert not SigningKey(TEST1_SEED).public_key.verify(b"m", b"\xff" * 64)


# --- addresses ----------------------------------------------------------------------------


def test_address_is_pinned_for_fixed_seed():
    """The address of the RFC 8032 TEST 1 key never changes."""
    assert SigningKey(TEST1_SEED).address == TEST1_ADDRESS
    assert SigningKey(TEST1_SEED).public_key.address == TEST1_ADDRESS


def test_address_derivation_rule():
    """address = 'sl1' ‖ hex(SHA-256('sealog/address/v1\\n' ‖ public key)[:20])."""
    key = SigningKey(bytes(range(32)))
    digest = hashlib.sha256(b"sealog/address/v1\n" + key.public_key.raw).hexdigest()
    assert key.address == ADDRESS_PREFIX + digest[:40]
    assert len(key.address) == 43
    assert is_address(key.address)


def test_addresses_differ_between_keys():
    """Different keys have different addresses."""
    assert SigningKey(bytes(32)).address != SigningKey(bytes(31) + b"\x01").address


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sl1",
        TEST1_ADDRESS.upper(),
        TEST1_ADDRESS[:-1],
        TEST1_ADDRESS + "0",
        "sl2" + TEST1_ADDRESS[3:],
        TEST1_ADDRESS[:-1] + "g",
        " " + TEST1_ADDRESS,
        TEST1_ADDRESS + "\n",
    ],
    ids=repr,
)
def test_is_address_refuses_malformed(text):
    """is_address is False for anything but 'sl1' and 40 lowercase hex digits."""
    assert not is_address(text)


# --- signed-note verifier keys (C2SP and Go vectors) ------------------------------------------

VKEYS = [
    pytest.param(
        C2SP["vkey"],
        C2SP["key_name"],
        C2SP["key_id_hex"],
        C2SP["ed25519_public_key"],
        id="c2sp-example",
    ),
    pytest.param(
        GO["vkeys"][0], "PeterNeumann", "c74f20a3", GO["ed25519_public_peter"], id="go-PeterNeumann"
    ),
    pytest.param(GO["vkeys"][1], "EnochRoot", "af0cfe78", None, id="go-EnochRoot"),
    pytest.param(
        SUMDB["vkey"],
        SUMDB["key_name"],
        SUMDB["key_id_hex"],
        SUMDB["ed25519_public_key"],
        id="sum.golang.org",
    ),
]


@pytest.mark.parametrize(("vkey", "name", "kid", "public"), VKEYS)
def test_parse_published_vkeys(vkey, name, kid, public):
    """Each published verifier key parses to its name, key ID and key, and re-renders exactly."""
    parsed_name, key = PublicKey.from_vkey(vkey)
    assert parsed_name == name
    assert key_id(name, key.raw).hex() == kid
    if public is not None:
        assert key.raw.hex() == public
    assert key.vkey(name) == vkey


def test_sumdb_vkey_has_plus_in_base64():
    """The sum.golang.org key's base64 holds '+': only the first two '+' separate fields."""
    _, _, blob = SUMDB["vkey"].split("+", 2)
    assert "+" in blob
    assert PublicKey.from_vkey(SUMDB["vkey"])[1].raw.hex() == SUMDB["ed25519_public_key"]


def test_key_id_rule():
    """key_id = SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4], and the type byte changes it."""
    raw = bytes.fromhex(C2SP["ed25519_public_key"])
    expected = hashlib.sha256(b"example.com/foo\n\x01" + raw).digest()[:4]
    assert key_id("example.com/foo", raw) == expected
    assert expected.hex() == C2SP["key_id_hex"]
    assert key_id("example.com/foo", raw, COSIGNATURE_V1) != expected


def test_go_private_key_parses():
    """The Go PRIVATE+KEY line (whose base64 holds '+') parses to PeterNeumann's seed and key."""
    name, key = SigningKey.from_note_skey(GO["skey"])
    assert name == "PeterNeumann"
    assert key.seed.hex() == GO["ed25519_seed_peter"]
    assert key.public_key.raw.hex() == GO["ed25519_public_peter"]
    assert key.to_note_skey(name) == GO["skey"]
    assert key.public_key.vkey(name) == GO["vkeys"][0]


# --- key file and vkey round trips ------------------------------------------------------------


@pytest.mark.parametrize("seed_byte", range(0, 256, 5))
def test_key_file_round_trip(seed_byte):
    """to_note_skey then from_note_skey gives back the name and seed (whatever the base64 holds)."""
    seed = hashlib.sha256(bytes([seed_byte])).digest()
    line = SigningKey(seed).to_note_skey("agent-7")
    assert line.startswith("PRIVATE+KEY+agent-7+")
    name, key = SigningKey.from_note_skey(line + "\n")
    assert (name, key.seed) == ("agent-7", seed)


def test_generated_key_round_trip():
    """A freshly generated key survives the key file format and its vkey."""
    key = SigningKey.generate()
    _, back = SigningKey.from_note_skey(key.to_note_skey("fresh"))
    assert back.seed == key.seed
    name, public = PublicKey.from_vkey(key.public_key.vkey("fresh"))
    assert (name, public) == ("fresh", key.public_key)


@pytest.mark.parametrize("alg", [ED25519_NOTE, COSIGNATURE_V1])
def test_vkey_round_trip(alg):
    """vkey then from_vkey with the same signature type gives back name and key."""
    key = SigningKey(TEST1_SEED).public_key
    assert PublicKey.from_vkey(key.vkey("w.example/1", alg=alg), alg=alg) == ("w.example/1", key)


def test_public_key_base64_round_trip():
    """PublicKey.from_b64(key.b64) is the same key."""
    key = SigningKey(TEST1_SEED).public_key
    assert PublicKey.from_b64(key.b64) == key


# --- malformed keys ---------------------------------------------------------------------------

KEY = SigningKey(TEST1_SEED)
SEED_B64 = base64.b64encode(b"\x01" + TEST1_SEED).decode()
KID = key_id("alice", KEY.public_key.raw).hex()
TYPE2_SEED_B64 = base64.b64encode(b"\x02" + TEST1_SEED).decode()
SHORT_SEED_B64 = base64.b64encode(b"\x01" + TEST1_SEED[:31]).decode()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param("", "not a key file", id="empty"),
        pytest.param(f"PRIVATE+KEY+alice+{KID}", "not a key file", id="four-parts"),
        pytest.param(f"PUBLIC+KEY+alice+{KID}+{SEED_B64}", "not a key file", id="not-private"),
        pytest.param(f"PRIVATE+KEY++{KID}+{SEED_B64}", "not a key file", id="empty-name"),
        pytest.param(f"PRIVATE+KEY+al ice+{KID}+{SEED_B64}", "not a key file", id="space-in-name"),
        pytest.param(f"PRIVATE+KEY+alice+{KID}+!!{SEED_B64}", "not valid base64", id="bad-base64"),
        pytest.param(
            f"PRIVATE+KEY+alice+zzzzzzzz+{SEED_B64}", "must be lowercase hex", id="bad-hex"
        ),
        pytest.param(
            f"PRIVATE+KEY+alice+{KID}+{TYPE2_SEED_B64}",
            "type 0x01",
            id="wrong-type-byte",
        ),
        pytest.param(
            f"PRIVATE+KEY+alice+{KID}+{SHORT_SEED_B64}",
            "type 0x01",
            id="short-seed",
        ),
        pytest.param(f"PRIVATE+KEY+alice+00000000+{SEED_B64}", "key ID does not match", id="kid"),
        pytest.param(f"PRIVATE+KEY+bob+{KID}+{SEED_B64}", "key ID does not match", id="renamed"),
    ],
)
def test_malformed_key_file_is_format_error(line, message):
    """from_note_skey raises FormatError for each kind of malformed key line."""
    with pytest.raises(FormatError, match=message):
        SigningKey.from_note_skey(line)


PUB_B64 = base64.b64encode(b"\x01" + KEY.public_key.raw).decode()
TYPE4_PUB_B64 = base64.b64encode(b"\x04" + KEY.public_key.raw).decode()
RAW_PUB_B64 = base64.b64encode(KEY.public_key.raw).decode()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param("", "NAME\\+KEYID\\+BASE64", id="empty"),
        pytest.param("alice", "NAME\\+KEYID\\+BASE64", id="one-part"),
        pytest.param(f"alice+{KID}", "NAME\\+KEYID\\+BASE64", id="two-parts"),
        pytest.param(f"+{KID}+{PUB_B64}", "NAME\\+KEYID\\+BASE64", id="empty-name"),
        pytest.param(f"al ice+{KID}+{PUB_B64}", "NAME\\+KEYID\\+BASE64", id="space-in-name"),
        pytest.param(f"alice+{KID}+!!{PUB_B64}", "not valid base64", id="bad-base64"),
        pytest.param(f"alice+xyz+{PUB_B64}", "must be lowercase hex", id="bad-hex"),
        pytest.param(
            f"alice+{KID}+{TYPE4_PUB_B64}",
            "not an Ed25519 key of type 0x01",
            id="wrong-type-byte",
        ),
        pytest.param(
            f"alice+{KID}+{RAW_PUB_B64}",
            "not an Ed25519 key of type 0x01",
            id="no-type-byte",
        ),
        pytest.param(f"alice+00000000+{PUB_B64}", "key ID does not match", id="kid-mismatch"),
        pytest.param(f"bob+{KID}+{PUB_B64}", "key ID does not match", id="renamed"),
    ],
)
def test_malformed_vkey_is_format_error(line, message):
    """from_vkey raises FormatError for each kind of malformed verifier key."""
    with pytest.raises(FormatError, match=message):
        PublicKey.from_vkey(line)


def test_vkey_of_other_type_is_refused():
    """A cosignature (0x04) verifier key is not accepted where an Ed25519 (0x01) key is expected."""
    witness = VECTORS["checkpoint_example_self_generated"]["witness_vkey"]
    with pytest.raises(FormatError, match="type 0x01"):
        PublicKey.from_vkey(witness)
    assert PublicKey.from_vkey(witness, alg=COSIGNATURE_V1)[0] == "witness.example/w1"


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_wrong_length_keys_are_format_errors(length):
    """Seeds and public keys must be exactly 32 bytes."""
    with pytest.raises(FormatError, match="32 bytes"):
        SigningKey(bytes(length))
    with pytest.raises(FormatError, match="32 bytes"):
        PublicKey(bytes(length))
    with pytest.raises(FormatError, match="32 bytes"):
        PublicKey.from_b64(base64.b64encode(bytes(length)).decode())


def test_public_key_from_bad_base64():
    """PublicKey.from_b64 refuses text that is not base64."""
    with pytest.raises(FormatError, match="not valid base64"):
        PublicKey.from_b64("not base64!")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("a", True),
        ("x" * 255, True),
        ("example.com/log", True),
        ("", False),
        ("a b", False),
        ("a+b", False),
        ("a\tb", False),
        ("x" * 256, False),
        ("alice\n", False),
        ("\nalice", False),
    ],
    ids=repr,
)
def test_valid_key_name(name, valid):
    """Key names are 1-255 characters with no whitespace and no '+'."""
    assert valid_key_name(name) is valid


# --- secrecy ------------------------------------------------------------------------------


def test_signing_key_repr_never_shows_the_seed():
    """repr and str of a SigningKey show its address, never the seed in any encoding."""
    key = SigningKey(TEST1_SEED)
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert TEST1_ADDRESS in text
        assert TEST1_SEED.hex() not in text.lower()
        assert base64.b64encode(TEST1_SEED).decode() not in text
        assert SEED_B64 not in text
        assert repr(TEST1_SEED)[2:-1] not in text
