"""Content hashes: sha256 of text, bytes, files and canonical JSON (spec §4.3)."""

from __future__ import annotations

import hashlib

import pytest

from sealog.canonical import canonicalize
from sealog.content import content_hash, hash_file, is_content_hash
from sealog.errors import InputError, UsageError


def sha(data: bytes) -> str:
    """The expected content hash of raw bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_str_is_hashed_as_utf8():
    """A str is hashed as its UTF-8 bytes."""
    assert content_hash("héllo €") == sha("héllo €".encode())
    assert content_hash("") == sha(b"")


def test_bytes_are_hashed_as_is():
    """bytes, bytearray and memoryview hash their bytes unchanged."""
    data = bytes(range(256))
    assert content_hash(data) == sha(data)
    assert content_hash(bytearray(data)) == sha(data)
    assert content_hash(memoryview(data)) == sha(data)


def test_known_value():
    """The hash of b'abc' is the well-known SHA-256 test vector."""
    expected = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert content_hash(b"abc") == expected


def test_path_is_hashed_as_file_bytes(tmp_path):
    """A Path hashes the file's bytes, not its name."""
    path = tmp_path / "doc.txt"
    path.write_bytes(b"file content\n")
    assert content_hash(path) == sha(b"file content\n")
    assert content_hash(path) != content_hash(str(path))


def test_large_file_is_hashed_in_chunks(tmp_path):
    """A file larger than the 1 MiB chunk hashes the same as its bytes in one piece."""
    data = bytes(range(256)) * (5 * 4096 + 3)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert content_hash(path) == hash_file(path) == sha(data)


def test_empty_file(tmp_path):
    """An empty file hashes as the empty string."""
    path = tmp_path / "empty"
    path.touch()
    assert content_hash(path) == sha(b"")


@pytest.mark.parametrize(
    "value",
    [{"b": 1, "a": [True, None, "x"]}, [1, 2, 3], 42, 0, True, False, None, {}, []],
    ids=repr,
)
def test_json_value_is_hashed_as_canonical_bytes(value):
    """A JSON value hashes as SHA-256 of its RFC 8785 canonical bytes."""
    assert content_hash(value) == sha(canonicalize(value))


def test_json_hash_ignores_key_order():
    """The same JSON object hashes the same whatever order its keys were built in."""
    assert content_hash({"a": 1, "b": {"c": 2, "d": 3}}) == content_hash(
        {"b": {"d": 3, "c": 2}, "a": 1}
    )
    assert content_hash({"a": 1, "b": 2}) == sha(b'{"a":1,"b":2}')


def test_floats_are_allowed_in_json_content():
    """A user's JSON content may hold floats; they hash in their RFC 8785 form."""
    assert content_hash({"x": 1.5, "y": 1e30, "z": 2.0}) == sha(b'{"x":1.5,"y":1e+30,"z":2}')
    assert content_hash(0.1) == sha(b"0.1")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param({"x": float("nan")}, "cannot hash this JSON value", id="nan"),
        pytest.param({"n": 2**53}, "cannot hash this JSON value", id="huge-int"),
        pytest.param({1: "a"}, "cannot hash this JSON value", id="int-key"),
        pytest.param([(1, 2)], "cannot hash this JSON value", id="nested-tuple"),
        pytest.param((1, 2), "cannot hash a tuple", id="tuple"),
        pytest.param({1, 2}, "cannot hash a set", id="set"),
        pytest.param(object(), "cannot hash a object", id="object"),
        pytest.param(1 + 2j, "cannot hash a complex", id="complex"),
    ],
)
def test_unsupported_values_are_usage_errors(value, message):
    """Values that are neither text, bytes, a Path nor JSON raise UsageError."""
    with pytest.raises(UsageError, match=message):
        content_hash(value)


def test_missing_file_is_input_error(tmp_path):
    """A Path that cannot be read raises InputError naming the file (not UsageError)."""
    missing = tmp_path / "nope.txt"
    with pytest.raises(InputError, match=r"cannot read .*nope\.txt") as info:
        content_hash(missing)
    assert not isinstance(info.value, UsageError)


def test_directory_is_input_error(tmp_path):
    """A Path to a directory raises InputError."""
    with pytest.raises(InputError, match="cannot read"):
        content_hash(tmp_path)


def test_content_hash_format():
    """Every content hash is 'sha256:' and 64 lowercase hex digits, and is_content_hash says so."""
    for value in ("text", b"bytes", {"json": 1}):
        assert is_content_hash(content_hash(value))


@pytest.mark.parametrize(
    "text",
    [
        "sha256:" + "A" * 64,
        "sha256:" + "0" * 63,
        "sha256:" + "0" * 65,
        "sha512:" + "0" * 64,
        "0" * 64,
        "sha256:" + "0" * 64 + "\n",
        None,
        b"sha256:" + b"0" * 64,
    ],
    ids=repr,
)
def test_is_content_hash_refuses_malformed(text):
    """is_content_hash is False for anything but the exact lowercase form."""
    assert not is_content_hash(text)
