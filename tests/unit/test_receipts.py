"""Execution receipts, the three-way join with a scanner's artifact, and the training export."""

from __future__ import annotations

import json

import pytest

from sealog.crypto import SigningKey
from sealog.errors import InputError, NotFound
from sealog.gate import Gate
from sealog.ledger import Ledger
from sealog.policy.store import set_policy
from sealog.receipts import join, receipts, training_rows

POLICY = "actions: {allow: [deploy, read], deny: [drop_db]}\n"
SECRET = "ghp_" + "x" * 36


@pytest.fixture
def run():
    """A run of three tool calls: one executed, one executed with a cost, one denied."""
    ledger = Ledger.in_memory()
    owner, agent = SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(agent, owner)
    set_policy(ledger, owner, agent.address, POLICY)
    with Gate(ledger, agent) as gate:
        s = gate.session(run_id="run-7")
        first = s.pre_action("read", args={"path": "README.md"}, tool_call_id="call-1")
        s.post_action(first)
        second = s.pre_action("deploy", args={"token": SECRET}, tool_call_id="call-2",
                              estimate="0.50")  # fmt: skip
        s.post_action(second, cost="0.42")
        s.pre_action("drop_db", tool_call_id="call-3")
    yield ledger, agent
    ledger.close()


def test_each_tool_call_of_a_run_has_its_receipt(run):
    """Ids, args digest and basis, the decision, budget, state digests, the capability snapshot."""
    ledger, _ = run
    found = receipts(ledger.entries(), "run-7")
    assert [r["tool_call_id"] for r in found] == ["call-1", "call-2", "call-3"]
    assert [r["executed"] for r in found] == [True, True, False]
    assert found[1]["budget_consumed"] == "0.42"
    assert found[2]["decision"]["outcome"] == "deny"
    assert found[0]["args_basis"] in {"canonical", "raw"}
    assert found[0]["pre_state"] != found[0]["post_state"]
    assert found[1]["pre_state"] == found[0]["post_state"]
    snapshot = found[0]["capabilities"]
    assert snapshot == found[2]["capabilities"]
    assert ledger.get(snapshot["policy_entry"]).entry.kind == "policy"
    with pytest.raises(NotFound):
        receipts(ledger.entries(), "no-such-run")


@pytest.mark.parametrize(
    ("change", "outcome"),
    [({}, "match"), ({"args_digest": "sha256:" + "0" * 64}, "digest-mismatch"),
     ({"policy_version": 9}, "authority-mismatch"),
     ({"policy_hash": "sha256:" + "1" * 64}, "authority-mismatch")],
)  # fmt: skip
def test_a_scanners_artifact_joins_in_exactly_three_ways(run, change, outcome):
    """The same digest and authority match; other arguments or another policy do not."""
    ledger, _ = run
    found = receipts(ledger.entries(), "run-7")
    decided = found[1]["decision"]
    artifact = {"tool_call_id": "call-2", "args_digest": found[1]["args_digest"],
                "policy_version": decided["policy_version"],
                "policy_hash": decided["policy_hash"], **change}  # fmt: skip
    assert join(found, artifact)["outcome"] == outcome


def test_a_forged_or_foreign_artifact_is_an_error(run):
    """An artifact without ids is bad input; one for an unknown call is not found."""
    found = receipts(run[0].entries(), "run-7")
    with pytest.raises(InputError):
        join(found, {"args_digest": "x"})
    with pytest.raises(NotFound):
        join(found, {"tool_call_id": "call-99", "args_digest": "x"})


def test_the_training_export_masks_credentials(run):
    """One row per decision with its outcome; a token in the arguments never appears whole."""
    rows = list(training_rows(run[0].entries(), with_args=True))
    assert [(r["action"], r["outcome"], r["executed"]) for r in rows] == [
        ("read", "allow", True), ("deploy", "allow", True), ("drop_db", "deny", False)]  # fmt: skip
    assert SECRET not in json.dumps(rows)
    assert "args" not in next(training_rows(run[0].entries()))
