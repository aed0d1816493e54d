"""Signed entries: the canonical, author-signed leaves of the log (spec §4)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sealog.canonical import canonicalize
from sealog.crypto import SigningKey, entry_signing_prefix
from sealog.errors import EntryRejected
from sealog.ledger._merkle import leaf_hash
from sealog.ledger.entry import (
    KNOWN_KINDS,
    MAX_ENTRY_BYTES,
    SignedEntry,
    check_schema,
    format_time,
    parse_time,
    sign_entry,
)

AUTHOR = SigningKey(bytes(range(32)))
OTHER = SigningKey(bytes(range(1, 33)))
TIME = "2026-01-02T03:04:05.678901Z"
PREV = "ab" * 32
SIG = bytes(64)
HASH = "sha256:" + "0" * 64


def fields(**changes):
    """A valid seq-0 action entry by AUTHOR, with ``changes`` applied."""
    base = {
        "v": 1,
        "kind": "action",
        "author": AUTHOR.address,
        "seq": 0,
        "prev": None,
        "time": TIME,
        "action": "tool_call",
    }
    base.update(changes)
    return base


def without(name):
    """A valid entry lacking field ``name``."""
    out = fields()
    del out[name]
    return out


def register(**changes):
    """A valid register entry for OTHER's key."""
    base = {
        "kind": "register",
        "subject": OTHER.address,
        "public_key": OTHER.public_key.b64,
        "role": "agent",
    }
    return fields(**{**base, **changes})


@contextmanager
def rejected(code):
    """Expect EntryRejected with this ``code``."""
    with pytest.raises(EntryRejected) as info:
        yield
    assert info.value.code == code, info.value.message


# --- round trip and identity ------------------------------------------------------------------


def test_sign_then_parse_round_trip():
    """sign_entry then SignedEntry.parse gives back the same canonical bytes and fields."""
    entry = sign_entry(AUTHOR, fields())
    parsed = SignedEntry.parse(entry.data, entry.signature)
    assert parsed.data == entry.data == canonicalize(fields())
    assert dict(parsed.fields) == fields()
    assert parsed.leaf == entry.leaf
    assert (parsed.kind, parsed.author, parsed.seq, parsed.prev, parsed.time) == (
        "action",
        AUTHOR.address,
        0,
        None,
        TIME,
    )
    assert parsed.verify(AUTHOR.public_key)


def test_entry_id_is_leaf_hash_of_signature_then_data():
    """The id is the hex RFC 9162 leaf hash of S ‖ E, and leaf_bytes is S ‖ E."""
    entry = sign_entry(AUTHOR, fields(seq=3, prev=PREV))
    assert entry.leaf_bytes == entry.signature + entry.data
    assert entry.leaf == leaf_hash(entry.signature + entry.data)
    assert entry.id == entry.leaf.hex()
    assert entry.prev == PREV
    assert entry.seq == 3


def test_signature_is_over_kind_prefix_and_data():
    """The author signs 'sealog/entry/v1/<kind>\\n' ‖ E with their key."""
    entry = sign_entry(AUTHOR, fields())
    assert entry.signed_message() == b"sealog/entry/v1/action\n" + entry.data
    assert entry_signing_prefix("register") == b"sealog/entry/v1/register\n"
    assert AUTHOR.public_key.verify(entry.signed_message(), entry.signature)


def test_verify_needs_the_author_key():
    """verify is False for another key, and for the right signature under another author."""
    entry = sign_entry(AUTHOR, fields())
    assert not entry.verify(OTHER.public_key)
    impostor = sign_entry(AUTHOR, fields(author=OTHER.address))
    assert not impostor.verify(AUTHOR.public_key)
    assert not impostor.verify(OTHER.public_key)


def test_signature_is_domain_separated_by_kind():
    """A signature made under kind A's prefix does not verify once the kind is changed."""
    entry = sign_entry(AUTHOR, fields(kind="action"))
    relabelled = canonicalize(fields(kind="note"))
    assert not SignedEntry.parse(relabelled, entry.signature).verify(AUTHOR.public_key)
    # Nor does a bare signature over E, without any domain line.
    bare = SignedEntry.parse(entry.data, AUTHOR.sign(entry.data))
    assert not bare.verify(AUTHOR.public_key)
    # The same E signed under another kind's prefix does not verify either.
    wrong_domain = AUTHOR.sign(entry_signing_prefix("register") + entry.data)
    assert not SignedEntry.parse(entry.data, wrong_domain).verify(AUTHOR.public_key)


def test_tampered_data_does_not_verify():
    """Editing E after signing (still canonical) breaks the signature."""
    entry = sign_entry(AUTHOR, fields())
    edited = canonicalize(fields(action="tool_calm"))
    assert not SignedEntry.parse(edited, entry.signature).verify(AUTHOR.public_key)


def test_unknown_extra_fields_are_kept():
    """Parsing accepts any kind and extra fields; they stay in the signed bytes."""
    entry = sign_entry(AUTHOR, fields(kind="future_kind", extra={"x": [1, "two"]}))
    assert entry.fields["extra"] == {"x": [1, "two"]}
    assert entry.verify(AUTHOR.public_key)


