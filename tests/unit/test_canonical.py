"""Canonical JSON: RFC 8785 vectors, the strict entry profile, and round-trip properties."""

from __future__ import annotations

import json
import struct
from decimal import Decimal
from enum import IntEnum
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.canonical import MAX_SAFE_INTEGER, canonicalize, parse_canonical
from sealog.errors import CanonicalError

VECTORS = json.loads(
    (Path(__file__).parents[1] / "assets" / "vectors" / "vectors.json").read_text("utf-8")
)
JCS = VECTORS["rfc8785_jcs"]
CASES = JCS["cases"]
NUMBERS = JCS["appendix_b_numbers"]["cases"]


def has_float(value) -> bool:
    """True if a parsed JSON value holds a float anywhere."""
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(has_float(v) for v in value)
    return False


def nested(depth: int, *, objects: bool = False):
    """A value nested ``depth`` levels deep (lists, or single-key objects)."""
    value: object = 0
    for _ in range(depth):
        value = {"a": value} if objects else [value]
    return value


# --- RFC 8785 vectors -------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_jcs_vectors(case):
    """Each cyberphone/RFC 8785 input canonicalizes (floats allowed) to the expected bytes."""
    expected = bytes.fromhex(case["expected_output_hex"])
    assert expected.decode("utf-8") == case["expected_output_utf8"]
    assert canonicalize(json.loads(case["input_utf8"]), allow_floats=True) == expected


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_jcs_expected_output_parses_only_without_floats(case):
    """parse_canonical accepts each expected output holding no float and refuses one with floats."""
    expected = bytes.fromhex(case["expected_output_hex"])
    parsed = json.loads(expected)
    if has_float(parsed):
        with pytest.raises(CanonicalError, match="non-integer number"):
            parse_canonical(expected)
    else:
        assert parse_canonical(expected) == parsed


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if has_float(json.loads(c["input_utf8"]))],
    ids=lambda c: c["name"],
)
def test_jcs_vectors_with_floats_need_allow_floats(case):
    """Without allow_floats, canonicalize refuses the inputs that hold floats."""
    with pytest.raises(CanonicalError, match="is not allowed: write fractions as strings"):
        canonicalize(json.loads(case["input_utf8"]))


@pytest.mark.parametrize("case", NUMBERS, ids=[c["ieee754_hex"] for c in NUMBERS])
def test_appendix_b_numbers(case):
    """Each RFC 8785 Appendix B IEEE 754 value serializes to the expected JCS number."""
    (value,) = struct.unpack(">d", bytes.fromhex(case["ieee754_hex"]))
    assert canonicalize(value, allow_floats=True) == case["expected"].encode("ascii")
    assert canonicalize([value], allow_floats=True) == f"[{case['expected']}]".encode("ascii")


def test_utf16_key_order(vectors):
    """Keys sort by UTF-16 code units (U+10000 before U+FFFF), via the reference encoder."""
    case = vectors["rfc8785_jcs"]["utf16_key_order"]
    expected = bytes.fromhex(case["expected_output_hex"])
    value = {"\uffff": 2, "\U00010000": 1}
    assert [f"U+{ord(k):04X}" for k in value] == case["input_keys_codepoints"]
    assert canonicalize(value) == expected
    assert list(parse_canonical(expected)) == ["\U00010000", "\uffff"]
    # Python's own code-point order is the wrong one, so parse_canonical must refuse it.
    with pytest.raises(CanonicalError, match="not in canonical"):
        parse_canonical(json.dumps(value, sort_keys=True, ensure_ascii=False).encode())


def test_reference_encoder_only_where_needed(monkeypatch):
    """Non-BMP keys and floats go through rfc8785; other values take the fast encoder."""
    calls = []
    reference = rfc8785.dumps

    def spy(value):
        calls.append(value)
        return reference(value)

    monkeypatch.setattr(rfc8785, "dumps", spy)
    assert canonicalize({"\uffff": 2, "\U00010000": 1, "a": "\U0001f602"}) is not None
    assert canonicalize([0.5], allow_floats=True) == b"[0.5]"
    assert len(calls) == 2
    assert canonicalize({"é": ["\U0001f602", 1, None]}) == '{"é":["\U0001f602",1,null]}'.encode()
    assert len(calls) == 2


