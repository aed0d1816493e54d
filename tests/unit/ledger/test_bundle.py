"""Evidence bundles: export, offline verification, tampering and foreign files."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sealog.crypto import SigningKey
from sealog.errors import FormatError, NotFound, UsageError
from sealog.ledger import (
    Checkpoint,
    Ledger,
    VerifyReport,
    export_bundle,
    load_bundle,
    verify_bundle,
)

ORIGIN = "sealog.test/bundle"
LOG_KEY = SigningKey(bytes([0xD0]) * 32)
OWNER = SigningKey(bytes([0xD1]) * 32)
AGENTS = (SigningKey(bytes([0xD2]) * 32), SigningKey(bytes([0xD3]) * 32))
START = datetime(2001, 5, 1, tzinfo=UTC)
"""Long before the registrations, which are timed by the clock."""
ACTIONS = 20
SIZE = ACTIONS + 3
"""Entries in the ledger: three registrations (owner, two agents), then the actions."""
FIRST_AGENT = [0, 1, *range(3, SIZE, 2)]
"""Indices in the first agent's bundle: the owner's self-registration, the owner's registration
of the agent, then the agent's own actions (every other one from index 3)."""


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    """Owner, two agents, 20 actions alternating agents, one per hour from START (index 3 on)."""
    with Ledger.in_memory(origin=ORIGIN, log_key=LOG_KEY) as made:
        for agent in AGENTS:
            made.register_agent(agent, OWNER, name=f"agent-{agent.address[-4:]}")
        for n in range(ACTIONS):
            made.append(AGENTS[n % 2], "act", metadata={"n": n}, time=START + timedelta(hours=n))
        yield made


@pytest.fixture
def full(ledger: Ledger, tmp_path: Path) -> dict[str, Any]:
    """A full bundle of the ledger, loaded from its file."""
    export_bundle(ledger, tmp_path / "full.json")
    return load_bundle(tmp_path / "full.json")


@pytest.fixture
def partial(ledger: Ledger, tmp_path: Path) -> dict[str, Any]:
    """A partial bundle of the first agent's entries, loaded from its file."""
    export_bundle(ledger, tmp_path / "agent.json", agent=AGENTS[0].address)
    return load_bundle(tmp_path / "agent.json")


def located(
    report: VerifyReport,
) -> list[tuple[str, int | None, str | None, int | None, int | None]]:
    """The report's gaps as (kind, index, author, seq, size)."""
    return [(g.kind, g.index, g.author, g.seq, g.size) for g in report.gaps]


def entry_bytes(bundle: dict[str, Any], position: int) -> bytes:
    """E of the bundle's entry at ``position``."""
    return base64.b64decode(bundle["entries"][position]["entry"])


def set_entry_bytes(bundle: dict[str, Any], position: int, data: bytes) -> None:
    """Replace E of the bundle's entry at ``position``."""
    bundle["entries"][position]["entry"] = base64.b64encode(data).decode()


def entry_fields(bundle: dict[str, Any], position: int) -> dict[str, Any]:
    """The parsed fields of the bundle's entry at ``position``."""
    return json.loads(entry_bytes(bundle, position))


def position_of(bundle: dict[str, Any], index: int) -> int:
    """Where the entry with log index ``index`` sits in the bundle's entries."""
    return [e["index"] for e in bundle["entries"]].index(index)


def drop_index(bundle: dict[str, Any], index: int) -> None:
    """Remove the entry with log index ``index`` from the bundle."""
    del bundle["entries"][position_of(bundle, index)]


# -- export and verify ---------------------------------------------------------------------------


