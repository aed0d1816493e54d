"""Reports and responses: who may file and answer them, their status, and the unlogged check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sealog.content import content_hash
from sealog.crypto import SigningKey
from sealog.errors import EntryRejected, NotFound
from sealog.ledger import Ledger
from sealog.ledger.entry import format_time
from sealog.reports import Report, Response, reputation
from sealog.service import Service

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def world():
    """A ledger with an owner, its agent, and a platform (an owner of its own)."""
    ledger = Ledger.in_memory()
    owner, agent, platform = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(agent, owner)
    ledger.register_owner(platform)
    yield ledger, owner, agent, platform
    ledger.close()


def report_fields(subject: str, **extra) -> dict:
    return {"subject": subject, "category": "unlogged_action", "severity": "high",
            "action_observed": "post_reply", "target": "forum://t/1",
            "observed_at": format_time(T0), **extra}  # fmt: skip


def test_anyone_registered_reports_an_agent_and_the_agent_or_owner_answers(world):
    """A platform files; the agent acknowledges, then its owner disputes with counter-evidence."""
    ledger, owner, agent, platform = world
    svc = Service(ledger)
    (filed,) = svc.submit([ledger.sign_next(platform, "report", report_fields(agent.address))])
    assert svc.reports_about(agent.address)["reports"][0]["status"] == "open"
    svc.submit(
        [ledger.sign_next(agent, "response", {"report": filed.entry_id, "acknowledged": True})]
    )
    assert svc.reports_about(agent.address)["reports"][0]["status"] == "acknowledged"
    dispute = {"report": filed.entry_id, "acknowledged": False,
               "counter_evidence_hash": content_hash("our log")}  # fmt: skip
    svc.submit([ledger.sign_next(owner, "response", dispute)])
    info = svc.agent_info(agent.address).to_dict()["stats"]
    assert (info["reports_received"], info["reports_disputed"], info["reports_open"]) == (1, 1, 0)


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("stranger subject", "unknown-subject"),
        ("itself", "not-allowed"),
        ("an owner", "unknown-subject"),
        ("bad category", "bad-field"),
        ("bad time", "bad-field"),
    ],
)
def test_bad_reports_are_refused_and_nothing_is_stored(world, case, code):
    """Unknown or self subjects, owners as subjects, bad categories and times: refused."""
    ledger, owner, agent, platform = world
    author, fields = {
        "stranger subject": (platform, report_fields(SigningKey.generate().address)),
        "itself": (agent, report_fields(agent.address)),
        "an owner": (platform, report_fields(owner.address)),
        "bad category": (platform, report_fields(agent.address, category="rumour")),
        "bad time": (platform, report_fields(agent.address, observed_at="yesterday")),
    }[case]
    size = ledger.size()
    with pytest.raises(EntryRejected) as refused:
        ledger.append_entry(author, "report", fields)
    assert refused.value.code == code
    assert ledger.size() == size


def test_only_the_subject_or_its_owner_answers_and_only_a_real_report(world):
    """A stranger's answer is not-allowed; an answer to no report is unknown-report."""
    ledger, _, agent, platform = world
    filed = ledger.append_entry(platform, "report", report_fields(agent.address))
    with pytest.raises(EntryRejected) as stranger:
        ledger.append_entry(platform, "response", {"report": filed.id, "acknowledged": True})
    assert stranger.value.code == "not-allowed"
    with pytest.raises(EntryRejected) as nothing:
        ledger.append_entry(agent, "response", {"report": "ab" * 32, "acknowledged": True})
    assert nothing.value.code == "unknown-report"
    with pytest.raises(EntryRejected) as bare:
        ledger.append_entry(agent, "response", {"report": filed.id, "acknowledged": False})
    assert bare.value.code == "bad-field"


def test_a_report_and_its_answer_in_one_submission(world):
    """A response may answer a report filed earlier in the same submission."""
    ledger, _, agent, platform = world
    report = ledger.sign_next(platform, "report", report_fields(agent.address))
    answer = ledger.sign_next(agent, "response", {"report": report.id, "acknowledged": True})
    assert len(ledger.submit([report, answer])) == 2


def test_an_unlogged_action_report_corroborated_by_the_chain(world):
    """The agent logged it within the window: 'logged', with the entry and its proof."""
    ledger, _, agent, platform = world
    ledger.append(agent, "post_reply", target="forum://t/1", time=T0 + timedelta(minutes=2))
    filed = ledger.append_entry(platform, "report", report_fields(agent.address))
    found = Service(ledger).report(filed.id)["corroboration"]
    assert found["verdict"] == "logged"
    assert found["proof"]["index"] == found["entry"]["index"]


def test_a_gap_in_a_complete_chain_is_evidence(world):
    """No such entry near observed_at, and the chain goes on past it: 'not-logged'."""
    ledger, _, agent, platform = world
    ledger.append(agent, "read_thread", time=T0 - timedelta(hours=1))
    ledger.append(agent, "read_thread", time=T0 + timedelta(hours=1))
    filed = ledger.append_entry(platform, "report", report_fields(agent.address))
    found = Service(ledger).report(filed.id)["corroboration"]
    assert found["verdict"] == "not-logged"
    assert (found["chain_intact"], found["complete"]) == (True, True)
    assert found["next_entry"]["time"] > format_time(T0)


def test_a_chain_that_ends_before_the_observation_says_nothing_yet(world):
    """The agent has logged nothing since observed_at: 'undetermined', not a conviction."""
    ledger, _, agent, platform = world
    ledger.append(agent, "read_thread", time=T0 - timedelta(hours=1))
    filed = ledger.append_entry(platform, "report", report_fields(agent.address))
    assert Service(ledger).report(filed.id)["corroboration"]["verdict"] == "undetermined"


def test_an_unknown_report_is_not_found(world):
    """Reading a report id the log does not hold is NotFound."""
    ledger = world[0]
    with pytest.raises(NotFound):
        Service(ledger).report("cd" * 32)


@pytest.mark.parametrize(
    ("decisions", "denied", "killed", "statuses", "score"),
    [
        (0, 0, 0, [], 100),
        (10, 5, 0, [], 85),
        (4, 0, 6, [], 60),
        (0, 0, 0, [("high", "acknowledged"), ("critical", "open"), ("medium", "disputed")], 79),
        (1, 1, 5, [("critical", "acknowledged")] * 5, 0),
    ],
)
def test_the_reputation_formula(decisions, denied, killed, statuses, score):
    """100 − kills (10 each, at most 40) − 30 × denied share − weighted reports, floored at 0."""
    reports = []
    for severity, status in statuses:
        report = Report("r", 0, "a", "s", {"severity": severity}, "t")
        if status != "open":
            report.responses.append(
                Response("x", 1, "s", status == "acknowledged", None, None, "t")
            )
        reports.append(report)
    assert reputation(decisions=decisions, denied=denied, sessions_killed=killed,
                      reports=reports) == score  # fmt: skip
