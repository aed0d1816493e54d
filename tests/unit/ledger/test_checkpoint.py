"""C2SP signed notes, checkpoints and witness cosignatures, pinned by public and fixed vectors."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import pytest

from sealog.crypto import COSIGNATURE_V1, PublicKey, SigningKey, key_id
from sealog.errors import FormatError, VerificationError
from sealog.ledger._merkle import leaf_hash, root_from_leaves
from sealog.ledger.checkpoint import Checkpoint, NoteSignature, SignedNote

VECTORS = json.loads(
    (Path(__file__).parents[2] / "assets" / "vectors" / "vectors.json").read_text("utf-8")
)
C2SP, GO, SUMDB = VECTORS["c2sp_signed_note"]
EXAMPLE = VECTORS["checkpoint_example_self_generated"]
LOG_SEED = bytes.fromhex(EXAMPLE["log_seed_hex(RFC8032 TEST1)"])
WITNESS_SEED = bytes.fromhex(EXAMPLE["witness_seed_hex(RFC8032 TEST2)"])
TIMESTAMP = 1_700_000_000


def vkey(line: str, alg: int = 0x01) -> tuple[str, PublicKey]:
    """Parse a verifier key of signature type ``alg``."""
    return PublicKey.from_vkey(line, alg=alg)


def log_note() -> SignedNote:
    """The example checkpoint signed by the log only."""
    root = root_from_leaves(
        [leaf_hash(bytes.fromhex(d)) for d in VECTORS["rfc6962_merkle"]["leaf_inputs_hex"]]
    )
    origin, _ = vkey(EXAMPLE["log_vkey"])
    return Checkpoint(origin, 8, root).sign(SigningKey(LOG_SEED))


# --- C2SP and Go signed-note vectors ----------------------------------------------------------


def test_c2sp_example_note_verifies():
    """The C2SP signed-note example parses, verifies with its vkey and renders byte-identical."""
    note = SignedNote.parse(C2SP["note_utf8"])
    assert note.text == C2SP["signed_message_utf8"]
    assert note.render() == C2SP["note_utf8"]
    (sig,) = note.signatures
    assert (sig.name, sig.key_id.hex()) == (C2SP["key_name"], C2SP["key_id_hex"])
    note.verify(*vkey(C2SP["vkey"]))


def test_c2sp_example_note_tampered_text_fails():
    """Changing one character of the note text makes the example signature fail."""
    note = SignedNote.parse(C2SP["note_utf8"].replace("example message", "example messagE"))
    with pytest.raises(VerificationError, match="does not verify"):
        note.verify(*vkey(C2SP["vkey"]))


@pytest.mark.parametrize("signer", [0, 1], ids=["PeterNeumann", "EnochRoot"])
def test_go_two_signature_note_verifies_each_signer(signer):
    """Each signer of the two-signature Go note verifies; the other signature is ignored."""
    note = SignedNote.parse(GO["signed_note_two_sigs_utf8"])
    assert note.text == GO["note_text_utf8"]
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    assert note.render() == GO["signed_note_two_sigs_utf8"]
    note.verify(*vkey(GO["vkeys"][signer]))


def test_regenerate_peter_neumann_signature_byte_for_byte():
    """SigningKey from the Go seed re-signs the note text to exactly the published line."""
    key = SigningKey(bytes.fromhex(GO["ed25519_seed_peter"]))
    assert key.public_key.raw.hex() == GO["ed25519_public_peter"]
    text = GO["note_text_utf8"]
    sig = NoteSignature(
        "PeterNeumann", key_id("PeterNeumann", key.public_key.raw), key.sign(text.encode())
    )
    published = GO["signed_note_two_sigs_utf8"].splitlines(keepends=True)
    assert sig.line() == published[-2]
    assert SignedNote(text, (sig,)).render() == "".join(published[:-1])


def test_unknown_signers_are_ignored():
    """A verifier passes if its key signed, whatever unknown (even bogus) signature lines say."""
    name, key = vkey(GO["vkeys"][0])
    text, signatures = GO["signed_note_two_sigs_utf8"].split("\n\n", 1)
    bogus = "— Unknown " + base64.b64encode(b"\x01\x02\x03\x04" + bytes(64)).decode() + "\n"
    note = SignedNote.parse(f"{text}\n\n{bogus}{signatures}")
    assert [s.name for s in note.signatures] == ["Unknown", "PeterNeumann", "EnochRoot"]
    note.verify(name, key)


def test_signature_under_another_key_id_is_not_counted():
    """A line with the right name but another key ID does not count as the key's signature."""
    name, key = vkey(GO["vkeys"][0])
    note = SignedNote.parse(GO["signed_note_two_sigs_utf8"])
    peter = note.signatures[0]
    moved = NoteSignature(peter.name, b"\x00\x00\x00\x00", peter.signature)
    with pytest.raises(VerificationError, match="no signature by PeterNeumann"):
        SignedNote(note.text, (moved, note.signatures[1])).verify(name, key)