def test_jcs_vector_counts(vectors):
    """The vendored JCS vectors hold every case the tests are parametrized over."""
    jcs = vectors["rfc8785_jcs"]
    assert len(jcs["cases"]) == 6
    assert len(jcs["appendix_b_numbers"]["cases"]) == 24


# --- the strict profile: canonicalize ---------------------------------------------------------


def test_safe_integer_bounds_are_accepted():
    """±(2^53-1) are inside the profile, in both directions."""
    assert MAX_SAFE_INTEGER == 2**53 - 1
    for n in (MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER):
        data = canonicalize(n)
        assert data == str(n).encode()
        assert parse_canonical(data) == n


class Color(IntEnum):
    RED = 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(1.5, "float 1.5 is not allowed", id="float"),
        pytest.param(1.0, "float 1.0 is not allowed", id="float-integral"),
        pytest.param({"a": [0.5]}, "float 0.5 is not allowed", id="nested-float"),
        pytest.param(float("nan"), "float nan is not allowed", id="nan"),
        pytest.param(float("inf"), "float inf is not allowed", id="inf"),
        pytest.param(2**53, "integer 9007199254740992 is outside", id="2^53"),
        pytest.param(-(2**53), "integer -9007199254740992 is outside", id="-2^53"),
        pytest.param(10**30, "is outside ±\\(2\\^53-1\\)", id="10^30"),
        pytest.param({1: "a"}, "object key 1 is not a string", id="int-key"),
        pytest.param({None: "a"}, "object key None is not a string", id="none-key"),
        pytest.param({("a",): 1}, "object key \\('a',\\) is not a string", id="tuple-key"),
        pytest.param((1, 2), "type tuple has no canonical JSON form", id="tuple"),
        pytest.param({1, 2}, "type set has no canonical JSON form", id="set"),
        pytest.param(b"abc", "type bytes has no canonical JSON form", id="bytes"),
        pytest.param(object(), "type object has no canonical JSON form", id="object"),
        pytest.param(Decimal("1.5"), "type Decimal has no canonical JSON form", id="decimal"),
        pytest.param(Color.RED, "type Color has no canonical JSON form", id="int-enum"),
        pytest.param({"a": [(1,)]}, "type tuple has no", id="nested-tuple"),
        pytest.param("\ud800", "unpaired surrogate", id="lone-surrogate"),
        pytest.param({"\udc00": 1}, "unpaired surrogate", id="lone-surrogate-key"),
        pytest.param(nested(10_000), "nested too deeply", id="deep-lists"),
        pytest.param(nested(10_000, objects=True), "nested too deeply", id="deep-objects"),
    ],
)
def test_canonicalize_refuses_values_outside_profile(value, message):
    """canonicalize raises CanonicalError, with a specific message, for each value off-profile."""
    with pytest.raises(CanonicalError, match=message):
        canonicalize(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(float("nan"), "nan has no JSON form", id="nan"),
        pytest.param(float("-inf"), "-inf has no JSON form", id="-inf"),
        pytest.param(2**53, "is outside", id="2^53"),
        pytest.param(["\ud800", 1.5], "value cannot be canonicalized", id="surrogate-reference"),
        pytest.param([(1.5,)], "type tuple has no", id="tuple"),
    ],
)
def test_allow_floats_still_refuses_non_json(value, message):
    """allow_floats admits finite floats only: NaN, infinities and huge ints are still refused."""
    with pytest.raises(CanonicalError, match=message):
        canonicalize(value, allow_floats=True)


def test_deep_but_sane_nesting_is_fine():
    """A value nested 100 levels canonicalizes and parses back."""
    value = nested(100, objects=True)
    assert parse_canonical(canonicalize(value)) == value


def test_bool_is_not_an_int():
    """true and false stay booleans; they are never written as 1 or 0."""
    assert canonicalize([True, False, None, 1, 0]) == b"[true,false,null,1,0]"


