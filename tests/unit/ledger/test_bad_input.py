"""Bad input: each refusal is a specific typed error with a stable code, and stores nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sealog.canonical import canonicalize
from sealog.crypto import SigningKey, entry_signing_prefix
from sealog.errors import EntryRejected, Error, InputError, UsageError
from sealog.ledger import MAX_ENTRY_BYTES, Ledger, SignedEntry
from sealog.ledger._merkle import leaf_hash
from sealog.ledger._sequencer import MAX_BATCH
from sealog.ledger.entry import format_time, sign_entry

OWNER = SigningKey(bytes([0xC0]) * 32)
AGENT = SigningKey(bytes([0xC1]) * 32)
OTHER_AGENT = SigningKey(bytes([0xC2]) * 32)
STRANGER = SigningKey(bytes([0xCF]) * 32)
MOMENT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "disk"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """A ledger with an owner, two agents and a few actions, in memory or on disk."""
    if request.param == "memory":
        made = Ledger.in_memory()
    else:
        made = Ledger.init(tmp_path / ".sealog", origin="sealog.test/bad-input")
    with made:
        made.register_agent(AGENT, OWNER)
        made.register_agent(OTHER_AGENT, OWNER)
        for n in range(4):
            made.append((AGENT, OTHER_AGENT)[n % 2], "warm_up", metadata={"n": n}, time=MOMENT)
        yield made


def snapshot(ledger: Ledger) -> tuple[Any, ...]:
    """Everything a refusal must leave as it was."""
    return (
        ledger.size(),
        ledger.checkpoint(),
        ledger._storage.checkpoints(),
        ledger.registrations(),
        [s.entry.data for s in ledger.entries()],
        ledger.verify().to_dict(),
    )


@contextmanager
def refused(
    ledger: Ledger, code: str, *, error: type[Error] = EntryRejected, match: str | None = None
) -> Iterator[pytest.ExceptionInfo[Error]]:
    """Expect ``error`` with ``code`` (and a message matching ``match``); the ledger unchanged."""
    before = snapshot(ledger)
    assert before[-1]["ok"]
    with pytest.raises(error, match=match) as caught:
        yield caught
    assert caught.value.code == code
    assert snapshot(ledger) == before


def head(ledger: Ledger, key: SigningKey) -> tuple[int, str | None]:
    """The (seq, id) an author's next entry would follow: (-1, None) for none yet."""
    mine = list(ledger.entries(agent=key.address))
    return (mine[-1].entry.seq, mine[-1].entry.id) if mine else (-1, None)


def body(ledger: Ledger, key: SigningKey, **overrides: Any) -> dict[str, Any]:
    """The fields of ``key``'s next action, as sign_next would make them; ``overrides`` win."""
    seq, prev = head(ledger, key)
    fields: dict[str, Any] = {
        "v": 1,
        "kind": "action",
        "author": key.address,
        "seq": seq + 1,
        "prev": prev,
        "time": format_time(MOMENT),
        "action": "hand_made",
        "metadata": {},
    }
    fields.update(overrides)
    return fields


def forge(data: bytes, signer: SigningKey, kind: str = "action") -> SignedEntry:
    """A SignedEntry built around ``data`` without the parser's checks (signature valid)."""
    signature = signer.sign(entry_signing_prefix(kind) + data)
    return SignedEntry(data, signature, json.loads(data), leaf_hash(signature + data))


def test_typed_errors_share_the_input_branch() -> None:
    """EntryRejected is an InputError, which is a sealog Error."""
    assert issubclass(EntryRejected, InputError)
    assert issubclass(InputError, Error)


# -- canonical form ------------------------------------------------------------------------------

NON_CANONICAL = {
    "whitespace": lambda fields: json.dumps(fields, sort_keys=True, indent=1).encode(),
    "unsorted keys": lambda fields: json.dumps(
        dict(reversed(list(fields.items()))), separators=(",", ":")
    ).encode(),
    "trailing newline": lambda fields: canonicalize(fields) + b"\n",
    "escaped letter": lambda fields: canonicalize(fields).replace(b"hand_made", b"\\u0068and_made"),
    "duplicate key": lambda fields: canonicalize(fields)[:-1] + b',"v":1}',
    "float seq": lambda fields: canonicalize(fields).replace(
        b'"seq":%d' % fields["seq"], b'"seq":%d.0' % fields["seq"]
    ),
}


