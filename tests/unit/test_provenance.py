"""Provenance: lineage across agents, where content entered, where it diverged, no cycles."""

from __future__ import annotations

import pytest

from sealog.content import content_hash
from sealog.crypto import SigningKey
from sealog.errors import EntryRejected, NotFound, UsageError
from sealog.ledger import Ledger
from sealog.provenance import content_folder
from sealog.service import Service

NOTES = "Survey of 1,200 users: 41% export weekly."
DRAFT = "Of 1,200 users, 73% export weekly."


@pytest.fixture
def world():
    ledger = Ledger.in_memory()
    owner = SigningKey.generate()
    keys = [SigningKey.generate() for _ in range(3)]
    for key in keys:
        ledger.register_agent(key, owner)
    yield ledger, keys, Service(ledger)
    ledger.close()


def seal(svc: Service, key: SigningKey, text: str, *sources: str) -> str:
    fields = {"action": "write", "content_hash": content_hash(text)}
    if sources:
        fields["sources"] = list(sources)
    svc.submit([svc.ledger.sign_next(key, "action", fields)])
    return content_hash(text)


def test_lineage_walks_back_across_agents_to_where_content_entered(world):
    """Stages nearest first; the stage built from nothing known is where content entered."""
    _, (a, b, c), svc = world
    outside = content_hash("a web page nobody logged")
    notes = seal(svc, a, NOTES, outside)
    draft = seal(svc, b, DRAFT, notes)
    final = seal(svc, c, DRAFT + " Published.", draft)
    found = svc.lineage(final)
    assert [s["author"] for s in found["stages"]] == [c.address, b.address, a.address]
    assert [s["author"] for s in found["entered"]] == [a.address]
    assert found["unknown_sources"] == [outside]


def test_divergence_names_the_stage_that_introduced_a_figure(world, tmp_path):
    """With the texts at hand, the 73% no source states is traced to the draft stage."""
    _, (a, b, c), svc = world
    notes = seal(svc, a, NOTES)
    draft = seal(svc, b, DRAFT, notes)
    final = seal(svc, c, DRAFT, draft)  # passed on unchanged
    for name, text in (("n.txt", NOTES), ("d.txt", DRAFT)):
        (tmp_path / name).write_text(text)
    found = svc.lineage(final, content_folder(tmp_path))
    assert [(d["stage"]["author"], d["new_figures"]) for d in found["diverged"]] == [
        (b.address, ["73%"])
    ]


def test_a_provenance_cycle_is_refused_and_nothing_is_stored(world):
    """Content built from its own descendants is refused; passing content on is not a cycle."""
    ledger, (a, b, _), svc = world
    x, y = content_hash("x"), content_hash("y")
    svc.submit([ledger.sign_next(a, "action", {"action": "w", "content_hash": x,
                                               "sources": [y]})])  # fmt: skip
    size = ledger.size()
    with pytest.raises(EntryRejected) as cycle:
        svc.submit([ledger.sign_next(b, "action", {"action": "w", "content_hash": y,
                                                   "sources": [x]})])  # fmt: skip
    assert cycle.value.code == "provenance-cycle"
    assert ledger.size() == size
    seal(svc, b, "x", x)  # the same content passed on: fine


def test_unknown_or_malformed_hashes(world):
    """A hash no entry produced is NotFound; something that is not a hash is a UsageError."""
    svc = world[2]
    with pytest.raises(NotFound):
        svc.lineage(content_hash("never sealed"))
    with pytest.raises(UsageError):
        svc.lineage("not-a-hash")
