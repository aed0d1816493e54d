"""The policy's JSONL audit export: a line per sealed gate entry, never blocking a decision."""

from __future__ import annotations

import json

from sealog.crypto import SigningKey
from sealog.gate import Gate
from sealog.ledger import Ledger
from sealog.policy.store import set_policy


def gate_with(policy: str) -> tuple[Ledger, Gate]:
    ledger = Ledger.in_memory()
    owner, agent = SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(agent, owner)
    set_policy(ledger, owner, agent.address, policy)
    return ledger, Gate(ledger, agent)


def test_every_sealed_gate_entry_becomes_one_line(tmp_path):
    """start, decisions, the action and the end are written in log order with their ids."""
    path = tmp_path / "audit" / "trail.jsonl"
    ledger, gate = gate_with(f"actions: {{allow: [quote]}}\naudit: {{export: '{path}'}}\n")
    with gate.session() as s:
        d = s.pre_action("quote", estimate="0.01")
        s.post_action(d, cost="0.02")
        s.pre_action("wire")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["session", "decision", "action", "decision", "session"]
    assert [x["index"] for x in lines] == sorted(x["index"] for x in lines)
    for line in lines:
        assert ledger.get(line["index"]).entry.id == line["entry_id"]
    assert lines[1]["policy_decision"]["outcome"] == "allow"
    assert lines[2]["cost_incurred"] == "0.02"
    assert lines[3]["policy_decision"]["blocking_rule"] == "actions.allowed"
    assert lines[3]["session_state"]["total_cost"] == "0.02"


def test_include_keeps_only_the_named_sections(tmp_path):
    """AgentTrace's include list selects sections; the entry's place is always written."""
    path = tmp_path / "a.jsonl"
    _, gate = gate_with(
        "actions: {allow: [quote]}\n"
        f"audit: {{include: [policy_decision], export: [{{file: '{path}'}}]}}\n"
    )
    with gate.session() as s:
        s.pre_action("quote")
    decision = json.loads(path.read_text().splitlines()[1])
    assert set(decision) == {"index", "entry_id", "kind", "time", "agent", "session_id",
                             "policy_decision"}  # fmt: skip


def test_an_unwritable_export_never_blocks_a_decision(tmp_path, caplog):
    """If the file cannot be written the decision is still sealed and the failure logged."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    _, gate = gate_with(f"actions: {{allow: [quote]}}\naudit: {{export: '{blocker}/x.jsonl'}}\n")
    with gate.session() as s:
        assert s.pre_action("quote").allowed
    assert "could not be written" in caplog.text