@pytest.mark.parametrize("how", sorted(NON_CANONICAL))
def test_non_canonical_bytes_fail_to_parse(ledger: Ledger, how: str) -> None:
    """SignedEntry.parse of validly signed but non-canonical bytes raises not-canonical."""
    data = NON_CANONICAL[how](body(ledger, AGENT))
    signature = AGENT.sign(entry_signing_prefix("action") + data)
    with refused(ledger, "not-canonical", match="not canonical JSON"):
        SignedEntry.parse(data, signature)


@pytest.mark.parametrize("how", sorted(NON_CANONICAL))
def test_non_canonical_entry_built_by_hand_is_refused(ledger: Ledger, how: str) -> None:
    """submit() of a hand-built SignedEntry around non-canonical bytes: not-canonical."""
    entry = forge(NON_CANONICAL[how](body(ledger, AGENT)), AGENT)
    with refused(ledger, "not-canonical"):
        ledger.submit([entry])


def test_entry_whose_fields_lie_about_its_bytes_is_judged_by_its_bytes(ledger: Ledger) -> None:
    """A SignedEntry whose parsed fields disagree with its bytes is checked as its bytes say."""
    truth = sign_entry(AGENT, body(ledger, AGENT, seq=head(ledger, AGENT)[0] + 2))
    liar = SignedEntry(truth.data, truth.signature, body(ledger, AGENT), truth.leaf)
    with refused(ledger, "skipped-seq"):
        ledger.submit([liar])


@pytest.mark.parametrize("value", [0.5, float("nan"), 1e300])
def test_float_in_metadata(ledger: Ledger, value: float) -> None:
    """A float anywhere in metadata is refused as not-canonical (fractions travel as strings)."""
    seq = head(ledger, AGENT)[0]
    with refused(ledger, "not-canonical", match="float"):
        ledger.append(AGENT, "price", metadata={"deep": [{"p": value}]})
    with refused(ledger, "not-canonical"):
        ledger.sign_next(AGENT, "action", {"action": "price", "metadata": {"p": value}})
    receipt = ledger.append(AGENT, "price", metadata={"p": "0.5"})
    assert ledger.get(receipt.index).entry.seq == seq + 1


def test_integer_beyond_the_safe_range(ledger: Ledger) -> None:
    """An integer beyond ±(2^53−1) in metadata is refused as not-canonical."""
    with refused(ledger, "not-canonical", match="outside"):
        ledger.append(AGENT, "count", metadata={"n": 2**53})


# -- size ----------------------------------------------------------------------------------------


def padded(ledger: Ledger, size: int) -> dict[str, Any]:
    """Action fields whose entry, signed next by AGENT at MOMENT, is exactly ``size`` bytes."""
    fields: dict[str, Any] = {"action": "big", "metadata": {"pad": ""}}
    base = len(canonicalize(body(ledger, AGENT, **fields)))
    fields["metadata"]["pad"] = "x" * (size - base)
    assert len(canonicalize(body(ledger, AGENT, **fields))) == size
    return fields


def test_entry_exactly_at_the_size_limit_is_stored(ledger: Ledger) -> None:
    """An entry of exactly 64 KiB is accepted and stored byte for byte."""
    receipt = ledger.append_entry(AGENT, "action", padded(ledger, MAX_ENTRY_BYTES), time=MOMENT)
    assert len(ledger.get(receipt.index).entry.data) == MAX_ENTRY_BYTES == 65_536
    assert ledger.verify().ok


def test_entry_one_byte_over_the_size_limit(ledger: Ledger) -> None:
    """An entry of 64 KiB + 1 byte is refused as too-large, whether signed here or elsewhere."""
    fields = padded(ledger, MAX_ENTRY_BYTES + 1)
    with refused(ledger, "too-large", match="65537 bytes"):
        ledger.append_entry(AGENT, "action", fields, time=MOMENT)
    data = canonicalize(body(ledger, AGENT, **fields))
    with refused(ledger, "too-large"):
        ledger.submit([forge(data, AGENT)])


