"""`sealog decide` and `sealog verify --replay`, through main() on a real home."""

from __future__ import annotations

import json

import pytest

from sealog.cli import main
from sealog.gate import Gate
from sealog.home import Home
from sealog.ledger import Ledger

POLICY = """
actions: {allow: [transfer, quote]}
aggregates:
  - {sum: amount, actions: [transfer], window: 24h, max: 1000, unit: "$"}
ask:
  - actions: [transfer]
    when: "args.amount > 800"
violations: {thresholds: {pii_blocked: 1}, on_threshold: kill}
"""


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def home(tmp_path, capsys, monkeypatch):
    """A home with owner 'acme', agent 'bot' and POLICY sealed as its v1."""
    monkeypatch.setenv("SEALOG_HOME", str(tmp_path / ".sealog"))
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    for args in (
        ("--home", str(tmp_path / ".sealog"), "init"),
        ("keys", "new", "acme"),
        ("keys", "new", "bot"),
        ("agents", "register", "bot", "--owner", "acme"),
        ("policy", "set", str(policy), "--agent", "bot", "--owner", "acme"),
    ):
        code, _, err = run(capsys, *args)
        assert code == 0, err
    return tmp_path / ".sealog"


def test_decide_exits_by_outcome(capsys, home):
    """allow exits 0, deny 1, ask 3, each printing the verdict detail."""
    code, out, _ = run(capsys, "decide", "transfer", "--as", "bot", "--args", '{"amount": 500}',
                       "--session", "s1")  # fmt: skip
    assert code == 0
    assert "Amount $500 within $1,000 daily limit" in out
    code, out, _ = run(capsys, "decide", "transfer", "--as", "bot", "--args", '{"amount": 600}',
                       "--session", "s1")  # fmt: skip
    assert code == 1
    assert "blocked by aggregates[0]: Amount $600 over $1,000 daily limit" in out
    code, out, _ = run(capsys, "decide", "transfer", "--as", "bot", "--args", '{"amount": 900}')
    assert code == 3
    assert "ASK" in out


def test_decide_json_is_the_sealed_decision(capsys, home):
    """--json prints the decision with its entry id and sealed policy version."""
    code, out, _ = run(capsys, "decide", "wire", "--as", "bot", "--target", "acct:1", "--json")
    data = json.loads(out)
    assert code == 1
    assert data["outcome"] == "deny"
    assert data["blocking_rule"] == "actions.allowed"
    assert data["sealed_policy_version"] == 1
    with Ledger.open(home) as ledger:
        assert ledger.get(data["entry_id"]).entry.kind == "decision"


