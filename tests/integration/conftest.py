"""Integration fixtures: a real on-disk ledger with several authors and many checkpoints.

The ledger is built once per session with ``Ledger.init`` and copied for every test, so each test
may tamper with its own copy (raw sqlite3 on ``ledger.db``, as an attacker with file access would).
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sealog.crypto import SigningKey
from sealog.ledger import Ledger

ORIGIN = "sealog.test/integration"
ENTRIES = 2_400
"""Entries in the built ledger: more than one 2,000-row page of the storage's reader."""
START = datetime(2026, 1, 1, tzinfo=UTC)
OWNER_SEED = bytes([1]) * 32
AGENT_SEEDS = tuple(bytes([0x10 + n]) * 32 for n in range(4))
BATCH_SIZES = (1, 1, 2, 3, 5, 8, 13, 21, 34)


@dataclass(frozen=True)
class BuiltLedger:
    """A copy of the built ledger and what is known about it from building it."""

    home: Path
    """The ``.sealog`` folder."""
    owner: SigningKey
    agents: tuple[SigningKey, ...]
    rows: tuple[tuple[str, int], ...]
    """``rows[index]`` is the (author, seq) of the entry at ``index``."""
    checkpoints: tuple[int, ...]
    """Sizes of the stored checkpoints, ascending (one per group commit)."""

    @property
    def db(self) -> Path:
        """The SQLite file."""
        return self.home / "ledger.db"

    @property
    def size(self) -> int:
        """Entries in the ledger as built."""
        return len(self.rows)

    @property
    def authors(self) -> tuple[SigningKey, ...]:
        """Every author: the owner, then the agents."""
        return (self.owner, *self.agents)

    def open(self) -> Ledger:
        """Open the ledger (close it, or use it as a context manager)."""
        return Ledger.open(self.home)

    @contextmanager
    def sql(self) -> Iterator[sqlite3.Connection]:
        """A raw autocommit connection to the file: the attacker's tool."""
        with closing(sqlite3.connect(self.db, isolation_level=None)) as conn:
            yield conn

    def bracket(self, index: int) -> tuple[int, int]:
        """The checkpoint sizes around a change at ``index``: last one ≤ index, first one > it."""
        sizes = self.checkpoints
        below = sizes[bisect_right(sizes, index) - 1] if sizes[0] <= index else 0
        return below, sizes[bisect_right(sizes, index)]

    def index_of(self, author: str, seq: int) -> int:
        """Where the entry (author, seq) sits."""
        return self.rows.index((author, seq))


def action_fields(n: int, author_number: int) -> dict[str, object]:
    """The fields of the n-th action made while building (agents name a target, owners not)."""
    fields: dict[str, object] = {"action": f"act_{author_number}", "metadata": {"n": n}}
    if author_number:
        fields["target"] = f"thread/{n % 97}"
    return fields


def register(
    ledger: Ledger,
    author: SigningKey,
    subject: SigningKey,
    role: str,
    moment: datetime,
    *,
    name: str | None = None,
) -> None:
    """Append a register entry dated ``moment`` (an author's times never go backwards, so the
    registrations must be dated before the actions, which are timed from START)."""
    fields: dict[str, object] = {
        "subject": subject.address,
        "public_key": subject.public_key.b64,
        "role": role,
    }
    if name is not None:
        fields["name"] = name
    ledger.append_entry(author, "register", fields, time=moment)


def build_ledger(home: Path, *, entries: int = ENTRIES, seed: int = 20261121) -> None:
    """Create a ledger at ``home``: one owner, four agents, mixed batches and single appends."""
    rng = random.Random(seed)
    owner = SigningKey(OWNER_SEED)
    agents = [SigningKey(s) for s in AGENT_SEEDS]
    authors = [owner, *agents]
    with Ledger.init(home, origin=ORIGIN) as ledger:
        register(ledger, owner, owner, "owner", START - timedelta(hours=1))
        for number, agent in enumerate(agents, 1):
            moment = START - timedelta(minutes=60 - number)
            register(ledger, owner, agent, "agent", moment, name=f"agent-{number}")
        made = ledger.size()
        while made < entries:
            size = min(rng.choice(BATCH_SIZES), entries - made)
            if size == 1 and rng.random() < 0.5:
                number = rng.randrange(len(authors))
                ledger.append_entry(
                    authors[number],
                    "action",
                    action_fields(made, number),
                    time=START + timedelta(seconds=made),
                )
            else:
                batch = []
                for k in range(size):
                    number = rng.randrange(len(authors))
                    batch.append(
                        ledger.sign_next(
                            authors[number],
                            "action",
                            action_fields(made + k, number),
                            time=START + timedelta(seconds=made + k),
                        )
                    )
                ledger.submit(batch)
            made += size


def describe(home: Path) -> BuiltLedger:
    """Read back what a built ledger holds."""
    with Ledger.open(home) as ledger:
        rows = tuple((s.entry.author, s.entry.seq) for s in ledger.entries())
    with closing(sqlite3.connect(home / "ledger.db")) as conn:
        sizes = tuple(
            int(size)
            for (size,) in conn.execute("SELECT size FROM checkpoints WHERE size > 0 ORDER BY size")
        )
    return BuiltLedger(
        home=home,
        owner=SigningKey(OWNER_SEED),
        agents=tuple(SigningKey(s) for s in AGENT_SEEDS),
        rows=rows,
        checkpoints=sizes,
    )


@pytest.fixture(scope="session")
def built_ledger(tmp_path_factory: pytest.TempPathFactory) -> BuiltLedger:
    """The pristine ledger, built once per session (do not modify it: use ``disk_ledger``)."""
    home = tmp_path_factory.mktemp("built") / ".sealog"
    build_ledger(home)
    built = describe(home)
    assert built.size == ENTRIES
    assert len(built.checkpoints) > 100
    return built


@pytest.fixture
def disk_ledger(built_ledger: BuiltLedger, tmp_path: Path) -> BuiltLedger:
    """A private copy of the built ledger, free to tamper with."""
    home = tmp_path / ".sealog"
    shutil.copytree(built_ledger.home, home)
    return replace(built_ledger, home=home)