# --- the strict profile: parse_canonical ------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b'"\xff"', "not valid UTF-8 at byte 1", id="non-utf8"),
        pytest.param(b'"\xed\xa0\x80"', "not valid UTF-8", id="utf8-encoded-surrogate"),
        pytest.param(
            b"\xef\xbb\xbf{}", "not valid JSON: starts with a UTF-8 byte-order mark", id="bom"
        ),
        pytest.param(b"", "not valid JSON: Expecting value at byte 0", id="empty"),
        pytest.param(b'{"a":1', "not valid JSON", id="truncated"),
        pytest.param(b"{'a':1}", "not valid JSON", id="single-quotes"),
        pytest.param(b'{"a": 1}', "not in canonical", id="space-after-colon"),
        pytest.param(b' {"a":1}', "not in canonical", id="leading-space"),
        pytest.param(b'{"a":1}\n', "not in canonical", id="trailing-newline"),
        pytest.param(b"[1, 2]", "not in canonical", id="space-after-comma"),
        pytest.param(b'{"a":1,"a":1}', "not in canonical", id="duplicate-key"),
        pytest.param(b'{"b":1,"a":2}', "not in canonical", id="key-order"),
        pytest.param(b'"\\u00e9"', "not in canonical", id="escaped-e-acute"),
        pytest.param(b'"\\u001F"', "not in canonical", id="uppercase-escape"),
        pytest.param(b'"\\/"', "not in canonical", id="escaped-slash"),
        pytest.param(b"-0", "not in canonical", id="minus-zero"),
        pytest.param(b"01", "not valid JSON", id="leading-zero"),
        pytest.param(b"1.0", "non-integer number '1.0'", id="1.0"),
        pytest.param(b"1e2", "non-integer number '1e2'", id="exponent"),
        pytest.param(b"[0.5]", "non-integer number '0.5'", id="nested-float"),
        pytest.param(b"NaN", "non-integer number 'NaN'", id="nan"),
        pytest.param(b"-Infinity", "non-integer number '-Infinity'", id="-infinity"),
        pytest.param(b"9007199254740992", "integer 9007199254740992 is outside", id="2^53"),
        pytest.param(b"-9007199254740992", "integer -9007199254740992 is outside", id="-2^53"),
        pytest.param(b'{"n":[100000000000000000000]}', "is outside", id="nested-huge-int"),
        pytest.param(b'"\\ud800"', "not valid Unicode", id="escaped-lone-surrogate"),
        pytest.param(b'["\\udc00","\xf0\x90\x80\x80"]', "unpaired surrogate", id="surrogate-4byte"),
        pytest.param(b"[" * 10_000 + b"]" * 10_000, "nested too deeply", id="deep-lists"),
        pytest.param(b'{"a":' * 10_000 + b"0" + b"}" * 10_000, "nested too deeply", id="deep-obj"),
    ],
)
def test_parse_canonical_refuses_non_canonical_bytes(data, message):
    """parse_canonical raises CanonicalError, with a specific message, for each bad input."""
    with pytest.raises(CanonicalError, match=message):
        parse_canonical(data)


@pytest.mark.parametrize(
    "data",
    [
        b"{}",
        b"[]",
        b"0",
        b"-1",
        b'""',
        b'"\\u001f"',
        b'"\\n\\"\\\\"',
        '"é€😂"'.encode(),
        b'{"":1,"a":[true,false,null]}',
    ],
    ids=repr,
)
def test_parse_canonical_accepts_canonical_bytes(data):
    """parse_canonical accepts canonical bytes and re-encodes them identically."""
    assert canonicalize(parse_canonical(data)) == data


# --- properties ---------------------------------------------------------------------------

KEY_CHARS = st.sampled_from(["a", "B", "é", "\uffff", "\U00010000", "\U0001f602", "\x00", '"'])
TEXT = st.text(KEY_CHARS, max_size=4) | st.text(max_size=8)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.sampled_from([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0])
    | TEXT,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(TEXT, children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_canonicalize_then_parse_is_identity(value):
    """For any JSON value without floats, parse_canonical(canonicalize(v)) == v."""
    data = canonicalize(value)
    assert parse_canonical(data) == value
    assert canonicalize(parse_canonical(data)) == data


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_canonicalize_equals_reference_implementation(value):
    """For any JSON value without floats, canonicalize equals rfc8785.dumps byte for byte."""
    assert canonicalize(value) == rfc8785.dumps(value)


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_match_reference_when_allowed(value):
    """With allow_floats, every finite float serializes exactly as rfc8785 does."""
    assert canonicalize({"x": value}, allow_floats=True) == rfc8785.dumps({"x": value})