def test_full_bundle_round_trip(ledger: Ledger, tmp_path: Path) -> None:
    """A full bundle holds every entry and key, and verifies offline against the pinned key."""
    out = tmp_path / "full.json"
    summary = export_bundle(ledger, out)
    assert summary.to_dict() == {"path": str(out), "entries": SIZE, "tree_size": SIZE, "full": True}
    bundle = load_bundle(out)
    assert bundle["format"] == "sealog-bundle/v1"
    assert bundle["log"] == {"origin": ORIGIN, "vkey": ledger.vkey}
    assert bundle["checkpoint"] == ledger.checkpoint()
    assert bundle["scope"] == {"full": True, "agent": None, "since": None, "until": None}
    assert [e["index"] for e in bundle["entries"]] == list(range(SIZE))
    assert all("proof" not in e for e in bundle["entries"])
    assert [k["address"] for k in bundle["keys"]] == [
        OWNER.address,
        AGENTS[0].address,
        AGENTS[1].address,
    ]
    assert bundle["keys"][1] == {
        "address": AGENTS[0].address,
        "public_key": AGENTS[0].public_key.b64,
        "role": "agent",
        "owner": OWNER.address,
        "name": f"agent-{AGENTS[0].address[-4:]}",
    }
    report = verify_bundle(bundle, log_vkey=ledger.vkey)
    assert report.ok, report.gaps
    assert report.scope == "bundle (full)"
    assert (report.total_entries, report.tree_size, report.signatures_checked) == (SIZE,) * 3
    assert report.checkpoints_checked == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.json"]


def test_full_bundle_without_pinning_says_so(full: dict[str, Any]) -> None:
    """Verified against the key it carries, a full bundle passes and its scope says unpinned."""
    report = verify_bundle(full)
    assert report.ok
    assert report.scope == "bundle (full), log key not pinned"


def test_agent_bundle(ledger: Ledger, partial: dict[str, Any]) -> None:
    """An agent's bundle holds its entries and its register entries, all proven; it verifies."""
    assert partial["scope"] == {
        "full": False,
        "agent": AGENTS[0].address,
        "since": None,
        "until": None,
    }
    assert [e["index"] for e in partial["entries"]] == FIRST_AGENT
    assert all(isinstance(e["proof"], list) and e["proof"] for e in partial["entries"])
    assert [entry_fields(partial, n)["subject"] for n in (0, 1)] == [
        OWNER.address,
        AGENTS[0].address,
    ]
    assert [k["address"] for k in partial["keys"]] == [AGENTS[0].address]
    report = verify_bundle(partial, log_vkey=ledger.vkey)
    assert report.ok, report.gaps
    assert report.scope == "bundle (partial)"
    assert (report.total_entries, report.tree_size) == (len(FIRST_AGENT), SIZE)
    assert report.signatures_checked == len(FIRST_AGENT)
    assert report.authors == 1  # only the selection's chains are checked
    unpinned = verify_bundle(partial)
    assert unpinned.ok
    assert unpinned.scope == "bundle (partial), log key not pinned"


@pytest.mark.parametrize(
    ("since", "until", "indices"),
    [
        ("2001-05-01T05:00:00+00:00", "2001-05-01T09:00:00Z", [0, 1, 2, 8, 9, 10, 11, 12]),
        ("2001-05-01T17:30:00+00:00", "2001-05-02T00:00:00Z", [0, 1, 2, 21, 22]),
        ("2001-05-01T17:30:00+00:00", None, [0, 1, 2, 21, 22]),
        (None, "2001-05-01T01:59:59.999999+00:00", [0, 1, 2, 3, 4]),
        ("2001-05-01T06:00:00+01:00", "2001-05-01T05:00:00Z", [0, 2, 8]),
    ],
)
def test_time_range_bundle(
    ledger: Ledger, tmp_path: Path, since: str | None, until: str | None, indices: list[int]
) -> None:
    """A since/until bundle holds the entries in the range and their register entries; ok."""
    summary = export_bundle(ledger, tmp_path / "range.json", since=since, until=until)
    assert (summary.entries, summary.full) == (len(indices), False)
    bundle = load_bundle(tmp_path / "range.json")
    assert [e["index"] for e in bundle["entries"]] == indices
    report = verify_bundle(bundle, log_vkey=ledger.vkey)
    assert report.ok, report.gaps
    assert report.total_entries == len(indices)


