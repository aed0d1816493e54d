"""The owner's kill: sealed by the owner, refused to anyone else, binding on the agent's gate."""

from __future__ import annotations

import pytest
from gate_world import AGENT, HELPER, OWNER

from sealog.crypto import SigningKey
from sealog.errors import EntryRejected, SessionKilled, UsageError
from sealog.gate import Gate, kill_session
from sealog.gate.replay import replay
from sealog.gate.session import owner_kill_fields
from sealog.ledger import Ledger

OPEN = "actions: {allow: ['*']}\n"


def test_the_agents_next_decision_after_an_owner_kill_is_a_sealed_kill(open_gate, ledger):
    """The gate learns the kill from the log's refusal and seals a kill decision, not an allow."""
    s = open_gate(OPEN).session()
    assert s.pre_action("read").allowed
    kill_session(ledger, OWNER, AGENT.address, s.id, "runaway loop")
    with pytest.raises(SessionKilled):
        s.pre_action("read")
    last = ledger.get(ledger.size() - 1).entry
    assert (last.kind, last.fields["outcome"], last.author) == ("decision", "kill", AGENT.address)
    assert s.killed
    with pytest.raises(SessionKilled):
        s.pre_action("read")
    report = replay(ledger.entries())
    assert report.ok, report.findings


def test_a_session_killed_before_it_starts_is_dead_on_arrival(open_gate, ledger):
    """A kill of a session id not started yet kills that session as it starts."""
    gate = open_gate(OPEN)
    kill_session(ledger, OWNER, AGENT.address, "later", "revoked")
    s = gate.session("later")
    with pytest.raises(SessionKilled):
        s.pre_action("read")
    assert gate.session("another").pre_action("read").allowed
    assert replay(ledger.entries()).ok


def test_resume_sees_the_owners_kill(open_gate, ledger):
    """A session resumed in another process knows it was killed without asking the log first."""
    s = open_gate(OPEN).session()
    kill_session(ledger, OWNER, AGENT.address, s.id, "stop")
    resumed = Gate(ledger, AGENT).resume(s.id)
    assert resumed.killed


def test_only_the_agents_owner_may_kill_and_only_a_kill_may_name_an_agent(ledger):
    """Another owner's kill and an agent's kill of a sibling are not-allowed; agent on a start
    is a bad field; nothing is stored."""
    other = SigningKey.generate()
    ledger.register_owner(other)
    size = ledger.size()
    for author in (other, HELPER):
        with pytest.raises(EntryRejected) as refused:
            ledger.append_entry(author, "session", owner_kill_fields(AGENT.address, "s", "x"))
        assert refused.value.code == "not-allowed"
    with pytest.raises(EntryRejected) as bad:
        ledger.append_entry(
            OWNER, "session", {"session_id": "s", "event": "start", "agent": AGENT.address}
        )
    assert bad.value.code == "bad-field"
    with pytest.raises(UsageError, match="not the owner"):
        kill_session(ledger, other, AGENT.address, "s", "x")
    assert ledger.size() == size


def test_a_kill_and_a_decision_in_one_group_are_held_to_rule_9(open_gate, ledger):
    """A kill staged earlier in the same submission binds the decision after it."""
    gate = open_gate(OPEN)
    s = gate.session()
    allow = s.pre_action("read")
    fields = dict(ledger.get(allow.index).entry.fields)
    strip = ("v", "kind", "author", "seq", "prev", "time")
    body = {k: v for k, v in fields.items() if k not in strip}
    kill = ledger.sign_next(OWNER, "session", owner_kill_fields(AGENT.address, s.id, "now"))
    again = ledger.sign_next(AGENT, "decision", body)
    with pytest.raises(EntryRejected) as refused:
        ledger.submit([kill, again])
    assert refused.value.code == "session-killed"


def test_a_second_writer_on_the_same_file_sees_the_kill(tmp_path):
    """Two ledgers on one SQLite file: a kill through one binds decisions through the other."""
    home = tmp_path / "home"
    first = Ledger.init(home)
    first.register_agent(AGENT, OWNER)
    second = Ledger.open(home)
    try:
        s = Gate(second, AGENT, policy=OPEN).session()
        assert s.pre_action("read").allowed
        kill_session(first, OWNER, AGENT.address, s.id, "from the other process")
        with pytest.raises(SessionKilled):
            s.pre_action("read")
    finally:
        second.close()
        first.close()