def test_batch_over_the_entry_count_limit(ledger: Ledger) -> None:
    """A batch of more than MAX_BATCH entries is refused as too-large before any check."""
    entry = sign_entry(AGENT, body(ledger, AGENT))
    with refused(ledger, "too-large", match=f"at most {MAX_BATCH}"):
        ledger.submit([entry] * (MAX_BATCH + 1))


def test_empty_batch(ledger: Ledger) -> None:
    """submit([]) is refused as empty-batch."""
    with refused(ledger, "empty-batch"):
        ledger.submit([])


# -- signatures ----------------------------------------------------------------------------------


def test_wrong_signature(ledger: Ledger) -> None:
    """An entry whose signature has one bit flipped is refused as bad-signature."""
    good = sign_entry(AGENT, body(ledger, AGENT))
    signature = bytearray(good.signature)
    signature[5] ^= 0x01
    bad = SignedEntry.parse(good.data, bytes(signature))
    with refused(ledger, "bad-signature", match=f"signature of {AGENT.address} seq"):
        ledger.submit([bad])


def test_signature_by_another_key(ledger: Ledger) -> None:
    """An entry naming AGENT as author but signed by another registered key: bad-signature."""
    entry = sign_entry(OTHER_AGENT, body(ledger, AGENT))
    assert entry.author == AGENT.address
    with refused(ledger, "bad-signature"):
        ledger.submit([entry])


def test_signature_under_another_kind_domain(ledger: Ledger) -> None:
    """A signature made for another kind's domain does not verify: bad-signature."""
    data = canonicalize(body(ledger, AGENT))
    signature = AGENT.sign(entry_signing_prefix("register") + data)
    with refused(ledger, "bad-signature"):
        ledger.submit([SignedEntry.parse(data, signature)])


def test_truncated_signature(ledger: Ledger) -> None:
    """A signature that is not 64 bytes is refused by the parser as bad-signature."""
    good = sign_entry(AGENT, body(ledger, AGENT))
    with refused(ledger, "bad-signature", match="63 bytes"):
        SignedEntry.parse(good.data, good.signature[:63])


# -- chains --------------------------------------------------------------------------------------


def test_resubmitting_a_stored_entry_is_a_replay(ledger: Ledger) -> None:
    """Submitting an entry already in the log again is refused as replayed-seq."""
    stored = next(ledger.entries(agent=AGENT.address)).entry
    with refused(ledger, "replayed-seq", match="a replay"):
        ledger.submit([stored])


def test_new_entry_reusing_a_sequence_number(ledger: Ledger) -> None:
    """A fresh entry reusing the author's latest seq (with that seq's prev) is replayed-seq."""
    latest = list(ledger.entries(agent=AGENT.address))[-1].entry
    entry = sign_entry(AGENT, body(ledger, AGENT, seq=latest.seq, prev=latest.prev))
    with refused(ledger, "replayed-seq"):
        ledger.submit([entry])


def test_skipped_sequence_number(ledger: Ledger) -> None:
    """An entry skipping one seq (citing the real head as prev) is refused as skipped-seq."""
    seq, prev = head(ledger, AGENT)
    entry = sign_entry(AGENT, body(ledger, AGENT, seq=seq + 2, prev=prev))
    with refused(ledger, "skipped-seq", match=f"seq {seq + 2} skips ahead"):
        ledger.submit([entry])


def test_wrong_prev(ledger: Ledger) -> None:
    """The right next seq citing a prev that is not the head's id is refused as bad-chain."""
    entry = sign_entry(AGENT, body(ledger, AGENT, prev="ab" * 32))
    with refused(ledger, "bad-chain", match="cites prev"):
        ledger.submit([entry])


def test_time_before_the_authors_previous_entry(ledger: Ledger) -> None:
    """An entry dated one microsecond before its author's previous one: time-regressed."""
    earlier = MOMENT - timedelta(microseconds=1)
    with refused(ledger, "time-regressed", match="never go backwards"):
        ledger.append(AGENT, "back_in_time", time=earlier)
    with refused(ledger, "time-regressed"):
        ledger.submit([sign_entry(AGENT, body(ledger, AGENT, time=format_time(earlier)))])
    seq, prev = head(ledger, AGENT)
    receipt = ledger.append(AGENT, "same_instant", time=MOMENT)  # equal times are allowed
    entry = ledger.get(receipt.index).entry
    assert (entry.seq, entry.prev) == (seq + 1, prev)
    assert ledger.verify().ok


