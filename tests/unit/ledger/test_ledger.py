"""The Ledger's Python API: registering, appending, reading, proving and verifying."""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sealog.crypto import SigningKey
from sealog.errors import NotFound, UsageError, VerificationError
from sealog.home import Home
from sealog.ledger import Checkpoint, ConsistencyProof, InclusionProof, Ledger, Receipt
from sealog.ledger._merkle import EMPTY_ROOT

OWNER = SigningKey(bytes([0xA0]) * 32)
AGENTS = tuple(SigningKey(bytes([0xB0 + n]) * 32) for n in range(8))
MOMENT = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["memory", "disk"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """An empty ledger, in memory or in a fresh on-disk home."""
    if request.param == "memory":
        made = Ledger.in_memory()
    else:
        made = Ledger.init(tmp_path / ".sealog", origin="sealog.test/unit")
    with made:
        yield made


@pytest.fixture
def on_disk(tmp_path: Path) -> Iterator[Ledger]:
    """An empty on-disk ledger in ``tmp_path/.sealog``."""
    with Ledger.init(tmp_path / ".sealog", origin="sealog.test/unit") as made:
        yield made


def fill(ledger: Ledger, count: int) -> list[Receipt]:
    """Register the owner and two agents, then append ``count`` actions alternating agents."""
    ledger.register_agent(AGENTS[0], OWNER, name="first")
    ledger.register_agent(AGENTS[1], OWNER, name="second")
    return [
        ledger.append(
            AGENTS[n % 2],
            "post_reply",
            target=f"thread/{n}",
            metadata={"n": n},
            time=MOMENT + timedelta(seconds=n),
        )
        for n in range(count)
    ]


def checkpoint_root(ledger: Ledger, note: str) -> tuple[int, bytes]:
    """Size and root of a checkpoint note, after checking the log signed it."""
    checkpoint, _ = Checkpoint.open(note, ledger.vkey)
    return checkpoint.size, checkpoint.root


# -- an empty ledger ----------------------------------------------------------------------------


def test_empty_ledger_has_a_signed_checkpoint_and_verifies(ledger: Ledger) -> None:
    """A new ledger holds a log-signed checkpoint of the empty tree and verifies."""
    assert ledger.size() == 0
    assert checkpoint_root(ledger, ledger.checkpoint()) == (0, EMPTY_ROOT)
    assert ledger.root_at(0) == EMPTY_ROOT
    report = ledger.verify()
    assert report.ok, report.gaps
    assert (report.total_entries, report.tree_size, report.authors) == (0, 0, 0)
    assert list(ledger.entries()) == []
    assert ledger.registrations() == []


# -- registering ---------------------------------------------------------------------------------


def test_register_owner_and_agent_are_recorded(ledger: Ledger) -> None:
    """register_owner and register_agent store self- and owner-signed registrations."""
    owner_receipt = ledger.register_owner(OWNER, name="alice")
    agent_receipt = ledger.register_agent(AGENTS[0].public_key, OWNER, name="bot")
    assert (owner_receipt.index, agent_receipt.index) == (0, 1)
    owner = ledger.agent(OWNER.address)
    assert (owner.role, owner.owner, owner.name, owner.index) == ("owner", None, "alice", 0)
    assert owner.public_key == OWNER.public_key.raw
    agent = ledger.agent(AGENTS[0].address)
    assert (agent.role, agent.owner, agent.name, agent.index) == ("agent", OWNER.address, "bot", 1)
    assert [r.address for r in ledger.registrations()] == [OWNER.address, AGENTS[0].address]
    entry = ledger.get(1).entry
    assert entry.kind == "register"
    assert entry.author == OWNER.address
    assert {k: entry.fields[k] for k in ("subject", "public_key", "role", "name")} == {
        "subject": AGENTS[0].address,
        "public_key": AGENTS[0].public_key.b64,
        "role": "agent",
        "name": "bot",
    }


def test_register_agent_registers_an_unknown_owner_first(ledger: Ledger) -> None:
    """register_agent with an unregistered owner key registers the owner, then the agent."""
    receipt = ledger.register_agent(AGENTS[0], OWNER)
    assert receipt.index == 1
    assert [(r.address, r.role) for r in ledger.registrations()] == [
        (OWNER.address, "owner"),
        (AGENTS[0].address, "agent"),
    ]
    assert ledger.agent(AGENTS[0].address).name is None


def test_agent_lookup_of_unknown_address_is_not_found(ledger: Ledger) -> None:
    """agent() of an unregistered address raises NotFound."""
    with pytest.raises(NotFound) as caught:
        ledger.agent(AGENTS[5].address)
    assert caught.value.code == "not-found"


# -- appending and receipts ----------------------------------------------------------------------


def test_append_returns_a_receipt_with_a_verifiable_checkpoint(ledger: Ledger) -> None:
    """A receipt names the index and id; its checkpoint is log-signed and includes the entry."""
    fill(ledger, 0)
    receipt = ledger.append(AGENTS[0], "trade", target="AAPL", metadata={"qty": 3})
    assert receipt.index == 3
    assert receipt.tree_size == 4
    assert receipt.id == ledger.get(3).entry.id
    size, root = checkpoint_root(ledger, receipt.checkpoint)
    assert size == receipt.tree_size
    assert root == ledger.root_at(size)
    ledger.prove_inclusion(receipt.index, receipt.tree_size).verify(root)
    assert receipt.checkpoint == ledger.checkpoint()
    assert receipt.to_dict() == {
        "index": 3,
        "id": receipt.id,
        "tree_size": 4,
        "checkpoint": receipt.checkpoint,
    }


def test_appended_fields_round_trip(ledger: Ledger) -> None:
    """Every field given to append() is stored as given, with the common fields filled in."""
    fill(ledger, 0)
    digest = "sha256:" + "ab" * 32
    receipt = ledger.append(
        AGENTS[1],
        "post_reply",
        target="https://example.org/t/1",
        content_hash=digest,
        metadata={"lang": "en", "tags": ["a", "b"], "nested": {"k": None, "n": -7}},
        extra={"run_id": "run-1", "cost": "0.0042", "sources": [digest], "decision": "allow"},
        time=MOMENT,
    )
    stored = ledger.get(receipt.index)
    assert stored.index == receipt.index
    assert dict(stored.entry.fields) == {
        "v": 1,
        "kind": "action",
        "author": AGENTS[1].address,
        "seq": 0,
        "prev": None,
        "time": "2026-11-21T09:30:00.000000Z",
        "action": "post_reply",
        "target": "https://example.org/t/1",
        "content_hash": digest,
        "metadata": {"lang": "en", "tags": ["a", "b"], "nested": {"k": None, "n": -7}},
        "run_id": "run-1",
        "cost": "0.0042",
        "sources": [digest],
        "decision": "allow",
    }
    again = ledger.append(AGENTS[1], "post_reply")
    assert ledger.get(again.index).entry.prev == receipt.id
    assert ledger.get(again.index).entry.seq == 1


def test_sign_next_without_a_time_never_goes_before_the_previous_entry(ledger: Ledger) -> None:
    """sign_next with no time uses now, but never a time before the author's previous entry."""
    fill(ledger, 0)
    future = datetime(2999, 1, 1, tzinfo=UTC)
    ledger.append(AGENTS[0], "scheduled", time=future)
    after = ledger.get(ledger.append(AGENTS[0], "next").index).entry
    assert after.time == "2999-01-01T00:00:00.000000Z"
    first = ledger.sign_next(AGENTS[1], "action", {"action": "now"})
    assert first.time <= datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert first.time > "2026-01-01T00:00:00.000000Z"
    pending = ledger.sign_next(AGENTS[1], "action", {"action": "later"}, time=future)
    clamped = ledger.sign_next(AGENTS[1], "action", {"action": "unsubmitted head"})
    assert clamped.time == pending.time
    ledger.submit([first, pending, clamped])
    assert ledger.verify().ok


def test_sign_next_and_submit_chain_within_one_batch(ledger: Ledger) -> None:
    """sign_next continues an author's chain across unsubmitted entries; submit stores them."""
    fill(ledger, 0)
    batch = [ledger.sign_next(AGENTS[n % 2], "action", {"action": f"a{n}"}) for n in range(6)]
    assert [e.seq for e in batch] == [0, 0, 1, 1, 2, 2]
    assert batch[2].prev == batch[0].id
    receipts = ledger.submit(batch)
    assert [r.index for r in receipts] == [3, 4, 5, 6, 7, 8]
    assert [r.id for r in receipts] == [e.id for e in batch]
    assert {r.tree_size for r in receipts} == {9}
    assert len({r.checkpoint for r in receipts}) == 1
    assert ledger.verify().ok


def test_get_by_index_and_by_id(ledger: Ledger) -> None:
    """get() finds an entry by its index and by its 64-hex id, the same entry both ways."""
    receipts = fill(ledger, 5)
    for receipt in receipts:
        by_index = ledger.get(receipt.index)
        by_id = ledger.get(receipt.id)
        assert by_index.index == by_id.index == receipt.index
        assert by_index.entry.data == by_id.entry.data
        assert by_id.entry.id == receipt.id


@pytest.mark.parametrize(
    ("ref", "error"),
    [
        (8, NotFound),
        (-1, NotFound),
        ("00" * 32, NotFound),
        ("abcd", NotFound),
        ("not hex at all", UsageError),
    ],
)
def test_get_of_a_bad_reference(ledger: Ledger, ref: int | str, error: type[Exception]) -> None:
    """get() of an absent index or id is NotFound; of something that is neither, a UsageError."""
    fill(ledger, 5)
    with pytest.raises(error):
        ledger.get(ref)


def test_entries_filter_by_agent_and_range(ledger: Ledger) -> None:
    """entries() yields log order, optionally one author's, within [start, end)."""
    fill(ledger, 10)
    assert [s.index for s in ledger.entries()] == list(range(13))
    assert [s.index for s in ledger.entries(agent=AGENTS[0].address)] == list(range(3, 13, 2))
    assert [s.entry.seq for s in ledger.entries(agent=AGENTS[1].address)] == list(range(5))
    assert [s.index for s in ledger.entries(start=4, end=7)] == [4, 5, 6]
    assert [s.index for s in ledger.entries(agent=AGENTS[1].address, start=5, end=10)] == [6, 8]
    assert [s.index for s in ledger.entries(agent=OWNER.address)] == [0, 1, 2]


# -- trees, proofs -------------------------------------------------------------------------------


def test_root_at_matches_every_stored_checkpoint(ledger: Ledger) -> None:
    """root_at(size) is the root every stored checkpoint of that size signed."""
    fill(ledger, 9)
    notes = ledger._storage.checkpoints()
    assert [size for size, _ in notes] == list(range(13))
    for size, note in notes:
        assert checkpoint_root(ledger, note) == (size, ledger.root_at(size))
    with pytest.raises(UsageError):
        ledger.root_at(13)
    with pytest.raises(UsageError):
        ledger.root_at(-1)


def test_inclusion_proofs_for_every_index_and_size(ledger: Ledger) -> None:
    """prove_inclusion(i, n) verifies against root_at(n) for every i < n ≤ size, and round-trips."""
    fill(ledger, 10)
    size = ledger.size()
    for tree_size in range(1, size + 1):
        root = ledger.root_at(tree_size)
        for index in range(tree_size):
            proof = ledger.prove_inclusion(index, tree_size)
            assert proof.leaf_hash == ledger.get(index).entry.leaf
            proof.verify(root)
            assert InclusionProof.from_dict(proof.to_dict()) == proof
    assert ledger.prove_inclusion(4).tree_size == size


def test_inclusion_proof_fails_against_another_root(ledger: Ledger) -> None:
    """An inclusion proof does not verify against another tree's root or with a changed hash."""
    fill(ledger, 10)
    proof = ledger.prove_inclusion(5, 12)
    with pytest.raises(VerificationError):
        proof.verify(ledger.root_at(11))
    bent = InclusionProof(5, 12, proof.leaf_hash, (bytes(32), *proof.hashes[1:]))
    with pytest.raises(VerificationError):
        bent.verify(ledger.root_at(12))


@pytest.mark.parametrize(("index", "size"), [(-1, 5), (5, 5), (0, 0), (0, 14)])
def test_inclusion_proof_out_of_range(ledger: Ledger, index: int, size: int) -> None:
    """prove_inclusion outside 0 ≤ index < size ≤ log size is a UsageError."""
    fill(ledger, 10)
    with pytest.raises(UsageError):
        ledger.prove_inclusion(index, size)


def test_consistency_proofs_between_every_pair_of_sizes(ledger: Ledger) -> None:
    """prove_consistency(m, n) verifies between root_at(m) and root_at(n) for all 0 < m ≤ n."""
    fill(ledger, 10)
    size = ledger.size()
    for old in range(1, size + 1):
        for new in range(old, size + 1):
            proof = ledger.prove_consistency(old, new)
            proof.verify(ledger.root_at(old), ledger.root_at(new))
            assert ConsistencyProof.from_dict(proof.to_dict()) == proof
    proof = ledger.prove_consistency(5)
    assert proof.new_size == size
    with pytest.raises(VerificationError):
        proof.verify(ledger.root_at(6), ledger.root_at(size))


@pytest.mark.parametrize(("old", "new"), [(0, 5), (6, 5), (1, 14)])
def test_consistency_proof_out_of_range(ledger: Ledger, old: int, new: int) -> None:
    """prove_consistency outside 0 < old ≤ new ≤ log size is a UsageError."""
    fill(ledger, 10)
    with pytest.raises(UsageError):
        ledger.prove_consistency(old, new)


# -- verifying -----------------------------------------------------------------------------------


def test_verify_reports_a_clean_log(ledger: Ledger) -> None:
    """verify() of an untouched log is ok and counts everything (the size-0 checkpoint too)."""
    fill(ledger, 10)
    report = ledger.verify()
    assert report.ok
    assert report.to_dict() == {
        "ok": True,
        "scope": "log",
        "total_entries": 13,
        "tree_size": 13,
        "authors": 3,
        "signatures_checked": 13,
        "checkpoints_checked": 14,
        "chain_intact": True,
        "complete": True,
        "consistent_with_saved": None,
        "gaps": [],
    }
    mine = ledger.verify(agent=AGENTS[0].address)
    assert mine.ok
    # the agent's 5 actions and the 3 register entries its key is learned from
    assert (mine.scope, mine.signatures_checked) == (f"agent {AGENTS[0].address}", 8)
    assert mine.authors == 1


def test_verify_of_one_agent_checks_the_register_entries_its_key_comes_from(
    on_disk: Ledger, tmp_path: Path
) -> None:
    """verify(agent=X) fails when the owner's self-registration, the root of X's key, is forged."""
    fill(on_disk, 4)
    assert on_disk.verify(agent=AGENTS[0].address).ok
    with closing(sqlite3.connect(tmp_path / ".sealog" / "ledger.db", isolation_level=None)) as conn:
        (sig,) = conn.execute("SELECT sig FROM entries WHERE idx = 0").fetchone()
        conn.execute("UPDATE entries SET sig = ? WHERE idx = 0", (bytes([sig[0] ^ 1]) + sig[1:],))
    report = on_disk.verify(agent=AGENTS[0].address)
    assert [(g.kind, g.index, g.author, g.seq, g.size) for g in report.gaps] == [
        ("altered", 0, OWNER.address, 0, None),
        ("unknown-key", 1, OWNER.address, 1, None),
        ("unknown-key", 2, OWNER.address, 2, None),
        ("unknown-key", 3, AGENTS[0].address, 0, None),
        ("unknown-key", 5, AGENTS[0].address, 1, None),
        ("unknown-key", None, AGENTS[0].address, None, None),
        ("root-mismatch", 0, None, None, 1),
    ]


def test_empty_log_checkpoint_with_another_root_is_a_root_mismatch(
    on_disk: Ledger, tmp_path: Path
) -> None:
    """A log-signed size-0 checkpoint whose root is not SHA-256("") is a root-mismatch at 0."""
    fill(on_disk, 2)
    _, log_key = Home(tmp_path / ".sealog").log_key()
    forged = Checkpoint(on_disk.origin, 0, bytes(32)).sign(log_key).render()
    with closing(sqlite3.connect(tmp_path / ".sealog" / "ledger.db", isolation_level=None)) as conn:
        conn.execute("UPDATE checkpoints SET note = ? WHERE size = 0", (forged,))
    report = on_disk.verify()
    assert [(g.kind, g.size) for g in report.gaps] == [("root-mismatch", 0)]
    assert report.checkpoints_checked == len(on_disk._storage.checkpoints())


def test_saved_empty_checkpoint_with_another_root_is_a_fork() -> None:
    """A saved size-0 checkpoint whose root is not SHA-256("") is a forked-checkpoint at 0."""
    log_key = SigningKey(bytes([0xA7]) * 32)
    with Ledger.in_memory(log_key=log_key) as ledger:
        fill(ledger, 2)
        honest = Checkpoint(ledger.origin, 0, EMPTY_ROOT).sign(log_key).render()
        assert ledger.verify(since_checkpoint=honest).consistent_with_saved is True
        forged = Checkpoint(ledger.origin, 0, bytes(32)).sign(log_key).render()
        report = ledger.verify(since_checkpoint=forged)
    assert [(g.kind, g.size) for g in report.gaps] == [("forked-checkpoint", 0)]
    assert report.consistent_with_saved is False


def test_verify_of_an_unregistered_agent_reports_unknown_key(ledger: Ledger) -> None:
    """verify(agent=X) for an X the ledger does not know fails with an unknown-key gap."""
    fill(ledger, 2)
    report = ledger.verify(agent=AGENTS[7].address)
    assert not report.ok
    assert [(g.kind, g.author) for g in report.gaps] == [("unknown-key", AGENTS[7].address)]


def test_verify_since_a_checkpoint_of_another_log_is_refused(ledger: Ledger) -> None:
    """verify(since_checkpoint=...) with a note the log did not sign raises VerificationError."""
    fill(ledger, 2)
    with Ledger.in_memory(origin=ledger.origin) as other:
        note = other.checkpoint()
    with pytest.raises(VerificationError):
        ledger.verify(since_checkpoint=note)


def test_verify_entry_of_intact_entries(ledger: Ledger) -> None:
    """verify_entry of each entry: valid signature, intact chain, included in the checkpoint."""
    receipts = fill(ledger, 6)
    _, root = checkpoint_root(ledger, ledger.checkpoint())
    for receipt in receipts:
        found = ledger.verify_entry(receipt.id)
        assert (found.index, found.id) == (receipt.index, receipt.id)
        assert (found.signature_valid, found.chain_intact, found.included) == (True, True, True)
        assert found.proof is not None
        found.proof.verify(root)
        assert found.to_dict()["proof"] == found.proof.to_dict()
    with pytest.raises(NotFound):
        ledger.verify_entry(99)


# -- on disk -------------------------------------------------------------------------------------


def test_reopened_ledger_keeps_everything_and_continues_chains(tmp_path: Path) -> None:
    """A closed on-disk ledger reopens with the same entries, key and checkpoint; chains go on."""
    home = tmp_path / ".sealog"
    with Ledger.init(home, origin="sealog.test/reopen") as first:
        receipts = fill(first, 4)
        vkey, note = first.vkey, first.checkpoint()
    with Ledger.open(home) as again:
        assert again.vkey == vkey
        assert again.origin == "sealog.test/reopen"
        assert again.checkpoint() == note
        assert [s.entry.id for s in again.entries()][3:] == [r.id for r in receipts]
        more = again.append(AGENTS[0], "after_reopen")
        entry = again.get(more.index).entry
        assert (entry.seq, entry.prev) == (2, receipts[2].id)
        assert again.verify().ok


def test_init_refuses_an_existing_home(on_disk: Ledger, tmp_path: Path) -> None:
    """Ledger.init where a ledger lives already raises UsageError."""
    with pytest.raises(UsageError, match="already lives"):
        Ledger.init(tmp_path / ".sealog")


def test_open_via_sealog_home(on_disk: Ledger, tmp_path: Path, monkeypatch) -> None:
    """Ledger.open() with no argument uses SEALOG_HOME."""
    monkeypatch.setenv("SEALOG_HOME", str(tmp_path / ".sealog"))
    monkeypatch.chdir(tmp_path.parent)
    with Ledger.open() as found:
        assert found.vkey == on_disk.vkey


def test_open_walks_up_from_the_working_directory(
    on_disk: Ledger, tmp_path: Path, monkeypatch
) -> None:
    """Ledger.open() with no argument and no SEALOG_HOME finds the nearest .sealog upwards."""
    monkeypatch.delenv("SEALOG_HOME", raising=False)
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    with Ledger.open() as found:
        assert found.vkey == on_disk.vkey


def test_open_explicit_home_beats_sealog_home(on_disk: Ledger, tmp_path: Path, monkeypatch) -> None:
    """An explicit home wins over SEALOG_HOME."""
    monkeypatch.setenv("SEALOG_HOME", str(tmp_path / "nowhere"))
    with Ledger.open(tmp_path / ".sealog") as found:
        assert found.vkey == on_disk.vkey


@pytest.mark.parametrize("how", ["env", "cwd", "explicit"])
def test_open_without_a_home_is_not_found(tmp_path: Path, monkeypatch, how: str) -> None:
    """Ledger.open() where no home exists raises NotFound (SEALOG_HOME, cwd walk, explicit)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.delenv("SEALOG_HOME", raising=False)
    monkeypatch.chdir(empty)
    if how == "env":
        monkeypatch.setenv("SEALOG_HOME", str(empty))
    with pytest.raises(NotFound):
        Ledger.open(empty if how == "explicit" else None)


def test_open_reads_a_log_key_whose_base64_holds_a_plus(tmp_path: Path) -> None:
    """A home whose log key's base64 contains '+' opens (key files are PRIVATE+KEY+name+id+b64)."""
    origin = "sealog.test/plus"
    key = next(
        k
        for k in (SigningKey(bytes([n]) * 32) for n in range(256))
        if "+" in k.to_note_skey(origin).split("+", 4)[4]
    )
    home = Home(tmp_path / ".sealog")
    home.path.mkdir()
    home.log_key_path.write_text(key.to_note_skey(origin) + "\n", encoding="utf-8")
    with Ledger.open(home.path) as opened:
        assert opened.vkey == key.public_key.vkey(origin)
        opened.register_owner(OWNER)
        assert opened.verify().ok


# -- concurrency -------------------------------------------------------------------------------


def _appender(ledger: Ledger, key: SigningKey, count: int, start: threading.Barrier, out: list):
    start.wait()
    out.extend(ledger.append(key, "concurrent", metadata={"i": i}) for i in range(count))


def test_group_commit_under_concurrency(on_disk: Ledger) -> None:
    """8 threads × 200 appends: distinct receipts, ordered chains, grouped commits, verifies."""
    for agent in AGENTS:
        on_disk.register_agent(agent, OWNER)
    base = on_disk.size()
    start = threading.Barrier(len(AGENTS))
    results: list[list[Receipt]] = [[] for _ in AGENTS]
    threads = [
        threading.Thread(target=_appender, args=(on_disk, agent, 200, start, results[n]))
        for n, agent in enumerate(AGENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    receipts = [r for mine in results for r in mine]
    assert len(receipts) == 1600
    assert sorted(r.index for r in receipts) == list(range(base, base + 1600))
    assert len({r.id for r in receipts}) == 1600
    assert all(r.index < r.tree_size <= base + 1600 for r in receipts)
    for agent, mine in zip(AGENTS, results, strict=True):
        assert [r.index for r in mine] == sorted(r.index for r in mine)
        assert [s.entry.id for s in on_disk.entries(agent=agent.address)] == [r.id for r in mine]
    commits = len(on_disk._storage.checkpoints()) - 1 - base
    assert commits < 1600
    assert on_disk.verify().ok


def test_two_ledger_objects_on_one_file_share_one_log(on_disk: Ledger, tmp_path: Path) -> None:
    """Two Ledger objects on one file, appending from two threads, share one consistent log."""
    on_disk.register_agent(AGENTS[0], OWNER)
    on_disk.register_agent(AGENTS[1], OWNER)
    start = threading.Barrier(2)
    results: list[list[Receipt]] = [[], []]
    with Ledger.open(tmp_path / ".sealog") as second:
        threads = [
            threading.Thread(target=_appender, args=(led, AGENTS[n], 150, start, results[n]))
            for n, led in enumerate((on_disk, second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        indices = sorted(r.index for mine in results for r in mine)
        assert indices == list(range(3, 303))
        assert second.verify().ok
    assert on_disk.verify().ok
    assert on_disk.size() == 303


def test_same_author_through_two_ledger_objects(on_disk: Ledger, tmp_path: Path) -> None:
    """Appends for one author alternating between two Ledger objects re-sign on the new head."""
    on_disk.register_agent(AGENTS[0], OWNER)
    with Ledger.open(tmp_path / ".sealog") as second:
        for n in range(6):
            (on_disk, second)[n % 2].append(AGENTS[0], "alternate", metadata={"n": n})
        assert second.verify().ok
    chain = [s.entry for s in on_disk.entries(agent=AGENTS[0].address)]
    assert [e.seq for e in chain] == list(range(6))
    assert all(b.prev == a.id for a, b in itertools.pairwise(chain))


CHILD = """
import json, sys, time
from pathlib import Path
from sealog.crypto import SigningKey
from sealog.ledger import Ledger

home, seed, ready, go, count, mine, theirs = sys.argv[1:]
key = SigningKey(bytes.fromhex(seed))
receipts = []
with Ledger.open(Path(home)) as ledger:
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.001)
    for i in range(int(count)):
        if i == int(count) // 2:
            Path(mine).touch()
            while not Path(theirs).exists():
                time.sleep(0.001)
        receipts.append(ledger.append(key, "process", metadata={"i": i}))
print(json.dumps([[r.index, r.id] for r in receipts]))
"""


def test_two_processes_append_to_one_file(on_disk: Ledger, tmp_path: Path) -> None:
    """Two processes appending to one file interleave; receipts distinct, stored; log verifies."""
    on_disk.register_agent(AGENTS[2], OWNER)
    on_disk.register_agent(AGENTS[3], OWNER)
    go = tmp_path / "go"
    ready = [tmp_path / "ready-0", tmp_path / "ready-1"]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(tmp_path / ".sealog"),
                agent.seed.hex(),
                str(flag),
                str(go),
                "150",
                str(tmp_path / f"half-{n}"),
                str(tmp_path / f"half-{1 - n}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n, (agent, flag) in enumerate(zip((AGENTS[2], AGENTS[3]), ready, strict=True))
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready):
            assert all(child.poll() is None for child in children), "a writer died early"
            assert time.monotonic() < deadline, "the writers never became ready"
            time.sleep(0.005)
        go.touch()
        outputs = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err.decode()
            outputs.append(json.loads(out))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.communicate()
    first, second = ({index for index, _ in out} for out in outputs)
    assert not first & second
    assert first | second == set(range(3, 303))
    assert min(second) < max(first)
    assert min(first) < max(second), "the two writers should have interleaved"
    for agent, out in zip((AGENTS[2], AGENTS[3]), outputs, strict=True):
        for index, entry_id in out:
            assert on_disk.get(index).entry.id == entry_id
        assert [s.entry.seq for s in on_disk.entries(agent=agent.address)] == list(range(150))
    assert on_disk.size() == 303
    assert on_disk.verify().ok
