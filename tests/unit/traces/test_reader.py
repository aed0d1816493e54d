"""Reading trace files: JSONL, arrays and documents; what is not a trace is refused clearly."""

from __future__ import annotations

import json

import pytest

from sealog.errors import InputError
from sealog.traces.adapters._base import Record
from sealog.traces.reader import Malformed, records


def test_jsonl_lines_are_records_and_malformed_lines_are_reported_in_place(tmp_path):
    """A bad line is reported with its number; the lines after it are still read."""
    path = tmp_path / "t.jsonl"
    path.write_text('{"a": 1}\n\n{"b": \n{"c": 3}\n')
    got = list(records(path))
    assert got[0] == Record(1, {"a": 1})
    assert isinstance(got[1], Malformed)
    assert got[1].line == 3
    assert got[2] == Record(4, {"c": 3})


def test_a_json_array_streams_its_elements(tmp_path):
    """Each element of a top-level array is a record numbered by its position."""
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"i": i} for i in range(5)], indent=2))
    assert [r.value["i"] for r in records(path)] == [0, 1, 2, 3, 4]
    assert [r.line for r in records(path)] == [1, 2, 3, 4, 5]


def test_a_pretty_json_document_is_one_record(tmp_path):
    """A document spread over lines is one record, the whole object."""
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"resourceSpans": [], "n": 1.5}, indent=2))
    (only,) = records(path)
    assert only.value == {"resourceSpans": [], "n": 1.5}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"\x00\x01\x02binary", "binary data"),
        (b"\xff\xfe\xfa\xfb" * 10, "not UTF-8"),
        (b"hello world\n", "does not start with JSON"),
    ],
)
def test_what_is_not_a_trace_is_refused_with_the_reason(tmp_path, content, reason):
    """Empty files, binary data and text that is no JSON are InputErrors naming the file."""
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError, match=reason):
        list(records(path))


def test_a_directory_or_a_missing_file_is_refused(tmp_path):
    """A directory or a path that does not exist is an InputError, not a traceback."""
    with pytest.raises(InputError, match="directory"):
        list(records(tmp_path))
    with pytest.raises(InputError, match="no such file"):
        list(records(tmp_path / "nope.jsonl"))


def test_a_truncated_json_document_is_refused(tmp_path):
    """A document cut short cannot be read past the cut: InputError."""
    path = tmp_path / "t.json"
    path.write_text('[{"a": 1}, {"b": ')
    with pytest.raises(InputError, match="not valid JSON"):
        list(records(path))


@pytest.mark.parametrize("key", ["events", "data", "spans"])
def test_a_large_document_streams_its_records_array(tmp_path, monkeypatch, key):
    """Past the whole-parse size, the elements of the document's records array stream."""
    monkeypatch.setattr("sealog.traces.reader._WHOLE", 100)
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"run_id": "r", key: [{"i": i} for i in range(50)]}, indent=1))
    assert [r.value["i"] for r in records(path)] == list(range(50))


def test_a_large_document_without_a_records_array_is_refused(tmp_path, monkeypatch):
    """A large document with nothing to stream says to give it as JSONL."""
    monkeypatch.setattr("sealog.traces.reader._WHOLE", 10)
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"run": {"x": list(range(20))}}, indent=1))
    with pytest.raises(InputError, match="give it as JSONL"):
        list(records(path))