# --- format rejections (SignedEntry.parse / sign_entry) -------------------------------------


def test_rejects_entry_over_64_kib():
    """Canonical bytes beyond 64 KiB are refused with code too-large, signed or not."""
    big = fields(note="x" * MAX_ENTRY_BYTES)
    with rejected("too-large"):
        sign_entry(AUTHOR, big)
    with rejected("too-large"):
        SignedEntry.parse(canonicalize(big), SIG)


def test_accepts_entry_of_exactly_64_kib():
    """An entry of exactly MAX_ENTRY_BYTES canonical bytes is accepted."""
    overhead = len(canonicalize(fields(note="")))
    entry = sign_entry(AUTHOR, fields(note="x" * (MAX_ENTRY_BYTES - overhead)))
    assert len(entry.data) == MAX_ENTRY_BYTES


@pytest.mark.parametrize("length", [0, 63, 65, 128])
def test_rejects_signature_of_wrong_length(length):
    """A signature that is not 64 bytes is refused with code bad-signature."""
    with rejected("bad-signature"):
        SignedEntry.parse(canonicalize(fields()), bytes(length))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(canonicalize(fields()).replace(b",", b", "), id="whitespace"),
        pytest.param(canonicalize(fields()).replace(b'"v":1', b'"v":1.0'), id="float"),
        pytest.param(b'{"v":1,' + canonicalize(fields())[1:], id="duplicate-key"),
        pytest.param(canonicalize(fields())[:-1], id="truncated"),
        pytest.param(b"\xff", id="not-utf8"),
    ],
)
def test_rejects_non_canonical_bytes(data):
    """Bytes that are not canonical JSON are refused with code not-canonical."""
    with rejected("not-canonical"):
        SignedEntry.parse(data, SIG)


def test_sign_entry_rejects_values_outside_the_profile():
    """sign_entry refuses fields that cannot be canonical (a float) with code not-canonical."""
    with rejected("not-canonical"):
        sign_entry(AUTHOR, fields(cost=0.5))


@pytest.mark.parametrize("data", [b"[]", b'"entry"', b"1", b"null"])
def test_rejects_non_object(data):
    """An entry must be a JSON object."""
    with rejected("bad-field"):
        SignedEntry.parse(data, SIG)


@pytest.mark.parametrize("name", ["v", "kind", "author", "seq", "prev", "time"])
def test_rejects_missing_common_field(name):
    """Each of the six common fields is required (code bad-field)."""
    with pytest.raises(EntryRejected, match=f"entry lacks {name}") as info:
        SignedEntry.parse(canonicalize(without(name)), SIG)
    assert info.value.code == "bad-field"


@pytest.mark.parametrize("version", [0, 2, "1", None, True], ids=repr)
def test_rejects_bad_version(version):
    """Only format version 1 (the integer) is accepted (code bad-version)."""
    with rejected("bad-version"):
        SignedEntry.parse(canonicalize(fields(v=version)), SIG)


@pytest.mark.parametrize(
    "kind",
    ["", "Action", "1action", "act-ion", "a" * 33, "actión", "action\n", 5, None],
    ids=repr,
)
def test_rejects_bad_kind(kind):
    """kind is lowercase letters, digits and '_', starting with a letter, at most 32 chars."""
    with rejected("bad-field"):
        SignedEntry.parse(canonicalize(fields(kind=kind)), SIG)
    with rejected("bad-field"):
        sign_entry(AUTHOR, fields(kind=kind))


def test_accepts_longest_kind():
    """A 32-character kind is accepted."""
    assert sign_entry(AUTHOR, fields(kind="k" * 32)).kind == "k" * 32


@pytest.mark.parametrize(
    "author",
    [
        AUTHOR.address.upper(),
        AUTHOR.address[:-1],
        AUTHOR.address + "0",
        AUTHOR.address + "\n",
        "sl2" + "0" * 40,
        7,
        None,
    ],
    ids=["upper", "short", "long", "newline", "prefix", "int", "null"],
)
def test_rejects_bad_author(author):
    """author must be a sealog address (code bad-field)."""
    with rejected("bad-field"):
        SignedEntry.parse(canonicalize(fields(author=author)), SIG)


@pytest.mark.parametrize("seq", [-1, "1", None, True], ids=repr)
def test_rejects_bad_seq(seq):
    """seq must be a non-negative integer (code bad-field)."""
    with rejected("bad-field"):
        SignedEntry.parse(canonicalize(fields(seq=seq, prev=PREV)), SIG)


def test_rejects_seq_zero_with_prev():
    """The first entry of an author (seq 0) has prev null (code bad-chain)."""
    with rejected("bad-chain"):
        SignedEntry.parse(canonicalize(fields(seq=0, prev=PREV)), SIG)


@pytest.mark.parametrize("prev", [None, "AB" * 32, "ab" * 31, PREV + "\n", 5], ids=repr)
def test_rejects_later_seq_without_valid_prev(prev):
    """seq > 0 needs prev, the 64-hex id of the previous entry (code bad-chain)."""
    with rejected("bad-chain"):
        SignedEntry.parse(canonicalize(fields(seq=1, prev=prev)), SIG)


