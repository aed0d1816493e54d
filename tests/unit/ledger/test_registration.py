"""Registration rules: keys are learned only from valid register entries met earlier (spec §8.2).

The log refuses bad registrations when they are submitted (see test_bad_input.py), so these tests
make them as a lying log operator or an attacker holding the ledger file would: hand-made entries
in a full bundle signed with the log's key, and rows written into a real ledger with raw SQL.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from sealog.crypto import PublicKey, SigningKey
from sealog.home import Home
from sealog.ledger import Checkpoint, Ledger, SignedEntry, VerifyReport, verify_bundle
from sealog.ledger._merkle import root_from_leaves
from sealog.ledger.entry import sign_entry
from sealog.policy.store import set_policy

LOG_KEY = SigningKey(bytes([0xE0]) * 32)
ORIGIN = "sealog.test/registration"
OWNER = SigningKey(bytes([0xE1]) * 32)
OTHER_OWNER = SigningKey(bytes([0xE2]) * 32)
AGENT = SigningKey(bytes([0xE3]) * 32)
SUB = SigningKey(bytes([0xE4]) * 32)
SMALL_ORDER_KEY = PublicKey(bytes([1]) + bytes(31))
"""The identity point: a key no valid registration may introduce (spec §3.1)."""
TIME = "2026-05-01T00:00:00.000000Z"

Located = tuple[str, int | None, str | None, int | None]


def located(report: VerifyReport) -> list[Located]:
    """The report's gaps as (kind, index, author, seq)."""
    return [(g.kind, g.index, g.author, g.seq) for g in report.gaps]


class Rows:
    """Hand-made entries in index order, each author's chain linked as the format requires."""

    def __init__(self, heads: dict[str, tuple[int, str | None]] | None = None) -> None:
        """Start empty, or continue the chains whose (seq, id) heads are given."""
        self.entries: list[SignedEntry] = []
        self.heads = dict(heads or {})

    def add(self, key: SigningKey, kind: str, **fields: Any) -> int:
        """Sign the author's next entry (no acceptance rule is checked); return its position."""
        seq, prev = self.heads.get(key.address, (-1, None))
        common = {"v": 1, "kind": kind, "author": key.address, "seq": seq + 1, "prev": prev}
        entry = sign_entry(key, {**common, "time": TIME, **fields})
        self.heads[key.address] = (entry.seq, entry.id)
        self.entries.append(entry)
        return len(self.entries) - 1

    def register(
        self,
        author: SigningKey,
        subject: SigningKey | PublicKey,
        role: str,
        *,
        address: str | None = None,
    ) -> int:
        """A register entry by ``author`` for ``subject`` (its address unless one is given)."""
        public = subject.public_key if isinstance(subject, SigningKey) else subject
        return self.add(
            author,
            "register",
            subject=address or public.address,
            public_key=public.b64,
            role=role,
        )

    def act(self, key: SigningKey) -> int:
        """An action by ``key``."""
        return self.add(key, "action", action="act")

    def gap(self, kind: str, position: int) -> Located:
        """The gap ``kind`` located at the entry at ``position``."""
        entry = self.entries[position]
        return (kind, position, entry.author, entry.seq)

    def bundle(self) -> dict[str, Any]:
        """A full bundle of exactly these entries, its checkpoint signed with the log key."""
        root = root_from_leaves([entry.leaf for entry in self.entries])
        note = Checkpoint(ORIGIN, len(self.entries), root).sign(LOG_KEY).render()
        return {
            "format": "sealog-bundle/v1",
            "log": {"origin": ORIGIN, "vkey": LOG_KEY.public_key.vkey(ORIGIN)},
            "checkpoint": note,
            "scope": {"full": True, "agent": None, "since": None, "until": None},
            "keys": [],
            "entries": [
                {
                    "index": index,
                    "entry": base64.b64encode(entry.data).decode(),
                    "sig": base64.b64encode(entry.signature).decode(),
                }
                for index, entry in enumerate(self.entries)
            ],
        }


def honest() -> Rows:
    """The owner registers itself (index 0), then the agent (index 1)."""
    rows = Rows()
    rows.register(OWNER, OWNER, "owner")
    rows.register(OWNER, AGENT, "agent")
    return rows


def verified(rows: Rows) -> VerifyReport:
    """sealog's verdict on the full bundle of ``rows``, with the log key pinned."""
    return verify_bundle(rows.bundle(), log_vkey=LOG_KEY.public_key.vkey(ORIGIN))


# -- hand-made bundles ---------------------------------------------------------------------------


def test_honest_registrations_verify() -> None:
    """An owner's self-registration, its agent's registration and their actions verify."""
    rows = honest()
    rows.act(AGENT)
    rows.act(OWNER)
    report = verified(rows)
    assert report.ok, report.gaps
    assert report.signatures_checked == 4


