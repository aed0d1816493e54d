"""The sealed form of a decision: what the gate judged can be read back from the entry exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.canonical import canonicalize
from sealog.content import content_hash
from sealog.errors import UsageError
from sealog.gate._record import (
    JUDGED,
    Sealable,
    decision_digest,
    decision_fields,
    judged_fields,
    money,
    proposed_from,
)
from sealog.ledger.entry import MAX_ARGS_CHARS, format_time
from sealog.policy import Decision, ProposedAction, SessionState, compile_policy, load_policy

AT = datetime(2026, 11, 21, 9, 0, 0, 123456, tzinfo=UTC)
ALLOW = Decision("allow", (), 0, None, "allowed", None, "sha256:" + "0" * 64)
POLICY = compile_policy(load_policy("actions: {deny: [wipe]}\nbudget: {max_cost_per_action: 1}"))
_EMPTY = SessionState.empty()


def entry_fields(action: ProposedAction, decision: Decision = ALLOW, **options) -> dict:
    """The decision entry's fields as the ledger would hold them (its time included)."""
    fields = decision_fields(
        Sealable.of(action), decision, session_id="s1", policy_version=1, **options
    )
    return {**fields, "time": format_time(action.at)}


def same_json(a: object, b: object) -> bool:
    """Equal as JSON values: ints stay ints, floats equal bit for bit (so -0.0 is not 0)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, float) and isinstance(b, float) and a.hex() == b.hex()
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(same_json, a, b))
    return type(a) is type(b) and a == b


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**53, max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
NAMES = st.text(min_size=1, max_size=24)
ACTIONS = st.builds(
    ProposedAction,
    action=NAMES,
    at=st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001
    tool=st.none() | NAMES,
    target=st.none() | st.text(max_size=40),
    args=st.dictionaries(st.text(max_size=8), JSON, max_size=5),
    paths=st.lists(NAMES, max_size=3).map(tuple),
    cost=st.decimals(min_value=0, max_value=10**9, allow_nan=False, allow_infinity=False),
    sources=st.lists(NAMES, max_size=3).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(action=ACTIONS)
def test_an_entry_gives_back_the_action_it_judged(action):
    """proposed_from(decision_fields(...)) is the ProposedAction, its args type for type."""
    fields = entry_fields(action)
    back = proposed_from(fields)
    assert back == action
    assert same_json(dict(back.args), dict(action.args))
    assert fields["args_digest"] == content_hash(fields["args"].encode("utf-8"))


@settings(max_examples=50, deadline=None)
@given(action=ACTIONS)
def test_a_judged_action_reads_back_with_its_decision(action):
    """The judged fields of a real decision survive with the action: outcome, rule, digest."""
    decision = POLICY.evaluate(action, _EMPTY, now=action.at)
    fields = entry_fields(action, decision)
    assert proposed_from(fields) == action
    assert {k: fields.get(k) for k in JUDGED} == {k: judged_fields(decision).get(k) for k in JUDGED}


@pytest.mark.parametrize(
    ("args", "text", "basis"),
    [
        ({"b": 1, "a": [1.5, "x"]}, '{"a":[1.5,"x"],"b":1}', "canonical"),
        ({"n": 2**60}, '{"n":1152921504606846976}', "raw"),
        ({"f": 1.0}, '{"f":1.0}', "raw"),
        ({"z": -0.0}, '{"z":-0.0}', "raw"),
        ({"big": 1e16}, '{"big":1e+16}', "raw"),
        ({"é": "ü"}, '{"é":"ü"}', "canonical"),
    ],
)
def test_arguments_are_sealed_as_text_that_parses_back_exactly(args, text, basis):
    """RFC 8785 where it keeps every value; raw text where it would turn a float into an int."""
    sealed = Sealable.of(ProposedAction("a", at=AT, args=args))
    assert (sealed.args_text, sealed.args_basis) == (text, basis)
    assert same_json(json.loads(sealed.args_text), args)


@pytest.mark.parametrize("args", [{"s": {1}}, {"n": float("inf")}, {2: 1}, {"s": "\udc00"}])
def test_arguments_that_are_not_json_are_a_usage_error(args):
    """A set, an infinity, a non-string key or a lone surrogate cannot be sealed."""
    with pytest.raises(UsageError, match="must be JSON"):
        Sealable.of(ProposedAction("a", at=AT, args=args))


def test_digest_only_arguments_read_back_empty():
    """With seal_args False, or arguments too long, only their digest is sealed."""
    small = ProposedAction("a", at=AT, args={"iban": "DE00"})
    large = ProposedAction("a", at=AT, args={"blob": "x" * MAX_ARGS_CHARS})
    for fields in (entry_fields(small, seal_args=False), entry_fields(large)):
        assert "args" not in fields
        assert proposed_from(fields).args == {}
    assert entry_fields(small, seal_args=False)["args_digest"] == content_hash(b'{"iban":"DE00"}')


def test_optional_fields_are_left_out_not_nulled():
    """Absent tool, target, paths, sources, run and parent are absent keys, never null."""
    fields = entry_fields(ProposedAction("a", at=AT))
    assert None not in fields.values()
    assert not {"tool", "target", "paths", "sources", "run_id", "parent_session"} & fields.keys()
    named = entry_fields(
        ProposedAction("a", at=AT), parent_session="p", run_id="r", tool_call_id="t"
    )
    assert (named["parent_session"], named["run_id"], named["tool_call_id"]) == ("p", "r", "t")


def test_the_decision_digest_covers_every_verdict():
    """decision_digest is SHA-256 of the canonical decision, passed verdicts included."""
    decision = POLICY.evaluate(ProposedAction("a", at=AT), _EMPTY, now=AT)
    assert decision_digest(decision) == content_hash(canonicalize(decision.to_dict()))
    assert judged_fields(decision)["evaluated"] == len(decision.verdicts) == 2
    assert judged_fields(decision)["failed"] == []
    denied = POLICY.evaluate(ProposedAction("wipe", at=AT), _EMPTY, now=AT)
    assert judged_fields(denied)["blocking_rule"] == "actions.denied"
    assert judged_fields(denied)["failed"][0]["rule_id"] == "actions.denied"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"args": "[1, 2]"}, "not a JSON object"),
        ({"paths": "/etc/passwd"}, "list of strings"),
    ],
)
def test_a_malformed_entry_is_a_value_error(fields, problem):
    """Sealed args that are not an object, or paths that are not a list, are refused."""
    good = entry_fields(ProposedAction("a", at=AT))
    with pytest.raises(ValueError, match=problem):
        proposed_from({**good, **fields})


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0", "0"),
        ("0E-10", "0.0000000000"),
        ("0.000", "0.000"),
        ("1.50", "1.50"),
        ("10", "10"),
        ("100.000", "100.000"),
        ("1E+2", "100"),
        ("1E-12", "0.000000000001"),
        ("12345678901234567890.5", "12345678901234567890.5"),
    ],
)
def test_money_is_plain_decimal_text(value, text):
    """money renders without exponent, keeping the digits as given (trailing zeros too)."""
    assert money(Decimal(value)) == text


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, allow_nan=False, allow_infinity=False))
def test_money_keeps_the_amount(value):
    """money's text has no exponent and reads back to the same amount."""
    text = money(value)
    assert "E" not in text.upper()
    assert Decimal(text) == value