def test_verify_without_the_key_signature_fails():
    """A note not signed by the given key fails, even if other signatures are valid."""
    note = SignedNote.parse(C2SP["note_utf8"])
    with pytest.raises(VerificationError, match="carries no signature"):
        note.verify(*vkey(GO["vkeys"][0]))


# --- the self-generated checkpoint and cosignature ----------------------------------------


def test_checkpoint_body_and_log_signature_are_byte_identical():
    """The checkpoint rebuilt from the TEST1 seed (origin, size 8, RFC 6962 root) is byte-exact."""
    note = log_note()
    assert note.text == EXAMPLE["checkpoint_body_utf8"]
    expected = EXAMPLE["checkpoint_signed_utf8"].splitlines(keepends=True)
    assert note.render() == "".join(expected[:-1])
    assert vkey(EXAMPLE["log_vkey"])[1] == SigningKey(LOG_SEED).public_key


def test_checkpoint_opens_with_log_vkey():
    """Checkpoint.open verifies the published checkpoint and returns origin, size and root."""
    checkpoint, note = Checkpoint.open(EXAMPLE["checkpoint_signed_utf8"], EXAMPLE["log_vkey"])
    assert checkpoint.origin == "example.com/agent-ledger/test"
    assert checkpoint.size == 8
    assert (
        checkpoint.root.hex()
        == VECTORS["rfc6962_merkle"]["root_hashes_by_tree_size"][8]["root_hash"]
    )
    assert checkpoint.extensions == ()
    assert note.render() == EXAMPLE["checkpoint_signed_utf8"]


def test_witness_cosignature_verifies_with_timestamp():
    """The type 0x04 cosignature verifies with the witness vkey and carries time 1700000000."""
    note = SignedNote.parse(EXAMPLE["checkpoint_signed_utf8"])
    name, key = vkey(EXAMPLE["witness_vkey"], COSIGNATURE_V1)
    assert key == SigningKey(WITNESS_SEED).public_key
    assert note.verify_cosignature(name, key) == TIMESTAMP
    cosig = note.signatures[-1]
    assert cosig.signature[:8] == struct.pack(">Q", TIMESTAMP)
    assert key.verify(EXAMPLE["cosignature_signed_message_utf8"].encode(), cosig.signature[8:])


def test_regenerated_cosignature_is_byte_identical():
    """SignedNote.cosign with the TEST2 seed reproduces the published note byte for byte."""
    note = log_note().cosign("witness.example/w1", SigningKey(WITNESS_SEED), TIMESTAMP)
    assert note.render() == EXAMPLE["checkpoint_signed_utf8"]


def test_cosignature_is_not_a_plain_signature():
    """A witness cosignature does not pass as a log signature, nor the reverse."""
    note = SignedNote.parse(EXAMPLE["checkpoint_signed_utf8"])
    wname, wkey = vkey(EXAMPLE["witness_vkey"], COSIGNATURE_V1)
    lname, lkey = vkey(EXAMPLE["log_vkey"])
    with pytest.raises(VerificationError, match="no signature"):
        note.verify(wname, wkey)
    with pytest.raises(VerificationError, match="no cosignature"):
        note.verify_cosignature(lname, lkey)


def test_tampered_cosignature_timestamp_fails():
    """Changing the cosignature's timestamp breaks it."""
    note = SignedNote.parse(EXAMPLE["checkpoint_signed_utf8"])
    cosig = note.signatures[-1]
    moved = NoteSignature(
        cosig.name, cosig.key_id, struct.pack(">Q", TIMESTAMP + 1) + cosig.signature[8:]
    )
    tampered = SignedNote(note.text, (*note.signatures[:-1], moved))
    with pytest.raises(VerificationError, match="does not verify"):
        tampered.verify_cosignature(*vkey(EXAMPLE["witness_vkey"], COSIGNATURE_V1))


def test_cosign_round_trip_with_another_time():
    """A cosignature made now verifies and reports its own timestamp."""
    witness = SigningKey(bytes(range(32)))
    note = log_note().cosign("w2", witness, 1_234_567_890)
    reparsed = SignedNote.parse(note.render())
    assert reparsed.verify_cosignature("w2", witness.public_key) == 1_234_567_890
    reparsed.verify(*vkey(EXAMPLE["log_vkey"]))


