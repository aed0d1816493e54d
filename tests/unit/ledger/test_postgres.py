"""The PostgreSQL backend: the ledger's behaviour on it equals its behaviour on SQLite.

Every test runs in a fresh schema of the server at 127.0.0.1:5432 (``SEALOG_TEST_POSTGRES``
overrides the URL) and drops it afterwards; without a reachable server they are skipped, saying
why. Most of test_ledger.py's API tests run here a second time, against a ``ledger`` fixture
that lives in PostgreSQL.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from test_ledger import (  # the API tests, collected again here against the fixture below
    AGENTS,
    MOMENT,
    OWNER,
    fill,
    test_append_returns_a_receipt_with_a_verifiable_checkpoint,  # noqa: F401
    test_appended_fields_round_trip,  # noqa: F401
    test_consistency_proof_out_of_range,  # noqa: F401
    test_consistency_proofs_between_every_pair_of_sizes,  # noqa: F401
    test_empty_ledger_has_a_signed_checkpoint_and_verifies,  # noqa: F401
    test_entries_filter_by_agent_and_range,  # noqa: F401
    test_get_by_index_and_by_id,  # noqa: F401
    test_get_of_a_bad_reference,  # noqa: F401
    test_group_commit_under_concurrency,  # noqa: F401
    test_inclusion_proof_fails_against_another_root,  # noqa: F401
    test_inclusion_proof_out_of_range,  # noqa: F401
    test_inclusion_proofs_for_every_index_and_size,  # noqa: F401
    test_register_agent_registers_an_unknown_owner_first,  # noqa: F401
    test_register_owner_and_agent_are_recorded,  # noqa: F401
    test_root_at_matches_every_stored_checkpoint,  # noqa: F401
    test_sign_next_and_submit_chain_within_one_batch,  # noqa: F401
    test_verify_entry_of_intact_entries,  # noqa: F401
    test_verify_of_an_unregistered_agent_reports_unknown_key,  # noqa: F401
    test_verify_reports_a_clean_log,  # noqa: F401
    test_verify_since_a_checkpoint_of_another_log_is_refused,  # noqa: F401
)

from sealog.crypto import SigningKey
from sealog.errors import EntryRejected, StorageError, UsageError
from sealog.gate import Gate
from sealog.gate.replay import replay
from sealog.ledger import Ledger
from sealog.ledger.storage import Batch, open_storage
from sealog.ledger.storage._sqlite import SQLiteStorage
from sealog.policy.store import set_policy

psycopg = pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")

SERVER = os.environ.get("SEALOG_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
ORIGIN = "sealog.test/unit"
LOG_KEY = SigningKey(bytes([0xC0]) * 32)


@pytest.fixture(scope="session")
def server() -> str:
    """The server's URL, or a skip naming why it cannot be used."""
    try:
        with psycopg.connect(SERVER, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        where = SERVER.rsplit("@", 1)[-1].split("/", 1)[0]
        pytest.skip(f"PostgreSQL not reachable at {where}: {' '.join(str(exc).split())}")
    return SERVER


@pytest.fixture
def schema(server: str) -> Iterator[str]:
    """A fresh schema name, dropped with everything in it after the test."""
    name = f"sealog_test_{secrets.token_hex(6)}"
    yield name
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def db(server: str, schema: str) -> str:
    """The ``--db`` URL of the test's schema."""
    return f"{server}?schema={schema}"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home holding the log key (and an unused SQLite file)."""
    Ledger.init(tmp_path / ".sealog", origin=ORIGIN).close()
    return tmp_path / ".sealog"


@pytest.fixture
def ledger(home: Path, db: str) -> Iterator[Ledger]:
    """An empty ledger whose entries live in PostgreSQL, opened the public way."""
    with Ledger.open(home, db=db) as made:
        yield made


@pytest.fixture
def on_disk(ledger: Ledger) -> Ledger:
    """test_ledger.py's on-disk ledger, here in PostgreSQL."""
    return ledger


def sql(db: str, statement: str) -> None:
    """Run one statement in the test's schema behind the ledger's back."""
    server, schema = db.split("?schema=")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(statement)


def batch_of(ledger: Ledger, key: SigningKey, count: int, start: int = 0) -> list:
    """``count`` chained actions of ``key`` signed without appending them."""
    return [
        ledger.sign_next(key, "action", {"action": "bulk", "metadata": {"n": n}})
        for n in range(start, start + count)
    ]


# -- opening ------------------------------------------------------------------------------------


def test_open_storage_picks_the_backend_from_the_target(tmp_path: Path, db: str) -> None:
    """A postgresql:// or postgres:// URL opens PostgreSQL; anything else a SQLite file."""
    store = open_storage(tmp_path / "x.db")
    assert isinstance(store, SQLiteStorage)
    store.close()
    for url in (db, db.replace("postgresql://", "postgres://", 1)):
        store = open_storage(url)
        assert type(store).__name__ == "PostgresStorage"
        assert store.size() == 0
        store.close()


def test_a_missing_psycopg_is_a_usage_error_naming_the_extra(monkeypatch) -> None:
    """Without psycopg a PostgreSQL URL fails with a UsageError that says which extra to add."""
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.delitem(sys.modules, "sealog.ledger.storage._postgres", raising=False)
    with pytest.raises(UsageError) as caught:
        open_storage("postgresql://nobody@127.0.0.1/none")
    assert "sealog[postgres]" in caught.value.diagnostics()


def test_an_unreachable_server_is_a_one_line_storage_error(home: Path) -> None:
    """Connection refused is a StorageError on one line that never shows the password."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StorageError) as caught:
        Ledger.open(home, db=f"postgresql://postgres:hunter2@127.0.0.1:{port}/postgres")
    text = caught.value.diagnostics()
    assert "\n" not in text
    assert "hunter2" not in text
    assert f"postgresql://postgres@127.0.0.1:{port}/postgres?schema=sealog" in text
    assert "refused" in text.lower()


def test_a_schema_holding_another_log_is_refused(home: Path, db: str, tmp_path: Path) -> None:
    """A home whose origin differs from the one recorded in the schema cannot open it."""
    Ledger.open(home, db=db).close()
    other = Ledger.init(tmp_path / "other", origin="sealog.test/other")
    other.close()
    with pytest.raises(UsageError, match=r"holds the log 'sealog\.test/unit'"):
        Ledger.open(tmp_path / "other", db=db)


def test_reopened_ledger_keeps_everything_and_continues_chains(home: Path, db: str) -> None:
    """Closing and reopening a PostgreSQL ledger keeps entries, checkpoints and chain heads."""
    with Ledger.open(home, db=db) as first:
        fill(first, 4)
        checkpoint = first.checkpoint()
    with Ledger.open(home, db=db) as again:
        assert again.size() == 7
        assert again.checkpoint() == checkpoint
        again.append(AGENTS[0], "after_reopen")
        assert again.head(AGENTS[0].address).seq == 2
        assert again.verify(since_checkpoint=checkpoint).ok


# -- same log, same bytes -----------------------------------------------------------------------


def test_proofs_and_checkpoints_equal_the_sqlite_ledgers(db: str) -> None:
    """The same entries committed in the same groups under the same log key give identical
    rows, roots, proofs and checkpoint notes in SQLite and PostgreSQL."""
    lite = Ledger(SQLiteStorage(":memory:"), LOG_KEY, ORIGIN)
    pg = Ledger(open_storage(db, origin=ORIGIN), LOG_KEY, ORIGIN)
    try:
        lite._seal_empty()
        pg._seal_empty()
        fill(lite, 9)
        lite.submit(batch_of(lite, AGENTS[0], 5))
        entries = [s.entry for s in lite.entries()]
        sizes = [size for size, _ in lite._storage.checkpoints()]
        for old, new in itertools.pairwise(sizes):
            pg.submit(entries[old:new])
        assert pg.size() == lite.size() == 17
        assert list(pg._storage.raw_entries()) == list(lite._storage.raw_entries())
        assert pg._storage.checkpoints() == lite._storage.checkpoints()
        assert pg.registrations() == lite.registrations()
        for size in range(1, 18):
            assert pg.root_at(size) == lite.root_at(size)
            for index in range(size):
                assert pg.prove_inclusion(index, size) == lite.prove_inclusion(index, size)
            for old in range(1, size + 1):
                assert pg.prove_consistency(old, size) == lite.prove_consistency(old, size)
        for agent in AGENTS[:2]:
            assert pg.head(agent.address) == lite.head(agent.address)
            found = [led._storage.by_seq(agent.address, 2) for led in (pg, lite)]
            assert len({(s.index, s.entry.data, s.entry.signature) for s in found if s}) == 1
    finally:
        lite.close()
        pg.close()


def test_verify_reports_intact_and_complete(ledger: Ledger) -> None:
    """A PostgreSQL log of batches and single appends verifies intact and complete."""
    fill(ledger, 6)
    ledger.submit(batch_of(ledger, AGENTS[1], 40))
    report = ledger.verify()
    assert report.ok, report.gaps
    assert report.chain_intact
    assert report.complete
    assert report.total_entries == report.tree_size == 49
    assert report.signatures_checked == 49


def test_an_entry_altered_in_the_database_is_reported(ledger: Ledger, db: str) -> None:
    """Bytes changed behind the ledger's back are found by verify, as with SQLite."""
    fill(ledger, 4)
    sql(
        db,
        "UPDATE entries SET data = convert_to(replace(convert_from(data, 'UTF8'), "
        "'thread', 'Thread'), 'UTF8') WHERE idx = 4",
    )
    report = ledger.verify()
    assert not report.chain_intact
    assert 4 in {g.index for g in report.gaps}


# -- refusals and failures ----------------------------------------------------------------------


def test_a_refused_batch_changes_nothing(ledger: Ledger) -> None:
    """A batch whose last entry breaks its chain is refused whole: no row, checkpoint or head."""
    fill(ledger, 3)
    before = (ledger.size(), ledger.checkpoint(), ledger._storage.checkpoints())
    head = ledger.head(AGENTS[0].address)
    entries = batch_of(ledger, AGENTS[0], 4)
    stray = SigningKey(bytes([0xEE]) * 32)
    entries.append(ledger.sign_next(stray, "action", {"action": "x", "metadata": {}}))
    with pytest.raises(EntryRejected) as caught:
        ledger.submit(entries)
    assert caught.value.code == "unknown-author"
    assert (ledger.size(), ledger.checkpoint(), ledger._storage.checkpoints()) == before
    assert ledger.head(AGENTS[0].address) == head
    assert ledger.append(AGENTS[0], "after_refusal").index == before[0]
    assert ledger.verify().ok


def test_a_batch_the_database_refuses_is_rolled_back(ledger: Ledger) -> None:
    """A write that breaks a table constraint is a StorageError, leaves nothing, and the
    store keeps working on the same connections."""
    fill(ledger, 2)
    storage = ledger._storage
    size, checkpoints = storage.size(), storage.checkpoints()
    stored = storage.entry(1)
    assert stored is not None
    duplicate = Batch(size, [stored.entry], [], [], size + 1, "not a note")
    with pytest.raises(StorageError, match="nothing stored"), storage.writer() as txn:
        txn.write(duplicate)
    assert (storage.size(), storage.checkpoints()) == (size, checkpoints)
    assert ledger.append(AGENTS[1], "after_rollback").index == size
    assert ledger.verify().ok


def test_a_closed_store_refuses_reads_with_a_storage_error(home: Path, db: str) -> None:
    """Reading a closed PostgreSQL store is a StorageError, not a driver exception."""
    ledger = Ledger.open(home, db=db)
    ledger.close()
    with pytest.raises(StorageError, match="is closed"):
        ledger.size()


def test_connections_the_server_dropped_are_replaced(ledger: Ledger, server: str) -> None:
    """Pooled connections killed by the server (restart, idle timeout) are replaced: the next
    read and the next write succeed."""
    fill(ledger, 2)
    pids = [conn.info.backend_pid for conn in ledger._storage._idle]
    assert pids
    with psycopg.connect(server, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert ledger.size() == 5
    with psycopg.connect(server, autocommit=True) as admin:
        for conn in ledger._storage._idle:
            admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    assert ledger.append(AGENTS[0], "after_restart").index == 5
    assert ledger.verify().ok


def test_readers_on_many_threads_while_one_writes(ledger: Ledger) -> None:
    """Reads (entries, proofs, heads) from several threads run safely alongside appends."""
    fill(ledger, 4)
    stop = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            while not stop.is_set():
                size = ledger.size()
                assert len(list(ledger.entries(end=size))) == size
                ledger.prove_inclusion(size - 1, size).verify(ledger.root_at(size))
                ledger.head(AGENTS[0].address)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        for n in range(60):
            ledger.append(AGENTS[n % 2], "while_reading", metadata={"n": n})
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert not errors, errors[0]
    assert ledger.size() == 67
    assert ledger.verify().ok


# -- several writers ----------------------------------------------------------------------------


def test_two_ledger_objects_alternate_on_one_schema(home: Path, db: str) -> None:
    """Two Ledgers on one schema (two processes' view) alternate appends: each reloads what
    the other wrote, one author's chain stays linked across both, and both see one log."""
    with Ledger.open(home, db=db) as first, Ledger.open(home, db=db) as second:
        first.register_agent(AGENTS[0], OWNER)
        second.register_agent(AGENTS[1], OWNER)
        for n in range(10):
            (first, second)[n % 2].append(AGENTS[0], "alternate", metadata={"n": n})
            first.submit(batch_of(first, AGENTS[1], 3, start=3 * n))
        for led in (first, second):
            assert led.size() == 43
            assert led.checkpoint() == first.checkpoint()
            assert led.verify().ok
        for agent, count in ((AGENTS[0], 10), (AGENTS[1], 30)):
            chain = [s.entry for s in first.entries(agent=agent.address)]
            assert [e.seq for e in chain] == list(range(count))
            assert all(b.prev == a.id for a, b in itertools.pairwise(chain))


def _appender(ledger: Ledger, key: SigningKey, count: int, start: threading.Barrier, out: list):
    start.wait()
    out.extend(ledger.append(key, "concurrent", metadata={"i": i}) for i in range(count))


def test_two_ledger_objects_share_one_log_from_two_threads(home: Path, db: str) -> None:
    """Two Ledgers appending from two threads at once interleave without losing an entry."""
    with Ledger.open(home, db=db) as first, Ledger.open(home, db=db) as second:
        first.register_agent(AGENTS[0], OWNER)
        first.register_agent(AGENTS[1], OWNER)
        start = threading.Barrier(2)
        results: list[list] = [[], []]
        threads = [
            threading.Thread(target=_appender, args=(led, AGENTS[n], 100, start, results[n]))
            for n, led in enumerate((first, second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.index for mine in results for r in mine) == list(range(3, 203))
        assert first.verify().ok
        assert second.verify().ok


CHILD = """
import json, sys, time
from pathlib import Path
from sealog.crypto import SigningKey
from sealog.ledger import Ledger

home, db, seed, count, ready, go, mine, theirs = sys.argv[1:]
key = SigningKey(bytes.fromhex(seed))
receipts = []
with Ledger.open(home, db=db) as ledger:
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.001)
    for i in range(int(count)):
        if i == int(count) // 2:
            Path(mine).touch()
            while not Path(theirs).exists():
                time.sleep(0.001)
        receipts.append(ledger.append(key, "process", metadata={"i": i}))
print(json.dumps([r.index for r in receipts]))
"""


@pytest.mark.slow
def test_two_processes_append_to_one_schema(
    ledger: Ledger, home: Path, db: str, tmp_path: Path
) -> None:
    """Two processes appending at once are serialized by the advisory lock: their entries
    interleave, none is lost, and the log verifies."""
    ledger.register_agent(AGENTS[2], OWNER)
    ledger.register_agent(AGENTS[3], OWNER)
    go, ready = tmp_path / "go", [tmp_path / "ready-0", tmp_path / "ready-1"]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(home),
                db,
                agent.seed.hex(),
                "150",
                str(ready[n]),
                str(go),
                str(tmp_path / f"half-{n}"),
                str(tmp_path / f"half-{1 - n}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n, agent in enumerate((AGENTS[2], AGENTS[3]))
    ]
    outputs = []
    try:
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready):
            assert all(child.poll() is None for child in children), "a writer died early"
            assert time.monotonic() < deadline, "the writers never became ready"
            time.sleep(0.005)
        go.touch()
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err.decode()
            outputs.append(set(json.loads(out)))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    first, second = outputs
    assert not first & second
    assert first | second == set(range(3, 303))
    assert min(first) < max(second)
    assert min(second) < max(first)
    for agent in (AGENTS[2], AGENTS[3]):
        assert [s.entry.seq for s in ledger.entries(agent=agent.address)] == list(range(150))
    assert ledger.verify().ok


# -- the gate -----------------------------------------------------------------------------------


POLICY = """
actions: {allow: [transfer]}
aggregates: [{sum: amount, actions: [transfer], window: 24h, max: 1000, unit: "$"}]
"""


def test_the_gate_decides_and_replays_on_postgres(ledger: Ledger) -> None:
    """The README's gate example runs on PostgreSQL and its sealed decisions replay clean."""
    agent = AGENTS[4]
    ledger.register_agent(agent, OWNER, name="treasurer")
    set_policy(ledger, OWNER, agent.address, POLICY)
    with Gate(ledger, agent) as gate, gate.session(run_id="run-7") as session:
        first = session.pre_action("transfer", target="acct:42", args={"amount": 500})
        assert first.allowed
        session.post_action(first, cost="0.002")
        second = session.pre_action("transfer", target="acct:42", args={"amount": 600})
        assert second.outcome == "deny"
        assert second.blocking_rule == "aggregates[0]"
    report = replay(ledger.entries())
    assert report.ok, report
    assert ledger.verify().ok


def test_timestamps_and_fields_survive_the_round_trip(ledger: Ledger) -> None:
    """Times, unicode and nested metadata read back byte for byte from PostgreSQL."""
    ledger.register_agent(AGENTS[5], OWNER)
    receipt = ledger.append(
        AGENTS[5],
        "note",
        target="ünïcode/目标",
        metadata={"nested": {"list": [1, "two", None]}},
        time=MOMENT + timedelta(microseconds=123456),
    )
    stored = ledger.get(receipt.id)
    assert stored.index == receipt.index
    assert stored.entry.fields["target"] == "ünïcode/目标"
    assert stored.entry.fields["metadata"] == {"nested": {"list": [1, "two", None]}}
    assert stored.entry.time == ledger.head(AGENTS[5].address).time
