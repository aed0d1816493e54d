"""Tampering with a real on-disk ledger, as an attacker with write access to the file would.

Each test edits ``ledger.db`` with raw sqlite3, reopens the ledger and checks that ``verify()``
fails with the right gap kinds, located exactly (index, author, seq, checkpoint size).
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealog.crypto import SigningKey
from sealog.errors import FormatError
from sealog.home import read_key_file
from sealog.ledger import Checkpoint, Ledger, VerifyReport
from sealog.ledger._merkle import leaf_hash

TARGET = 1_234
"""The entry most tests tamper with: in the middle, well inside the first 2,000-row page."""

Located = tuple[str, int | None, str | None, int | None, int | None]


def located(report: VerifyReport) -> list[Located]:
    """The report's gaps as (kind, index, author, seq, size), in a stable order."""
    return sorted(
        ((g.kind, g.index, g.author, g.seq, g.size) for g in report.gaps),
        key=repr,
    )


def expect(*gaps: Located) -> list[Located]:
    """The expected gaps, in the order :func:`located` uses."""
    return sorted(gaps, key=repr)


def verify(built, **kwargs: str) -> VerifyReport:
    """Reopen the (tampered) ledger and verify it."""
    with built.open() as ledger:
        return ledger.verify(**kwargs)


def read_row(conn: sqlite3.Connection, index: int) -> tuple[bytes, bytes]:
    """The stored (data, sig) at ``index``."""
    data, sig = conn.execute("SELECT data, sig FROM entries WHERE idx = ?", (index,)).fetchone()
    return bytes(data), bytes(sig)


def flip(blob: bytes, at: int) -> bytes:
    """``blob`` with the byte at ``at`` changed to another printable character."""
    changed = bytearray(blob)
    changed[at] = ord("x") if changed[at] != ord("x") else ord("y")
    return bytes(changed)


def renumber(conn: sqlite3.Connection, first: int, shift: int) -> None:
    """Move every row from index ``first`` on by ``shift`` (two steps: idx is a primary key)."""
    conn.execute("UPDATE entries SET idx = -(idx + ?) - 1 WHERE idx >= ?", (shift, first))
    conn.execute("UPDATE entries SET idx = -idx - 1 WHERE idx < 0")


def swap(conn: sqlite3.Connection, a: int, b: int) -> None:
    """Exchange the rows at indices ``a`` and ``b``."""
    conn.execute("UPDATE entries SET idx = -1 WHERE idx = ?", (a,))
    conn.execute("UPDATE entries SET idx = ? WHERE idx = ?", (a, b))
    conn.execute("UPDATE entries SET idx = ? WHERE idx = -1", (b,))


def test_built_ledger_is_intact(disk_ledger) -> None:
    """The untouched on-disk ledger verifies with every signature and checkpoint checked."""
    report = verify(disk_ledger)
    assert report.ok, report.gaps
    assert report.gaps == []
    assert report.chain_intact
    assert report.complete
    assert report.total_entries == disk_ledger.size
    assert report.tree_size == disk_ledger.size
    assert report.authors == 5
    assert report.signatures_checked == disk_ledger.size
    assert report.checkpoints_checked == len(disk_ledger.checkpoints) + 1  # and the empty tree's


def test_untouched_ledger_verifies_per_agent(disk_ledger) -> None:
    """verify(agent=X) is ok for every author; it checks X's entries and every register entry."""
    registrations = len(disk_ledger.authors)  # indices 0..4: the owner's own, then the agents'
    assert all(author == disk_ledger.owner.address for author, _ in disk_ledger.rows[:5])
    for key in disk_ledger.authors:
        report = verify(disk_ledger, agent=key.address)
        assert report.ok, (key.address, report.gaps)
        assert report.scope == f"agent {key.address}"
        assert report.authors == 1
        assert report.signatures_checked == sum(
            author == key.address or index < registrations
            for index, (author, _) in enumerate(disk_ledger.rows)
        )


def test_altered_data_byte_in_a_value(disk_ledger) -> None:
    """One byte inside a string of an entry's data changed: 'altered' at its index, author, seq."""
    author, seq = disk_ledger.rows[TARGET]
    with disk_ledger.sql() as conn:
        data, _ = read_row(conn, TARGET)
        at = data.index(b'"action":"act_') + 11
        conn.execute("UPDATE entries SET data = ? WHERE idx = ?", (flip(data, at), TARGET))
    report = verify(disk_ledger)
    assert not report.ok
    below, above = disk_ledger.bracket(TARGET)
    assert located(report) == expect(
        ("altered", TARGET, author, seq, None),
        ("root-mismatch", below, None, None, above),
    )
    assert [g.detail for g in report.gaps if g.kind == "altered"] == [
        "entry bytes do not hash to the stored leaf"
    ]
    assert not report.chain_intact
    assert report.complete