# --- checkpoint text --------------------------------------------------------------------------

ROOT_B64 = base64.b64encode(bytes(32)).decode()


def test_checkpoint_extensions_round_trip():
    """Extension lines after the root are kept in order and rendered back."""
    checkpoint = Checkpoint("log.example/a", 42, bytes(32), ("ext one", "ext two"))
    text = checkpoint.body()
    assert text == f"log.example/a\n42\n{ROOT_B64}\next one\next two\n"
    assert Checkpoint.from_text(text) == checkpoint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("origin\n1\n", "needs origin, size and root", id="no-root"),
        pytest.param(
            f"origin\n1\n{ROOT_B64}", "needs origin, size and root", id="no-final-newline"
        ),
        pytest.param(f"origin\n\n1\n{ROOT_B64}\n", "needs origin, size and root", id="blank-line"),
        pytest.param(f"\n1\n{ROOT_B64}\n", "needs origin, size and root", id="empty-origin"),
        pytest.param(
            f"origin\n01\n{ROOT_B64}\n", "not a decimal tree size", id="size-leading-zero"
        ),
        pytest.param(f"origin\n-1\n{ROOT_B64}\n", "not a decimal tree size", id="size-negative"),
        pytest.param(f"origin\n+1\n{ROOT_B64}\n", "not a decimal tree size", id="size-plus"),
        pytest.param(f"origin\n{1 << 63}\n{ROOT_B64}\n", "not a decimal tree size", id="size-2^63"),
        pytest.param("origin\n1\n!!!!\n", "root is not valid base64", id="root-not-base64"),
        pytest.param(
            f"origin\n1\n{base64.b64encode(bytes(31)).decode()}\n",
            "32-byte hash",
            id="root-31-bytes",
        ),
    ],
)
def test_checkpoint_from_text_refuses_malformed(text, message):
    """Checkpoint.from_text raises FormatError on missing lines, bad sizes and bad roots."""
    with pytest.raises(FormatError, match=message):
        Checkpoint.from_text(text)


def test_open_with_another_log_key_fails():
    """Checkpoint.open refuses a checkpoint the given log key did not sign."""
    other = SigningKey(bytes(range(32))).public_key.vkey("example.com/agent-ledger/test")
    with pytest.raises(VerificationError):
        Checkpoint.open(EXAMPLE["checkpoint_signed_utf8"], other)


def test_open_refuses_origin_that_is_not_the_key_name():
    """A checkpoint signed by the log key under its name but naming another origin is refused."""
    key = SigningKey(LOG_SEED)
    text = Checkpoint("someone.else/log", 1, bytes(32)).body()
    sig = NoteSignature(
        "log.example", key_id("log.example", key.public_key.raw), key.sign(text.encode())
    )
    note = SignedNote(text, (sig,)).render()
    with pytest.raises(VerificationError, match="is not log"):
        Checkpoint.open(note, key.public_key.vkey("log.example"))


# --- signed-note syntax -------------------------------------------------------------------

GOOD_SIG = "— name " + base64.b64encode(b"\x00" * 68).decode()


@pytest.mark.parametrize(
    ("note", "message"),
    [
        pytest.param("text\n" + GOOD_SIG + "\n", "no blank line", id="no-blank-line"),
        pytest.param("text\n\n" + GOOD_SIG, "no blank line", id="no-final-newline"),
        pytest.param("text\n\n", "no signatures", id="no-signatures"),
        pytest.param("te\x07xt\n\n" + GOOD_SIG + "\n", "control characters", id="control-char"),
        pytest.param("text\n\n- name AAAA\n", "must start with", id="ascii-dash"),
        pytest.param("text\n\n— name !!!!\n", "not valid base64", id="bad-base64"),
        pytest.param("text\n\n— name AAAA\n", "too short", id="too-short"),
        pytest.param(GOOD_SIG.replace("— name", "text\n\n— ") + "\n", "too short", id="no-name"),
        pytest.param(
            "x" * (1 << 20) + "\n\n" + GOOD_SIG + "\n", "larger than 1 MiB", id="too-large"
        ),
    ],
)
def test_signed_note_parse_refuses_malformed(note, message):
    """SignedNote.parse raises FormatError on notes that are not C2SP signed notes."""
    with pytest.raises(FormatError, match=message):
        SignedNote.parse(note)