def test_time_regressed_within_one_batch_stores_nothing(ledger: Ledger) -> None:
    """A batch whose 3rd entry is dated before the same author's 1st is refused whole."""
    later = MOMENT + timedelta(hours=1)
    batch = [
        ledger.sign_next(AGENT, "action", {"action": "late"}, time=later),
        ledger.sign_next(OTHER_AGENT, "action", {"action": "early"}, time=MOMENT),
        ledger.sign_next(AGENT, "action", {"action": "early"}, time=MOMENT),
    ]
    with refused(ledger, "time-regressed", match="^entry 3 of 3: "):
        ledger.submit(batch)
    again = ledger.sign_next(AGENT, "action", {"action": "retry"}, time=MOMENT)
    assert again.seq == head(ledger, AGENT)[0] + 1
    ledger.submit([again])


def test_authors_times_are_independent(ledger: Ledger) -> None:
    """One author's entry may be dated before another author's latest one."""
    ledger.append(AGENT, "late", time=MOMENT + timedelta(days=1))
    ledger.append(OTHER_AGENT, "early", time=MOMENT)
    assert ledger.verify().ok


@pytest.mark.parametrize(("seq", "prev"), [(0, "ab" * 32), (1, None), (1, "AB" * 32), (1, "ab")])
def test_malformed_prev_is_refused_by_the_parser(
    ledger: Ledger, seq: int, prev: str | None
) -> None:
    """A prev impossible for its seq (set at 0, null or not 64-hex later): bad-chain on parse."""
    data = canonicalize(body(ledger, STRANGER, seq=seq, prev=prev))
    with refused(ledger, "bad-chain"):
        SignedEntry.parse(data, STRANGER.sign(entry_signing_prefix("action") + data))


def test_unknown_author(ledger: Ledger) -> None:
    """An action by a key the ledger never registered is refused as unknown-author."""
    with refused(ledger, "unknown-author", match="not registered"):
        ledger.append(STRANGER, "sneak")
    with refused(ledger, "unknown-author"):
        ledger.submit([sign_entry(STRANGER, body(ledger, STRANGER))])


# -- registrations -------------------------------------------------------------------------------


def test_agent_cannot_register_agents(ledger: Ledger) -> None:
    """An agent registering another agent is refused as not-allowed."""
    with refused(ledger, "not-allowed", match="only a registered owner"):
        ledger.register_agent(STRANGER, AGENT)


def test_agent_cannot_register_an_owner_for_another_key(ledger: Ledger) -> None:
    """A register entry by an agent naming another key as owner is refused as not-allowed."""
    fields = {
        "subject": STRANGER.address,
        "public_key": STRANGER.public_key.b64,
        "role": "owner",
    }
    with refused(ledger, "not-allowed", match="an owner registers itself"):
        ledger.append_entry(AGENT, "register", fields)


def test_registering_twice(ledger: Ledger) -> None:
    """Registering an owner or an agent a second time is refused as already-registered."""
    with refused(ledger, "already-registered", match="already registered"):
        ledger.register_owner(OWNER)
    with refused(ledger, "already-registered"):
        ledger.register_agent(AGENT, OWNER)
    with refused(ledger, "already-registered"):
        ledger.register_agent(OWNER.public_key, OWNER)


def test_same_key_registered_twice_in_one_batch(ledger: Ledger) -> None:
    """A batch registering one key twice is refused whole, naming the second registration."""
    fields = {"subject": STRANGER.address, "public_key": STRANGER.public_key.b64, "role": "agent"}
    batch = [ledger.sign_next(OWNER, "register", fields) for _ in range(2)]
    with refused(ledger, "already-registered", match="^entry 2 of 2: "):
        ledger.submit(batch)