def case_agent_registered_by_an_agent(rows: Rows) -> list[Located]:
    at = rows.register(AGENT, SUB, "agent")
    act = rows.act(SUB)
    return [rows.gap("bad-registration", at), rows.gap("unknown-key", act)]


def case_agent_registered_twice(rows: Rows) -> list[Located]:
    at = rows.register(OWNER, AGENT, "agent")
    rows.act(AGENT)  # the first registration still holds
    return [rows.gap("bad-registration", at)]


def case_agent_registered_again_by_another_owner(rows: Rows) -> list[Located]:
    rows.register(OTHER_OWNER, OTHER_OWNER, "owner")
    at = rows.register(OTHER_OWNER, AGENT, "agent")
    return [rows.gap("bad-registration", at)]


def case_owner_registers_itself_twice(rows: Rows) -> list[Located]:
    at = rows.register(OWNER, OWNER, "owner")
    return [rows.gap("bad-registration", at)]


def case_owner_registers_someone_else_as_owner(rows: Rows) -> list[Located]:
    at = rows.register(OWNER, OTHER_OWNER, "owner")
    act = rows.act(OTHER_OWNER)
    return [rows.gap("bad-registration", at), rows.gap("unknown-key", act)]


def case_agent_registers_itself(rows: Rows) -> list[Located]:
    at = rows.register(SUB, SUB, "agent")
    act = rows.act(SUB)
    return [rows.gap("bad-registration", at), rows.gap("unknown-key", act)]


def case_unknown_role(rows: Rows) -> list[Located]:
    at = rows.register(OWNER, SUB, "admin")
    act = rows.act(SUB)
    return [rows.gap("bad-registration", at), rows.gap("unknown-key", act)]


def case_public_key_of_another_subject(rows: Rows) -> list[Located]:
    at = rows.register(OWNER, OTHER_OWNER, "agent", address=SUB.address)
    act = rows.act(SUB)
    return [rows.gap("bad-registration", at), rows.gap("unknown-key", act)]


def case_small_order_key(rows: Rows) -> list[Located]:
    at = rows.register(OWNER, SMALL_ORDER_KEY, "agent")
    return [rows.gap("bad-registration", at)]


BAD_REGISTRATIONS: list[Callable[[Rows], list[Located]]] = [
    case_agent_registered_by_an_agent,
    case_agent_registered_twice,
    case_agent_registered_again_by_another_owner,
    case_owner_registers_itself_twice,
    case_owner_registers_someone_else_as_owner,
    case_agent_registers_itself,
    case_unknown_role,
    case_public_key_of_another_subject,
    case_small_order_key,
]


@pytest.mark.parametrize("case", BAD_REGISTRATIONS, ids=lambda f: f.__name__[5:])
def test_bad_registration_in_a_bundle(case: Callable[[Rows], list[Located]]) -> None:
    """A register entry breaking a registration rule is bad-registration; its key is not learned."""
    rows = honest()
    expected = case(rows)
    report = verified(rows)
    assert located(report) == expected
    assert not report.chain_intact
    assert report.complete


def test_entries_before_the_authors_registration_are_unknown_key() -> None:
    """An owner's entries before its self-registration are unknown-key; those after verify."""
    rows = honest()
    early = [rows.act(OTHER_OWNER), rows.act(OTHER_OWNER)]
    rows.register(OTHER_OWNER, OTHER_OWNER, "owner")
    rows.act(OTHER_OWNER)
    report = verified(rows)
    assert located(report) == [
        ("unknown-key", early[0], OTHER_OWNER.address, 0),
        ("unknown-key", early[1], OTHER_OWNER.address, 1),
    ]


def test_a_key_is_not_learned_from_a_later_register_entry() -> None:
    """An agent's actions placed before the owner's registration of it are unknown-key."""
    rows = Rows()
    rows.register(OWNER, OWNER, "owner")
    act = rows.act(AGENT)
    rows.register(OWNER, AGENT, "agent")
    rows.act(AGENT)
    assert located(verified(rows)) == [("unknown-key", act, AGENT.address, 0)]


def test_the_keys_list_is_not_trusted() -> None:
    """A key listed in the bundle's keys (and hashing to its address) teaches nothing."""
    rows = honest()
    act = rows.act(SUB)
    bundle = rows.bundle()
    bundle["keys"] = [
        {
            "address": SUB.address,
            "public_key": SUB.public_key.b64,
            "role": "agent",
            "owner": OWNER.address,
            "name": None,
        }
    ]
    report = verify_bundle(bundle, log_vkey=LOG_KEY.public_key.vkey(ORIGIN))
    assert located(report) == [("unknown-key", act, SUB.address, 0)]


# -- a real ledger changed with raw SQL ----------------------------------------------------------