@pytest.mark.parametrize(
    "time",
    [
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05.678Z",
        "2026-01-02T03:04:05.678901+00:00",
        "2026-01-02 03:04:05.678901Z",
        "2026-13-02T03:04:05.678901Z",
        "2026-02-30T03:04:05.678901Z",
        TIME + "\n",
        TIME.replace("2", "\u0662"),
        "",
        1_767_323_045,
        None,
    ],
    ids=repr,
)
def test_rejects_bad_time(time):
    """time must be RFC 3339 UTC with microseconds and a 'Z', and a real date (code bad-field)."""
    with rejected("bad-field"):
        SignedEntry.parse(canonicalize(fields(time=time)), SIG)


# --- time helpers -------------------------------------------------------------------------


def test_format_time_is_utc_with_microseconds():
    """format_time renders any aware time in UTC with six fraction digits and 'Z'."""
    moment = datetime(2026, 1, 2, 5, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(moment) == TIME
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000Z"
    assert parse_time(TIME) == moment


def test_format_time_refuses_naive_datetime():
    """A naive datetime is refused: entry times are always UTC-aware."""
    with pytest.raises(ValueError, match="timezone-aware"):
        format_time(datetime(2026, 1, 2))  # noqa: DTZ001 - the naive value is the point


# --- kind schemas (check_schema) ------------------------------------------------------------


def test_known_kinds():
    """The ledger knows its ten kinds: reports, responses, approvals, approvers, traces too."""
    kinds = {"action", "approval", "approver", "decision", "policy", "register", "report",
             "response", "session", "trace"}  # fmt: skip
    assert frozenset(kinds) == KNOWN_KINDS


def test_check_schema_accepts_full_action():
    """An action with every optional field well typed passes check_schema."""
    entry = fields(
        target="https://example.com/x",
        run_id="r1",
        session_id="s1",
        tool_call_id="t1",
        decision="allow",
        policy_version="p1",
        content_hash=HASH,
        metadata={"k": [1, 2]},
        cost="0.0042",
        sources=[HASH, HASH],
    )
    assert check_schema(entry) is None
    assert check_schema(fields()) is None


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"action": None}, id="action-missing"),
        pytest.param({"action": ""}, id="action-empty"),
        pytest.param({"action": "a" * 257}, id="action-too-long"),
        pytest.param({"action": 5}, id="action-int"),
        pytest.param({"target": "t" * 2049}, id="target-too-long"),
        pytest.param({"run_id": 1}, id="run-id-int"),
        pytest.param({"decision": ""}, id="decision-empty"),
        pytest.param({"content_hash": "sha256:" + "A" * 64}, id="content-hash-upper"),
        pytest.param({"content_hash": "md5:00"}, id="content-hash-md5"),
        pytest.param({"metadata": [1]}, id="metadata-list"),
        pytest.param({"cost": 5}, id="cost-int"),
        pytest.param({"cost": "1e3"}, id="cost-exponent"),
        pytest.param({"cost": "01.5"}, id="cost-leading-zero"),
        pytest.param({"cost": "0.1234567890123456789"}, id="cost-19-decimals"),
        pytest.param({"cost": "0.5\n"}, id="cost-newline"),
        pytest.param({"content_hash": HASH + "\n"}, id="content-hash-newline"),
        pytest.param({"sources": HASH}, id="sources-string"),
        pytest.param({"sources": [HASH, "x"]}, id="sources-bad-item"),
    ],
)
def test_check_schema_rejects_ill_typed_action(changes):
    """Ill-typed action fields are refused with code bad-field."""
    with rejected("bad-field"):
        check_schema(fields(**changes))


def test_check_schema_accepts_register():
    """A register entry whose subject is its public key's address passes, with or without name."""
    assert check_schema(register()) is None
    assert check_schema(register(role="owner", name="Alice")) is None


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"subject": AUTHOR.address}, id="subject-not-the-key"),
        pytest.param({"subject": "alice"}, id="subject-not-address"),
        pytest.param({"subject": OTHER.address + "\n"}, id="subject-newline"),
        pytest.param({"public_key": None}, id="key-missing"),
        pytest.param({"public_key": "!!!"}, id="key-not-base64"),
        pytest.param({"public_key": "AAAA"}, id="key-too-short"),
        pytest.param({"role": "admin"}, id="role-unknown"),
        pytest.param({"role": None}, id="role-missing"),
        pytest.param({"name": "n" * 129}, id="name-too-long"),
    ],
)
def test_check_schema_rejects_bad_register(changes):
    """Bad register fields are refused with code bad-field."""
    with rejected("bad-field"):
        check_schema(register(**changes))


def test_check_schema_rejects_unknown_kind():
    """An entry of a kind the ledger does not know is refused with code unknown-kind."""
    with pytest.raises(EntryRejected, match="kind 'note'") as info:
        check_schema(fields(kind="note"))
    assert info.value.code == "unknown-kind"