def test_bundle_of_an_on_disk_ledger(tmp_path: Path) -> None:
    """A bundle exported from an on-disk ledger verifies against that ledger's key."""
    with Ledger.init(tmp_path / ".sealog", origin="sealog.test/bundle-disk") as ledger:
        ledger.register_agent(AGENTS[0], OWNER)
        ledger.append(AGENTS[0], "on_disk")
        export_bundle(ledger, tmp_path / "disk.json")
        vkey = ledger.vkey
    report = verify_bundle(load_bundle(tmp_path / "disk.json"), log_vkey=vkey)
    assert report.ok
    assert report.total_entries == 3


def test_bundle_against_the_wrong_pinned_key(full: dict[str, Any]) -> None:
    """A bundle checked against another log's key fails with a single bad-checkpoint gap."""
    with Ledger.in_memory(origin=ORIGIN) as other:
        report = verify_bundle(full, log_vkey=other.vkey)
    assert not report.ok
    assert located(report) == [("bad-checkpoint", None, None, None, None)]
    assert report.gaps[0].detail.startswith("checkpoint does not verify: ")


def test_bundle_whose_carried_key_was_swapped(full: dict[str, Any]) -> None:
    """A bundle carrying another log key than the one that signed it fails even unpinned."""
    with Ledger.in_memory(origin=ORIGIN) as other:
        full["log"]["vkey"] = other.vkey
    report = verify_bundle(full)
    assert located(report) == [("bad-checkpoint", None, None, None, None)]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"agent": OWNER.address[:-1] + "0"}, NotFound, "no agent or owner"),
        ({"since": "yesterday"}, UsageError, "not an ISO 8601"),
        ({"until": "2001-05-01T00:00:00"}, UsageError, "needs a timezone"),
    ],
)
def test_export_refuses_bad_filters(
    ledger: Ledger, tmp_path: Path, kwargs: dict[str, str], error: type[Exception], match: str
) -> None:
    """export_bundle of an unknown agent or with a bad time filter raises, writing nothing."""
    with pytest.raises(error, match=match):
        export_bundle(ledger, tmp_path / "out.json", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_export_into_a_missing_folder(ledger: Ledger, tmp_path: Path) -> None:
    """export_bundle into a folder that does not exist raises UsageError."""
    with pytest.raises(UsageError, match="cannot write"):
        export_bundle(ledger, tmp_path / "no" / "such" / "dir" / "out.json")


# -- tampered bundles ----------------------------------------------------------------------------


def test_full_bundle_with_an_altered_entry_byte(ledger: Ledger, full: dict[str, Any]) -> None:
    """An entry byte changed in a full bundle: 'altered' there; the root no longer matches."""
    fields = entry_fields(full, 10)
    data = entry_bytes(full, 10)
    set_entry_bytes(full, 10, data.replace(b'"act"', b'"bct"'))
    report = verify_bundle(full, log_vkey=ledger.vkey)
    assert not report.ok
    assert located(report) == [
        ("altered", 10, fields["author"], fields["seq"], None),
        ("root-mismatch", 0, None, None, SIZE),
    ]


def test_full_bundle_with_an_altered_signature(ledger: Ledger, full: dict[str, Any]) -> None:
    """One byte of an entry's signature changed in a full bundle: 'altered' at that entry."""
    fields = entry_fields(full, 7)
    sig = bytearray(base64.b64decode(full["entries"][7]["sig"]))
    sig[0] ^= 0xFF
    full["entries"][7]["sig"] = base64.b64encode(bytes(sig)).decode()
    report = verify_bundle(full, log_vkey=ledger.vkey)
    assert located(report) == [
        ("altered", 7, fields["author"], fields["seq"], None),
        ("root-mismatch", 0, None, None, SIZE),
    ]


def test_full_bundle_with_an_entry_removed(ledger: Ledger, full: dict[str, Any]) -> None:
    """A middle entry removed from a full bundle: its index and its author's seq are missing."""
    fields = entry_fields(full, 10)
    del full["entries"][10]
    report = verify_bundle(full, log_vkey=ledger.vkey)
    assert not report.ok
    assert located(report) == [
        ("missing", 10, None, None, None),
        ("missing", None, fields["author"], fields["seq"], None),
        ("root-mismatch", None, None, None, SIZE),
    ]
    assert not report.complete


def test_full_bundle_with_its_last_entry_removed(ledger: Ledger, full: dict[str, Any]) -> None:
    """The last entry removed from a full bundle: a truncated tail against its checkpoint."""
    del full["entries"][-1]
    report = verify_bundle(full, log_vkey=ledger.vkey)
    assert located(report) == [("truncated-tail", SIZE - 1, None, None, SIZE)]


def test_partial_bundle_with_an_altered_proof_hash(ledger: Ledger, partial: dict[str, Any]) -> None:
    """One proof hash changed in a partial bundle: that entry is 'altered' (not included)."""
    proof = partial["entries"][3]["proof"]
    proof[1] = ("0" if proof[1][0] != "0" else "1") + proof[1][1:]
    report = verify_bundle(partial, log_vkey=ledger.vkey)
    assert not report.ok
    index = partial["entries"][3]["index"]
    assert located(report) == [("altered", index, None, None, None)]
    assert report.gaps[0].detail.startswith("not included in the checkpoint: ")


@pytest.mark.parametrize("proof", [None, "ab", ["zz" * 32], ["ab" * 31]])
def test_partial_bundle_with_a_malformed_proof(
    ledger: Ledger, partial: dict[str, Any], proof: object
) -> None:
    """A missing or ill-typed proof in a partial bundle marks its entry 'altered'."""
    for index in (0, 3):  # the owner's self-registration, the agent's first action
        broken = copy.deepcopy(partial)
        broken["entries"][position_of(broken, index)]["proof"] = proof
        report = verify_bundle(broken, log_vkey=ledger.vkey)
        assert located(report) == [("altered", index, None, None, None)]


def test_partial_bundle_with_an_entry_removed(ledger: Ledger, partial: dict[str, Any]) -> None:
    """A middle entry removed from an agent's bundle leaves a hole in its chain: 'missing'."""
    fields = entry_fields(partial, 4)
    del partial["entries"][4]
    report = verify_bundle(partial, log_vkey=ledger.vkey)
    assert located(report) == [("missing", None, AGENTS[0].address, fields["seq"], None)]


def test_partial_bundle_without_its_keys_list(ledger: Ledger, partial: dict[str, Any]) -> None:
    """An agent's bundle with an empty keys list still verifies: keys come from register entries."""
    partial["keys"] = []
    report = verify_bundle(partial, log_vkey=ledger.vkey)
    assert report.ok, report.gaps


def test_partial_bundle_without_the_agents_register_entry(
    ledger: Ledger, partial: dict[str, Any]
) -> None:
    """An agent's bundle stripped of the agent's register entry: every entry is unknown-key."""
    drop_index(partial, 1)
    assert partial["keys"][0]["address"] == AGENTS[0].address  # the keys list does not help
    report = verify_bundle(partial, log_vkey=ledger.vkey)
    assert located(report) == [
        ("unknown-key", index, AGENTS[0].address, seq, None)
        for seq, index in enumerate(range(3, SIZE, 2))
    ]


def test_partial_bundle_without_the_owners_self_registration(
    ledger: Ledger, partial: dict[str, Any]
) -> None:
    """Without the owner's own register entry, the owner's registration of the agent is unknown."""
    drop_index(partial, 0)
    report = verify_bundle(partial, log_vkey=ledger.vkey)
    assert located(report) == [
        ("unknown-key", 1, OWNER.address, 1, None),
        *(
            ("unknown-key", index, AGENTS[0].address, seq, None)
            for seq, index in enumerate(range(3, SIZE, 2))
        ),
    ]


def test_bundle_of_an_agent_registered_later(ledger: Ledger, tmp_path: Path) -> None:
    """The second agent's bundle carries the owner's seq 0 and seq 2 (not 1) and verifies."""
    export_bundle(ledger, tmp_path / "second.json", agent=AGENTS[1].address)
    bundle = load_bundle(tmp_path / "second.json")
    assert [e["index"] for e in bundle["entries"]] == [0, 2, *range(4, SIZE, 2)]
    assert [entry_fields(bundle, n)["seq"] for n in (0, 1)] == [0, 2]
    report = verify_bundle(bundle, log_vkey=ledger.vkey)
    assert report.ok, report.gaps


def test_agent_bundle_without_the_agents_first_entry(
    ledger: Ledger, partial: dict[str, Any]
) -> None:
    """An agent bundle (no since) whose agent chain does not start at seq 0: missing seq 0."""
    drop_index(partial, 3)
    report = verify_bundle(partial, log_vkey=ledger.vkey)
    assert located(report) == [("missing", None, AGENTS[0].address, 0, None)]
    assert report.chain_intact
    assert not report.complete


def test_agent_bundle_since_a_time_may_start_mid_chain(ledger: Ledger, tmp_path: Path) -> None:
    """An agent bundle with a since starts at the first entry in range, not at seq 0; ok."""
    export_bundle(
        ledger, tmp_path / "since.json", agent=AGENTS[0].address, since="2001-05-01T10:00:00Z"
    )
    bundle = load_bundle(tmp_path / "since.json")
    assert [e["index"] for e in bundle["entries"]] == [0, 1, *range(13, SIZE, 2)]
    assert entry_fields(bundle, 2)["seq"] == 5
    report = verify_bundle(bundle, log_vkey=ledger.vkey)
    assert report.ok, report.gaps


def test_agent_bundle_whose_scope_claims_another_agent(
    ledger: Ledger, partial: dict[str, Any]
) -> None:
    """A bundle relabelled as the other agent's holds none of its chain: missing seq 0."""
    partial["scope"]["agent"] = AGENTS[1].address
    report = verify_bundle(partial, log_vkey=ledger.vkey)
    assert located(report) == [("missing", None, AGENTS[1].address, 0, None)]


@pytest.mark.parametrize(
    ("member", "value"),
    [("agent", 7), ("since", "yesterday"), ("until", "2001-05-01T00:00:00Z"), ("since", 0)],
)
def test_partial_bundle_with_a_malformed_scope(
    partial: dict[str, Any], member: str, value: object
) -> None:
    """A partial bundle whose scope agent, since or until is ill-typed is a FormatError."""
    partial["scope"][member] = value
    with pytest.raises(FormatError, match=f"bundle scope {member} must be"):
        verify_bundle(partial)


def test_bundle_with_a_key_swapped(full: dict[str, Any]) -> None:
    """A bundle key replaced by another key under the same address is a FormatError."""
    full["keys"][1]["public_key"] = SigningKey(bytes([0xEE]) * 32).public_key.b64
    with pytest.raises(FormatError, match="does not hash to that address"):
        verify_bundle(full)


def test_full_bundle_with_an_older_checkpoint(ledger: Ledger, full: dict[str, Any]) -> None:
    """A full bundle's checkpoint replaced by an older genuine one: entries beyond it flagged."""
    full["checkpoint"] = ledger._storage.checkpoint(10)
    report = verify_bundle(full, log_vkey=ledger.vkey)
    assert located(report) == [("beyond-checkpoint", 10, None, None, 10)]


def test_partial_bundle_with_an_older_checkpoint(ledger: Ledger, partial: dict[str, Any]) -> None:
    """A partial bundle's checkpoint replaced by an older one: no proof leads to its root."""
    partial["checkpoint"] = ledger._storage.checkpoint(10)
    report = verify_bundle(partial, log_vkey=ledger.vkey)
    assert located(report) == [("altered", i, None, None, None) for i in FIRST_AGENT]


def test_full_bundle_with_a_forked_checkpoint(ledger: Ledger, full: dict[str, Any]) -> None:
    """A full bundle's checkpoint replaced by a log-signed other root: 'root-mismatch'."""
    root = hashlib.sha256(b"another history").digest()
    full["checkpoint"] = Checkpoint(ORIGIN, SIZE, root).sign(LOG_KEY).render()
    report = verify_bundle(full, log_vkey=ledger.vkey)
    assert located(report) == [("root-mismatch", 0, None, None, SIZE)]


@pytest.mark.parametrize(
    "note",
    [
        Checkpoint(ORIGIN, SIZE, bytes(32)).sign(SigningKey(bytes([0xEF]) * 32)).render(),
        "not a checkpoint",
        None,
    ],
)
def test_bundle_with_an_unverifiable_checkpoint(
    ledger: Ledger, full: dict[str, Any], note: str | None
) -> None:
    """A checkpoint signed by another key, garbled or absent: a single bad-checkpoint gap."""
    full["checkpoint"] = note
    report = verify_bundle(full, log_vkey=ledger.vkey)
    assert located(report) == [("bad-checkpoint", None, None, None, None)]


@pytest.mark.parametrize(
    "item",
    [
        "not an object",
        {"entry": "e30=", "sig": ""},
        {"index": "3", "entry": "e30=", "sig": ""},
        {"index": 3, "entry": "not base64!", "sig": ""},
        {"index": 3, "entry": "e30=", "sig": 12},
    ],
)
def test_bundle_entry_of_the_wrong_shape(
    ledger: Ledger, full: dict[str, Any], item: object
) -> None:
    """A bundle entry that is not {index, entry, sig} is 'altered' at its position."""
    full["entries"][3] = item
    report = verify_bundle(full, log_vkey=ledger.vkey)
    assert not report.ok
    assert located(report)[0] == ("altered", 3, None, None, None)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda b: b.pop("log"), "lacks the log's verifier key"),
        (lambda b: b["log"].pop("vkey"), "lacks the log's verifier key"),
        (lambda b: b.pop("scope"), "lacks scope, keys or entries"),
        (lambda b: b.update(entries={}), "lacks scope, keys or entries"),
        (lambda b: b.update(keys="all of them"), "lacks scope, keys or entries"),
        (lambda b: b["keys"].append(["not", "an", "object"]), "bundle key is not an object"),
        (lambda b: b["keys"][0].update(public_key="***"), "key is not valid base64"),
        (lambda b: b["keys"][0].update(public_key="AAAA"), "32 bytes"),
    ],
)
def test_structurally_broken_bundle(full: dict[str, Any], change: Any, match: str) -> None:
    """A bundle missing its log key, scope, keys or entries, or with a bad key, is a FormatError."""
    broken = copy.deepcopy(full)
    change(broken)
    with pytest.raises(FormatError, match=match):
        verify_bundle(broken)