def test_altered_data_byte_in_the_structure(disk_ledger) -> None:
    """Data made unparsable: 'altered' at its index, and its author's chain lacks that seq."""
    author, seq = disk_ledger.rows[TARGET]
    with disk_ledger.sql() as conn:
        data, _ = read_row(conn, TARGET)
        conn.execute("UPDATE entries SET data = ? WHERE idx = ?", (flip(data, 0), TARGET))
    report = verify(disk_ledger)
    assert not report.ok
    below, above = disk_ledger.bracket(TARGET)
    assert located(report) == expect(
        ("altered", TARGET, None, None, None),
        ("missing", None, author, seq, None),
        ("root-mismatch", below, None, None, above),
    )
    assert report.gaps[0].detail.startswith("entry is unreadable: ")


def test_altered_signature_byte(disk_ledger) -> None:
    """One byte of an entry's signature changed: 'altered' at its index, author and seq."""
    author, seq = disk_ledger.rows[TARGET]
    with disk_ledger.sql() as conn:
        _, sig = read_row(conn, TARGET)
        conn.execute("UPDATE entries SET sig = ? WHERE idx = ?", (flip(sig, 17), TARGET))
    report = verify(disk_ledger)
    assert not report.ok
    below, above = disk_ledger.bracket(TARGET)
    assert located(report) == expect(
        ("altered", TARGET, author, seq, None),
        ("root-mismatch", below, None, None, above),
    )


def test_altered_data_with_leaf_fixed_up(disk_ledger) -> None:
    """Data altered and its leaf column recomputed: the signature check still flags the entry."""
    author, seq = disk_ledger.rows[TARGET]
    with disk_ledger.sql() as conn:
        data, sig = read_row(conn, TARGET)
        forged = flip(data, data.index(b'"action":"act_') + 11)
        conn.execute(
            "UPDATE entries SET data = ?, leaf = ? WHERE idx = ?",
            (forged, leaf_hash(sig + forged), TARGET),
        )
    report = verify(disk_ledger)
    assert not report.ok
    below, above = disk_ledger.bracket(TARGET)
    assert located(report) == expect(
        ("altered", TARGET, author, seq, None),
        ("root-mismatch", below, None, None, above),
    )
    assert [g.detail for g in report.gaps if g.kind == "altered"] == ["signature does not verify"]


def test_deleted_middle_entry(disk_ledger) -> None:
    """A middle entry deleted: its index and its author's seq are reported missing."""
    author, seq = disk_ledger.rows[TARGET]
    with disk_ledger.sql() as conn:
        conn.execute("DELETE FROM entries WHERE idx = ?", (TARGET,))
    report = verify(disk_ledger)
    assert not report.ok
    assert located(report) == expect(
        ("missing", TARGET, None, None, None),
        ("missing", None, author, seq, None),
        ("root-mismatch", None, None, None, disk_ledger.size),
    )
    assert not report.complete
    assert report.total_entries == disk_ledger.size - 1


def test_deleted_entry_at_page_boundary(disk_ledger) -> None:
    """The entry at index 2,000 (the first of the reader's second page) deleted: still found."""
    author, seq = disk_ledger.rows[2_000]
    with disk_ledger.sql() as conn:
        conn.execute("DELETE FROM entries WHERE idx = 2000")
    report = verify(disk_ledger)
    assert located(report) == expect(
        ("missing", 2_000, None, None, None),
        ("missing", None, author, seq, None),
        ("root-mismatch", None, None, None, disk_ledger.size),
    )


def test_deleted_middle_entry_with_indices_renumbered(disk_ledger) -> None:
    """Middle entry deleted, later rows renumbered: seq hole, short tail, bracketed mismatch."""
    author, seq = disk_ledger.rows[TARGET]
    with disk_ledger.sql() as conn:
        conn.execute("DELETE FROM entries WHERE idx = ?", (TARGET,))
        renumber(conn, TARGET + 1, -1)
    report = verify(disk_ledger)
    assert not report.ok
    below, above = disk_ledger.bracket(TARGET)
    size = disk_ledger.size
    assert located(report) == expect(
        ("missing", None, author, seq, None),
        ("truncated-tail", size - 1, None, None, size),
        ("root-mismatch", below, None, None, above),
    )