def test_decide_in_a_killed_session_exits_1(capsys, home):
    """A session killed earlier refuses the next decision with exit 1 and says so."""

    with Ledger.open(home) as ledger:
        key = Home(home).keys.load("bot")
        with Gate(ledger, key) as gate:
            gate.session("s9").record_violation("pii_blocked")
    code, out, _ = run(capsys, "decide", "quote", "--as", "bot", "--session", "s9")
    assert code == 1
    assert "KILL" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--args", "[1]"), "--args must be a JSON object"),
        (("--args", "{nope"), "--args is not valid JSON"),
        (("--estimate", "-1"), "estimate must be a finite amount"),
        (("--estimate", "lots"), "estimate must be a decimal amount"),
    ],
)
def test_decide_bad_input_exits_2_and_seals_nothing(capsys, home, args, message):
    """Malformed arguments exit 2 with a one-line reason and leave the log unchanged."""
    with Ledger.open(home) as ledger:
        before = ledger.size()
    code, _, err = run(capsys, "decide", "transfer", "--as", "bot", *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    with Ledger.open(home) as ledger:
        kinds = [e.entry.kind for e in ledger.entries(start=before)]
    assert "decision" not in kinds


def test_decide_for_an_unknown_key_exits_nonzero(capsys, home):
    """An agent name with no key in the keystore is a clear error, not a traceback."""
    code, _, err = run(capsys, "decide", "quote", "--as", "nobody")
    assert code in (1, 2)
    assert "Traceback" not in err


def test_verify_replay_recomputes_every_decision(capsys, home):
    """verify --replay reports every decision recomputed identical and exits 0."""
    run(capsys, "decide", "transfer", "--as", "bot", "--args", '{"amount": 500}')
    run(capsys, "decide", "wire", "--as", "bot")
    code, out, _ = run(capsys, "verify", "--replay")
    assert code == 0
    assert "REPLAYED  2 decisions: 2 recomputed identical" in out
    code, out, _ = run(capsys, "verify", "--replay", "--json")
    assert json.loads(out)["replay"]["matched"] == 2


def test_verify_replay_fails_on_a_forged_decision(capsys, home):
    """A decision sealed as allow that the policy denies makes verify --replay exit 1."""

    with Ledger.open(home) as ledger:
        key = Home(home).keys.load("bot")
        with Gate(ledger, key) as gate:
            s = gate.session("s1")
            d = s.pre_action("wire")
            forged = {k: v for k, v in ledger.get(d.index).entry.fields.items()
                      if k not in ("v", "kind", "author", "seq", "prev", "time")}  # fmt: skip
            forged.update(outcome="allow", failed=[], risk=0, decision_class="allowed")
            del forged["blocking_rule"]
            ledger.append_entry(key, "decision", forged)
    code, out, _ = run(capsys, "verify", "--replay")
    assert code == 1
    assert "differs" in out
    assert "sealed allow by -" in out


def test_verify_replay_of_a_full_bundle_offline(capsys, home, tmp_path):
    """A full bundle replays offline; a partial one is refused with exit 2."""
    run(capsys, "decide", "quote", "--as", "bot")
    bundle = tmp_path / "all.json"
    assert run(capsys, "export", "--out", str(bundle))[0] == 0
    code, out, _ = run(capsys, "verify", str(bundle), "--replay")
    assert code == 0
    assert "1 recomputed identical" in out
    partial = tmp_path / "bot.json"
    assert run(capsys, "export", "--out", str(partial), "--agent", "bot")[0] == 0
    code, _, err = run(capsys, "verify", str(partial), "--replay")
    assert code == 2
    assert "export a full bundle" in err


def test_the_owner_kills_a_session_and_the_next_decide_is_a_kill(capsys, home):
    """`sealog kill` as the owner: the next `decide` in that session exits 1 with a kill."""
    assert run(capsys, "decide", "quote", "--as", "bot", "--session", "s9")[0] == 0
    code, out, err = run(capsys, "kill", "s9", "--agent", "bot", "--as", "acme",
                         "--reason", "runaway", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["session_id"] == "s9"
    code, out, _ = run(capsys, "decide", "quote", "--as", "bot", "--session", "s9", "--json")
    assert (code, json.loads(out)["outcome"]) == (1, "kill")


def test_only_the_owner_may_kill_from_the_command_line(capsys, home):
    """The agent's own key is not its owner's: exit 2 with the reason, nothing sealed."""
    with Ledger.open(home) as ledger:
        size = ledger.size()
    code, _, err = run(capsys, "kill", "s9", "--agent", "bot", "--as", "bot")
    assert code == 2
    assert "not the owner" in err
    with Ledger.open(home) as ledger:
        assert ledger.size() == size


def test_reports_file_answer_list_and_show(capsys, home, tmp_path):
    """A platform files an unlogged_action report; the agent disputes it; list and show agree."""
    assert run(capsys, "keys", "new", "forum")[0] == 0
    assert run(capsys, "agents", "register-owner", "forum")[0] == 0
    code, out, err = run(capsys, "reports", "file", "bot", "--as", "forum", "--category",
                         "unlogged_action", "--action", "post_reply", "--observed-at",
                         "2026-11-21T09:00:00Z", "--severity", "high", "--json")  # fmt: skip
    assert code == 0, err
    report_id = json.loads(out)["id"]
    evidence = tmp_path / "ours.txt"
    evidence.write_text("our own log shows no such reply")
    code, _, err = run(capsys, "reports", "answer", report_id, "--as", "bot",
                       "--dispute", str(evidence))  # fmt: skip
    assert code == 0, err
    code, out, _ = run(capsys, "reports", "list", "bot", "--json")
    listed = json.loads(out)
    assert (listed["received"], listed["disputed"]) == (1, 1)
    code, out, _ = run(capsys, "reports", "show", report_id)
    assert "disputed" in out
    assert "the agent's chain says" in out


def test_a_report_about_nobody_exits_1_and_stores_nothing(capsys, home):
    """An unregistered subject is the log's refusal: exit 1, with the reason."""
    with Ledger.open(home) as ledger:
        size = ledger.size()
    nobody = "sl1" + "0" * 40
    code, _, err = run(capsys, "reports", "file", nobody, "--as", "acme", "--category", "spam",
                       "--action", "post", "--observed-at", "2026-11-21T09:00:00Z")  # fmt: skip
    assert code == 1
    assert "not a registered agent" in err
    with Ledger.open(home) as ledger:
        assert ledger.size() == size


def test_provenance_from_the_command_line(capsys, home, tmp_path):
    """sealog provenance HASH --content DIR names the stage that introduced a figure."""
    from sealog.content import content_hash  # noqa: PLC0415 - only this test

    (tmp_path / "a.txt").write_text("41% of users")
    (tmp_path / "b.txt").write_text("73% of users")
    with Ledger.open(home) as ledger:
        bot = Home.find(home).keys.load("bot")
        ledger.append(bot, "research", content_hash=content_hash("41% of users"))
        ledger.append(bot, "draft", content_hash=content_hash("73% of users"),
                      extra={"sources": [content_hash("41% of users")]})  # fmt: skip
    code, out, err = run(capsys, "provenance", content_hash("73% of users"), "--content",
                         str(tmp_path))  # fmt: skip
    assert code == 0, err
    assert "diverged at draft" in out
    assert "73%" in out
    code, _, err = run(capsys, "provenance", "sha256:" + "0" * 64)
    assert (code, "no entry" in err) == (1, True)


def test_approvals_list_approve_and_deny(capsys, home):
    """An ask from `decide` is listed pending, approved as the owner, then listed approved."""
    code, out, _ = run(capsys, "decide", "transfer", "--as", "bot", "--args", '{"amount": 900}',
                       "--session", "s7", "--json")  # fmt: skip
    assert code == 3
    decision = json.loads(out)["entry_id"]
    code, out, _ = run(capsys, "approvals", "list", "--json")
    assert [a["decision"] for a in json.loads(out)] == [decision]
    code, _, err = run(capsys, "approvals", "approve", decision, "--as", "bot")
    assert (code, "only the owner" in err) == (1, True)
    assert run(capsys, "approvals", "approve", decision, "--as", "acme")[0] == 0
    code, out, _ = run(capsys, "approvals", "list", "--status", "approved", "--json")
    assert json.loads(out)[0]["decided_by"]
    code, _, err = run(capsys, "approvals", "deny", decision, "--as", "acme")
    assert (code, "decided already" in err) == (1, True)


def test_governance_list_show_and_erase_reasoning(capsys, home):
    """A trace sealed with its reasoning kept is listed and shown; erasing leaves the hash."""
    from sealog.client import EmbeddedClient  # noqa: PLC0415 - only this test
    from sealog.governance import REASONING_FILE, Blobs  # noqa: PLC0415
    from sealog.service import Service  # noqa: PLC0415

    record = {"proposedAction": {"action": "transfer"}, "status": "blocked",
              "reasoning": "over the daily limit"}  # fmt: skip
    with Ledger.open(home) as ledger:
        blobs = Blobs(home / REASONING_FILE)
        bot = Home.find(home).keys.load("bot")
        with EmbeddedClient(Service(ledger, blobs), bot) as client:
            trace_hash = client.log_trace(record, keep_reasoning=True)["traceHash"]
        blobs.close()
    _, out, _ = run(capsys, "governance", "list", "--status", "blocked", "--json")
    assert [t["traceHash"] for t in json.loads(out)] == [trace_hash]
    _, out, _ = run(capsys, "governance", "show", trace_hash, "--json")
    assert json.loads(out)["reasoning"] == "over the daily limit"
    assert run(capsys, "governance", "erase-reasoning", trace_hash)[0] == 0
    _, out, _ = run(capsys, "governance", "show", trace_hash, "--json")
    shown = json.loads(out)
    assert shown["reasoning"] is None
    assert shown["reasoningHash"].startswith("sha256:")
    assert run(capsys, "verify")[0] == 0


def test_receipts_join_and_the_training_export(capsys, home, tmp_path):
    """receipts show, join exits 0 on a match and 1 on a digest mismatch; export --training."""
    with Ledger.open(home) as ledger, Gate(ledger, Home.find(home).keys.load("bot")) as gate:
        s = gate.session(run_id="r1")
        s.post_action(s.pre_action("quote", args={"sym": "ACME"}, tool_call_id="t1"))
    code, out, _ = run(capsys, "receipts", "show", "r1", "--json")
    (receipt,) = json.loads(out)
    artifact = tmp_path / "scan.json"
    artifact.write_text(json.dumps({"tool_call_id": "t1", "args_digest": receipt["args_digest"],
                                    "policy_version": 1}))  # fmt: skip
    assert run(capsys, "receipts", "join", "r1", str(artifact))[0] == 0
    artifact.write_text(json.dumps({"tool_call_id": "t1", "args_digest": "sha256:" + "0" * 64}))
    code, out, _ = run(capsys, "receipts", "join", "r1", str(artifact))
    assert (code, out.startswith("digest-mismatch")) == (1, True)
    rows = tmp_path / "train.jsonl"
    assert run(capsys, "export", "--training", "--out", str(rows))[0] == 0
    assert [json.loads(line)["action"] for line in rows.read_text().splitlines()] == ["quote"]


def test_log_cites_sources_and_refuses_a_provenance_cycle(capsys, home):
    """`sealog log --source` builds a lineage; content from its own descendant exits 1."""
    from sealog.content import content_hash  # noqa: PLC0415 - only this test

    x, y = content_hash("x"), content_hash("y")
    assert run(capsys, "log", "write", "--as", "bot", "--content", "x")[0] == 0
    assert run(capsys, "log", "edit", "--as", "bot", "--content", "y", "--source", x)[0] == 0
    code, _, err = run(capsys, "log", "edit", "--as", "bot", "--content", "x", "--source", y)
    assert (code, "lead back to its own content" in err) == (1, True)
    code, out, _ = run(capsys, "provenance", y, "--json")
    assert [s["action"] for s in json.loads(out)["stages"]] == ["edit", "write"]
    code, _, err = run(capsys, "log", "edit", "--as", "bot", "--source", "nope")
    assert (code, "not a content hash" in err) == (2, True)


def test_a_delegated_approver_approves_from_the_command_line(capsys, home):
    """`approvals delegate` names a reviewer key; its approval counts; withdrawn it is refused."""
    assert run(capsys, "keys", "new", "reviewer")[0] == 0
    assert run(capsys, "agents", "register-owner", "reviewer")[0] == 0
    assert run(capsys, "approvals", "delegate", "reviewer", "--as", "acme")[0] == 0
    _, out, _ = run(capsys, "decide", "transfer", "--as", "bot", "--args", '{"amount": 950}',
                    "--session", "s8", "--json")  # fmt: skip
    decision = json.loads(out)["entry_id"]
    assert run(capsys, "approvals", "approve", decision, "--as", "reviewer")[0] == 0
    assert run(capsys, "approvals", "delegate", "reviewer", "--as", "acme", "--withdraw")[0] == 0
    _, out, _ = run(capsys, "decide", "transfer", "--as", "bot", "--args", '{"amount": 850}',
                    "--session", "s9", "--json")  # fmt: skip
    code, _, err = run(capsys, "approvals", "deny", json.loads(out)["entry_id"], "--as",
                       "reviewer")  # fmt: skip
    assert (code, "approver it named" in err) == (1, True), err


def test_agents_show_carries_the_track_record(capsys, home):
    """`agents show` adds decisions, denials, kills, reports and the reputation score."""
    run(capsys, "decide", "wire", "--as", "bot")  # a denied action
    code, out, _ = run(capsys, "agents", "show", "bot", "--json")
    shown = json.loads(out)
    assert code == 0
    assert (shown["decisions"], shown["denied_actions"]) == (1, 1)
    assert shown["reputation"] == 70
    assert shown["reports_received"] == 0