# -- files that are not bundles ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"{not json", r"is not a sealog bundle \(not JSON\)"),
        (b"", r"is not a sealog bundle \(not JSON\)"),
        (bytes(range(256)) * 4, r"is not a sealog bundle \(not JSON\)"),
        (b'{"format": "\xff"}', r"is not a sealog bundle \(not JSON\)"),
        (b"[1, 2, 3]", "format is not sealog-bundle/v1"),
        (b'"sealog-bundle/v1"', "format is not sealog-bundle/v1"),
        (b'{"format": "sealog-bundle/v2"}', "format is not sealog-bundle/v1"),
        (b'{"format": "in-toto/v1", "entries": []}', "format is not sealog-bundle/v1"),
        (b"[" * 100_000, r"is not a sealog bundle \(not JSON\)"),
    ],
    ids=[
        "not-json",
        "empty",
        "binary",
        "bad-utf8",
        "array",
        "string",
        "other-version",
        "other-format",
        "deep",
    ],
)
def test_foreign_file_is_not_a_bundle(tmp_path: Path, content: bytes, match: str) -> None:
    """A file that is not a sealog bundle is a FormatError saying why."""
    path = tmp_path / "thing.json"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=match):
        load_bundle(path)


def test_directory_is_not_a_bundle(tmp_path: Path) -> None:
    """A directory given as a bundle is a FormatError naming it a directory."""
    with pytest.raises(FormatError, match="is a directory, not a bundle file"):
        load_bundle(tmp_path)


def test_missing_bundle_file(tmp_path: Path) -> None:
    """A path where no file exists is a FormatError saying there is no bundle file."""
    with pytest.raises(FormatError, match="no bundle file at"):
        load_bundle(tmp_path / "absent.json")