def test_deleted_tail_entries(disk_ledger) -> None:
    """The last 25 entries deleted (checkpoints kept): 'truncated-tail' where the log now ends."""
    size = disk_ledger.size
    with disk_ledger.sql() as conn:
        conn.execute("DELETE FROM entries WHERE idx >= ?", (size - 25,))
    report = verify(disk_ledger)
    assert not report.ok
    assert located(report) == expect(("truncated-tail", size - 25, None, None, size))
    assert not report.complete
    assert report.chain_intact


def test_deleted_tail_with_its_checkpoints_needs_a_saved_checkpoint(
    disk_ledger,
) -> None:
    """Tail and its checkpoints deleted: only a saved checkpoint exposes it, as 'truncated-tail'.

    From the file alone this is undetectable: what remains is a consistent, fully signed, smaller
    log, so a plain verify() is ok. Only a checkpoint note saved before the deletion
    (verify(since_checkpoint=note)) shows that the log once committed to more entries.
    """
    with disk_ledger.open() as ledger:
        saved = ledger.checkpoint()
    size = disk_ledger.size
    cut = disk_ledger.checkpoints[-4]
    assert cut < size
    with disk_ledger.sql() as conn:
        conn.execute("DELETE FROM entries WHERE idx >= ?", (cut,))
        conn.execute("DELETE FROM checkpoints WHERE size > ?", (cut,))
    plain = verify(disk_ledger)
    assert plain.ok, plain.gaps
    assert plain.tree_size == cut
    assert plain.consistent_with_saved is None
    report = verify(disk_ledger, since_checkpoint=saved)
    assert not report.ok
    assert located(report) == expect(("truncated-tail", cut, None, None, size))
    assert report.consistent_with_saved is False
    assert not report.complete


def test_saved_checkpoint_of_an_intact_ledger(disk_ledger) -> None:
    """An intact ledger is consistent with checkpoints saved earlier, old and latest."""
    with disk_ledger.open() as ledger:
        old = ledger._storage.checkpoint(disk_ledger.checkpoints[10])
        assert old is not None
        for note in (old, ledger.checkpoint()):
            report = ledger.verify(since_checkpoint=note)
            assert report.ok, report.gaps
            assert report.consistent_with_saved is True


def test_reordered_entries_of_one_author(disk_ledger) -> None:
    """Two consecutive entries of one author swapped: 'reordered' at the later position."""
    author, seq = disk_ledger.rows[TARGET]
    later = disk_ledger.index_of(author, seq + 1)
    with disk_ledger.sql() as conn:
        swap(conn, TARGET, later)
    report = verify(disk_ledger)
    assert not report.ok
    below, above = disk_ledger.bracket(TARGET)
    assert located(report) == expect(
        ("reordered", later, author, seq, None),
        ("root-mismatch", below, None, None, above),
    )
    assert not report.chain_intact


def test_reordered_entries_of_different_authors(disk_ledger) -> None:
    """Adjacent entries of two authors swapped: only a bracketed 'root-mismatch' shows it."""
    first = next(
        i
        for i in range(TARGET, disk_ledger.size)
        if disk_ledger.rows[i][0] != disk_ledger.rows[i + 1][0]
    )
    with disk_ledger.sql() as conn:
        swap(conn, first, first + 1)
    report = verify(disk_ledger)
    assert not report.ok
    below, above = disk_ledger.bracket(first)
    assert located(report) == expect(("root-mismatch", below, None, None, above))
    assert report.gaps[0].detail.endswith(f"indices {below}..{above - 1}")


@pytest.mark.parametrize("where", ["end", "after"])
def test_duplicated_entry(disk_ledger, where: str) -> None:
    """A stored copy of an entry: 'duplicated' at the copy, entries beyond the last checkpoint."""
    author, seq = disk_ledger.rows[TARGET]
    size = disk_ledger.size
    copy_at = size if where == "end" else TARGET + 1
    with disk_ledger.sql() as conn:
        conn.execute("DROP INDEX entries_author_seq")
        if where == "after":
            renumber(conn, TARGET + 1, 1)
        conn.execute(
            "INSERT INTO entries SELECT ?, leaf, data, sig, author, seq, kind, time "
            "FROM entries WHERE idx = ?",
            (copy_at, TARGET),
        )
    report = verify(disk_ledger)
    assert not report.ok
    gaps = [
        ("duplicated", copy_at, author, seq, None),
        ("beyond-checkpoint", size, None, None, size),
    ]
    if where == "after":
        below, above = disk_ledger.bracket(copy_at)
        gaps.append(("root-mismatch", below, None, None, above))
    assert located(report) == expect(*gaps)
    assert report.total_entries == size + 1