# -- schema --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields", "code"),
    [
        ("memo", {"text": "hello"}, "unknown-kind"),
        ("action", {"metadata": {}}, "bad-field"),
        ("action", {"action": ""}, "bad-field"),
        ("action", {"action": "a", "metadata": ["not", "an", "object"]}, "bad-field"),
        ("action", {"action": "a", "content_hash": "md5:abc"}, "bad-field"),
        ("action", {"action": "a", "cost": "1e3"}, "bad-field"),
        ("action", {"action": "a", "sources": ["sha256:00"]}, "bad-field"),
        ("action", {"action": "a", "target": "t" * 2049}, "bad-field"),
        (
            "register",
            {"subject": "sl1" + "0" * 40, "public_key": "AAAA", "role": "agent"},
            "bad-field",
        ),
    ],
)
def test_ill_typed_fields(ledger: Ledger, kind: str, fields: dict[str, Any], code: str) -> None:
    """Unknown kinds and ill-typed fields of known kinds are refused with their code."""
    with refused(ledger, code):
        ledger.append_entry(AGENT, kind, fields)


def test_unsupported_entry_version(ledger: Ledger) -> None:
    """An entry of format v2 is refused as bad-version when parsed."""
    data = canonicalize(body(ledger, AGENT, v=2))
    with refused(ledger, "bad-version"):
        SignedEntry.parse(data, AGENT.sign(entry_signing_prefix("action") + data))


@pytest.mark.parametrize("name", ["v", "kind", "author", "seq", "prev", "time"])
def test_fields_may_not_set_common_fields(ledger: Ledger, name: str) -> None:
    """Fields (or extra=) that set a common field such as seq or prev are a UsageError."""
    with refused(ledger, "usage", error=UsageError, match=f"may not set {name}"):
        ledger.sign_next(AGENT, "action", {"action": "a", name: 1})
    with refused(ledger, "usage", error=UsageError):
        ledger.append(AGENT, "a", extra={name: 1})


# -- batches -------------------------------------------------------------------------------------


def _seventh_bad(ledger: Ledger, how: str) -> list[SignedEntry]:
    """Ten entries by the two agents, the 7th bad in the way ``how`` names."""
    seq = head(ledger, AGENT)[0]
    batch = [
        ledger.sign_next((AGENT, OTHER_AGENT)[n % 2], "action", {"action": f"n{n}"})
        for n in range(6)
    ]
    if how == "bad-signature":  # AGENT's next entry, signed by the other agent
        bad = sign_entry(OTHER_AGENT, body(ledger, AGENT, seq=seq + 4, prev=batch[4].id))
    elif how == "skipped-seq":  # AGENT's entry after next
        bad = sign_entry(AGENT, body(ledger, AGENT, seq=seq + 5, prev=batch[4].id))
    else:
        bad = sign_entry(STRANGER, body(ledger, STRANGER))
    tail = [ledger.sign_next(OTHER_AGENT, "action", {"action": f"t{n}"}) for n in range(3)]
    return [*batch, bad, *tail]


@pytest.mark.parametrize("how", ["bad-signature", "skipped-seq", "unknown-author"])
def test_batch_with_a_bad_seventh_entry_stores_nothing(ledger: Ledger, how: str) -> None:
    """A batch of 10 whose 7th entry is bad is refused whole; the error names 'entry 7 of 10'."""
    batch = _seventh_bad(ledger, how)
    assert len(batch) == 10
    with refused(ledger, how, match="^entry 7 of 10: "):
        ledger.submit(batch)


def test_sign_next_after_a_refused_batch_starts_from_the_stored_chain(ledger: Ledger) -> None:
    """After a refused batch, sign_next no longer builds on its entries: a new batch goes in."""
    size = ledger.size()
    with refused(ledger, "unknown-author"):
        ledger.submit(_seventh_bad(ledger, "unknown-author"))
    again = [
        ledger.sign_next((AGENT, OTHER_AGENT)[n % 2], "action", {"action": "r"}) for n in range(4)
    ]
    mine, theirs = head(ledger, AGENT)[0], head(ledger, OTHER_AGENT)[0]
    assert [e.seq for e in again] == [mine + 1, theirs + 1, mine + 2, theirs + 2]
    receipts = ledger.submit(again)
    assert [r.index for r in receipts] == list(range(size, size + 4))
    assert ledger.verify().ok