def inject(home: Path, ledger: Ledger, make: Callable[[Rows], list[Located]]) -> list[Located]:
    """Append hand-made rows to the ledger file and sign a checkpoint over them with the log key.

    Returns the gaps ``make`` expects, with positions turned into log indices.
    """
    stored = list(ledger.entries())
    heads = {s.entry.author: (s.entry.seq, s.entry.id) for s in stored}
    rows = Rows(heads)
    expected = make(rows)
    first = len(stored)
    leaves = [s.entry.leaf for s in stored] + [entry.leaf for entry in rows.entries]
    _, log_key = Home(home).log_key()
    note = Checkpoint(ledger.origin, len(leaves), root_from_leaves(leaves)).sign(log_key).render()
    with closing(sqlite3.connect(home / "ledger.db", isolation_level=None)) as conn:
        for offset, entry in enumerate(rows.entries):
            conn.execute(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    first + offset,
                    entry.leaf,
                    entry.data,
                    entry.signature,
                    entry.author,
                    entry.seq,
                    entry.kind,
                    entry.time,
                ),
            )
        conn.execute("INSERT INTO checkpoints VALUES (?, ?)", (len(leaves), note))
    return [(kind, first + at, author, seq) for kind, at, author, seq in expected]


@pytest.mark.parametrize(
    "case",
    [
        case_agent_registered_by_an_agent,
        case_agent_registered_twice,
        case_owner_registers_someone_else_as_owner,
    ],
    ids=lambda f: f.__name__[5:],
)
def test_bad_registration_written_into_a_ledger_file(
    tmp_path: Path, case: Callable[[Rows], list[Located]]
) -> None:
    """A bad register entry written into the file, under a fresh checkpoint: verify() finds it."""
    home = tmp_path / ".sealog"
    with Ledger.init(home, origin="sealog.test/registration-sql") as ledger:
        ledger.register_agent(AGENT, OWNER)
        ledger.append(AGENT, "honest")
        expected = inject(home, ledger, case)
    with Ledger.open(home) as reopened:
        report = reopened.verify()
        assert located(report) == expected
        assert not report.chain_intact
        assert report.tree_size == reopened.size()
        author = expected[-1][2]
        assert author is not None
        mine = reopened.verify(agent=author)
    assert not mine.ok
    assert set(expected) <= set(located(mine))  # others' register entries are checked too


# -- policy entries (spec §4.8 rule 7, §8.3 bad-policy) --------------------------------------------


def _policy(rows: Rows, author: SigningKey, version: int, agent: str | None = None) -> int:
    """A policy entry for AGENT (or ``agent``) by ``author``, numbered ``version``."""
    return rows.add(
        author,
        "policy",
        agent=agent or AGENT.address,
        version=version,
        document="actions:\n  allow: ['*']\n",
        format="yaml",
        policy_hash="sha256:" + "ab" * 32,
    )


def test_consecutive_policies_by_the_owner_verify() -> None:
    """Versions 1 and 2 of an agent's policy, sealed by its owner, verify."""
    rows = honest()
    _policy(rows, OWNER, 1)
    _policy(rows, OWNER, 2)
    report = verified(rows)
    assert report.ok, report.gaps


def test_a_policy_sealed_by_another_owner_is_a_bad_policy() -> None:
    """A policy entry signed by someone other than the agent's owner is a bad-policy gap."""
    rows = honest()
    rows.register(OTHER_OWNER, OTHER_OWNER, "owner")
    at = _policy(rows, OTHER_OWNER, 1)
    assert located(verified(rows)) == [rows.gap("bad-policy", at)]


def test_a_skipped_or_repeated_policy_version_is_a_bad_policy() -> None:
    """Versions must run 1, 2, 3: a repeat and a skip are each a bad-policy gap."""
    rows = honest()
    _policy(rows, OWNER, 1)
    repeat = _policy(rows, OWNER, 1)
    skip = _policy(rows, OWNER, 3)
    assert located(verified(rows)) == [rows.gap("bad-policy", repeat), rows.gap("bad-policy", skip)]


def test_a_policy_for_an_unregistered_agent_is_a_bad_policy() -> None:
    """A policy governing an address that is no registered agent is a bad-policy gap."""
    rows = honest()
    at = _policy(rows, OWNER, 1, agent=OWNER.address)
    assert located(verified(rows)) == [rows.gap("bad-policy", at)]


def test_a_real_ledgers_policies_verify(tmp_path: Path) -> None:
    """Policies sealed through the ledger verify in a full audit."""
    with Ledger.init(tmp_path / ".sealog") as ledger:
        ledger.register_agent(AGENT, OWNER)
        set_policy(ledger, OWNER, AGENT.address, "actions:\n  allow: [quote]\n")
        set_policy(ledger, OWNER, AGENT.address, "actions:\n  allow: [quote, trade]\n")
        assert ledger.verify().ok