def test_duplicated_entry_over_another(disk_ledger) -> None:
    """A row overwritten by a copy of another: 'duplicated' there, the lost seq 'missing'."""
    author, seq = disk_ledger.rows[TARGET]
    victim = next(
        i
        for i in range(TARGET + 300, disk_ledger.size)
        if disk_ledger.rows[i][0] != author
        and (disk_ledger.rows[i][0], disk_ledger.rows[i][1] + 1) in disk_ledger.rows[i:]
    )
    lost_author, lost_seq = disk_ledger.rows[victim]
    with disk_ledger.sql() as conn:
        conn.execute("DROP INDEX entries_author_seq")
        conn.execute("DELETE FROM entries WHERE idx = ?", (victim,))
        conn.execute(
            "INSERT INTO entries SELECT ?, leaf, data, sig, author, seq, kind, time "
            "FROM entries WHERE idx = ?",
            (victim, TARGET),
        )
    report = verify(disk_ledger)
    below, above = disk_ledger.bracket(victim)
    expected = [
        ("duplicated", victim, author, seq, None),
        ("missing", None, lost_author, lost_seq, None),
        ("root-mismatch", below, None, None, above),
    ]
    assert located(report) == expect(*expected)


def test_key_added_to_the_registry_by_hand(disk_ledger) -> None:
    """A key put in the registry table by hand, never registered in the log: unknown-key."""
    intruder = SigningKey(bytes([0x66]) * 32)
    with disk_ledger.sql() as conn:
        conn.execute(
            "INSERT INTO registry VALUES (?, ?, 'agent', ?, 'intruder', 5, ?)",
            (
                intruder.address,
                intruder.public_key.raw,
                disk_ledger.owner.address,
                "2026-01-01T00:00:00.000000Z",
            ),
        )
    with disk_ledger.open() as ledger:
        receipt = ledger.append(intruder, "exfiltrate")
        report = ledger.verify()
        mine = ledger.verify(agent=intruder.address)
    assert receipt.index == disk_ledger.size
    assert not report.ok
    assert located(report) == expect(("unknown-key", receipt.index, intruder.address, 0, None))
    assert located(mine) == expect(
        ("unknown-key", receipt.index, intruder.address, 0, None),
        ("unknown-key", None, intruder.address, None, None),
    )


def test_latest_checkpoint_deleted(disk_ledger) -> None:
    """The latest checkpoint row deleted: the entries it covered are 'beyond-checkpoint'."""
    previous = disk_ledger.checkpoints[-2]
    with disk_ledger.sql() as conn:
        conn.execute("DELETE FROM checkpoints WHERE size = ?", (disk_ledger.size,))
    report = verify(disk_ledger)
    assert not report.ok
    assert located(report) == expect(("beyond-checkpoint", previous, None, None, previous))
    assert report.tree_size == previous


def forged_root(size: int) -> bytes:
    """A root hash no tree of this ledger has."""
    return hashlib.sha256(f"fork at {size}".encode()).digest()


def test_forked_checkpoint_signed_with_the_log_key(disk_ledger) -> None:
    """A log-signed middle checkpoint with another root (later ones match): 'forked-checkpoint'."""
    origin, key = read_key_file(disk_ledger.home / "log.key")
    size = disk_ledger.bracket(TARGET)[1]
    note = Checkpoint(origin, size, forged_root(size)).sign(key).render()
    with disk_ledger.sql() as conn:
        conn.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (note, size))
    report = verify(disk_ledger)
    assert not report.ok
    assert located(report) == expect(("forked-checkpoint", None, None, None, size))
    assert not report.chain_intact
    assert report.complete


@pytest.mark.parametrize("which", ["middle", "latest"])
def test_checkpoint_signed_with_a_foreign_key(disk_ledger, which: str) -> None:
    """A checkpoint re-signed by a foreign key under the log's name: 'bad-checkpoint' there."""
    origin, _ = read_key_file(disk_ledger.home / "log.key")
    size = disk_ledger.bracket(TARGET)[1] if which == "middle" else disk_ledger.size
    note = Checkpoint(origin, size, forged_root(size)).sign(SigningKey.generate()).render()
    with disk_ledger.sql() as conn:
        conn.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (note, size))
    report = verify(disk_ledger)
    assert not report.ok
    expected = [("bad-checkpoint", None, None, None, size)]
    if which == "latest":
        previous = disk_ledger.checkpoints[-2]
        expected.append(("beyond-checkpoint", previous, None, None, previous))
    assert located(report) == expect(*expected)


def test_verify_entry_on_an_intact_entry(disk_ledger) -> None:
    """verify_entry of an untouched entry: signature valid, chain intact, included."""
    with disk_ledger.open() as ledger:
        stored = ledger.get(TARGET)
        for ref in (TARGET, stored.entry.id):
            found = ledger.verify_entry(ref)
            assert found.index == TARGET
            assert found.id == stored.entry.id
            assert found.author == disk_ledger.rows[TARGET][0]
            assert (found.signature_valid, found.chain_intact, found.included) == (True, True, True)
            assert found.detail == "signature valid, chain intact, included"
            assert found.checkpoint == ledger.checkpoint()
            checkpoint, _ = Checkpoint.open(ledger.checkpoint(), ledger.vkey)
            assert found.proof is not None
            found.proof.verify(checkpoint.root)


def test_verify_entry_on_entry_with_altered_bytes(disk_ledger) -> None:
    """verify_entry of an entry whose bytes no longer match the stored leaf raises FormatError."""
    with disk_ledger.sql() as conn:
        data, _ = read_row(conn, TARGET)
        at = data.index(b'"action":"act_') + 11
        conn.execute("UPDATE entries SET data = ? WHERE idx = ?", (flip(data, at), TARGET))
    with disk_ledger.open() as ledger, pytest.raises(FormatError, match="does not match its leaf"):
        ledger.verify_entry(TARGET)


def test_verify_entry_on_forged_entry(disk_ledger) -> None:
    """verify_entry of a forged entry (leaf fixed up): bad signature, chain cut, not included."""
    author, seq = disk_ledger.rows[TARGET]
    with disk_ledger.sql() as conn:
        data, sig = read_row(conn, TARGET)
        forged = flip(data, data.index(b'"action":"act_') + 11)
        conn.execute(
            "UPDATE entries SET data = ?, leaf = ? WHERE idx = ?",
            (forged, leaf_hash(sig + forged), TARGET),
        )
    with disk_ledger.open() as ledger:
        found = ledger.verify_entry(TARGET)
    assert found.signature_valid is False
    assert found.chain_intact is False
    assert found.included is False
    assert found.detail.startswith(
        f"signature does not verify; seq {seq + 1} does not cite this entry; not included: "
    )
    assert found.author == author


def test_verify_entry_next_to_a_deleted_entry(disk_ledger) -> None:
    """verify_entry of the entry after a deleted one of its author: its prev finds nothing."""
    author, seq = disk_ledger.rows[TARGET]
    after = disk_ledger.index_of(author, seq + 1)
    with disk_ledger.sql() as conn:
        conn.execute("DELETE FROM entries WHERE idx = ?", (TARGET,))
    with disk_ledger.open() as ledger:
        found = ledger.verify_entry(after)
    assert (found.signature_valid, found.chain_intact, found.included) == (True, False, True)
    assert found.detail == f"prev does not match seq {seq}"


# -- an untouched ledger never alarms -----------------------------------------------------------

AUTHORS = 4
_batches = st.lists(
    st.tuples(
        st.booleans(),  # submit a batch (True) or append one entry (False)
        st.lists(st.integers(0, AUTHORS), min_size=1, max_size=12),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(_batches)
def test_random_untouched_ledgers_always_verify(shapes: list[tuple[bool, list[int]]]) -> None:
    """Any ledger built from random batch shapes verifies, whole and per agent."""
    owner = SigningKey(bytes([7]) * 32)
    agents = [SigningKey(bytes([0x40 + n]) * 32) for n in range(AUTHORS)]
    authors = [owner, *agents]
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    with Ledger.in_memory() as ledger:
        for subject in authors:  # dated like the actions: an author's times never go backwards
            fields = {
                "subject": subject.address,
                "public_key": subject.public_key.b64,
                "role": "owner" if subject is owner else "agent",
            }
            ledger.append_entry(owner, "register", fields, time=moment)
        for as_batch, picks in shapes:
            if as_batch:
                ledger.submit(
                    [
                        ledger.sign_next(
                            authors[p], "action", {"action": "a", "metadata": {}}, time=moment
                        )
                        for p in picks
                    ]
                )
            else:
                ledger.append(authors[picks[0]], "b", time=moment)
        report = ledger.verify()
        assert report.ok, report.gaps
        assert report.total_entries == ledger.size()
        assert report.checkpoints_checked == len(ledger._storage.checkpoints())
        for key in authors:
            mine = ledger.verify(agent=key.address)
            assert mine.ok, (key.address, mine.gaps)
        stranger = SigningKey(bytes([0x99]) * 32).address
        assert [g.kind for g in ledger.verify(agent=stranger).gaps] == ["unknown-key"]
