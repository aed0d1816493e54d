"""guard: the gate's own engine over a finished run; unknown telemetry never passes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from sealog.policy import compile_policy, load_policy
from sealog.policy.cost import Usage
from sealog.traces.events import Event
from sealog.traces.guard import Guard

TRACEGATE = Path(__file__).parents[2] / "assets/policies/tracegate/policy.yaml"


def guard(policy: str | Path, *events: Event):
    g = Guard(compile_policy(load_policy(policy)))
    for index, event in enumerate(events):
        event.index = index
        g.add(event)
    return g, g.finish()


def at(second: int) -> str:
    return f"2026-11-21T09:00:{second:02d}.000Z"


def test_a_clean_run_passes():
    """Allowed tools, within limits, with timestamps and priced model calls: no violation."""
    usage = Usage("anthropic", "claude-sonnet-4-5", input_tokens=1000, output_tokens=200)
    _, found = guard(
        "actions: {allow: [Read, Shell]}\nbudget: {max_cost_per_session: 1.00}\n",
        Event("model_call", time=at(0), model="claude-sonnet-4-5", usage=usage),
        Event("file_read", time=at(1), tool="Read", paths=("a.txt",), status="ok"),
        Event("shell", time=at(2), tool="Bash", command="ls", status="ok"),
    )
    assert found == []


def test_the_tracegate_policy_over_a_run():
    """forbidden paths, no network, no git, the shell cap and the flow each fail where they do."""
    g, found = guard(
        TRACEGATE,
        Event("file_read", time=at(0), tool="Read", paths=("/app/.env",), status="ok"),
        Event("network_fetch", time=at(1), tool="WebFetch", url="https://x.example", status="ok"),
        Event("shell", time=at(2), tool="Bash", command="ls", status="ok"),
        Event("shell", time=at(3), tool="Bash", command="git push origin main", status="ok"),
        Event("shell", time=at(4), tool="Bash", command="pwd", status="ok"),
        Event("shell", time=at(5), tool="Bash", command="id", status="ok"),
        Event("model_call", time=at(6), cost=Decimal("0.10")),
    )
    rules = {(v.index, v.rule_id) for v in found}
    assert (0, "forbidden_paths") in rules
    assert (0, "allow_sensitive_files") in rules
    assert (1, "allow_network") in rules
    assert (2, "forbidden_flows[0]") in rules
    assert (3, "allow_git_actions.shell") in rules
    assert (5, "max_shell_commands") in rules
    assert g.checked == 6


def test_refused_attempts_are_counted_not_violations():
    """A call the run's own harness refused did not run: counted, not a violation."""
    g, found = guard(
        "actions: {deny: [Shell]}\n",
        Event("shell", time=at(0), tool="Bash", command="rm -rf /", status="denied"),
    )
    assert (found, g.blocked_attempts) == ([], 1)


def test_a_cost_limit_fails_without_cost_telemetry():
    """A budget over a run whose model calls carry no usage or cost fails as unknown."""
    _, found = guard(
        "budget: {max_cost_per_session: 5.00}\n",
        Event("model_call", time=at(0), model="x"),
        Event("shell", time=at(1), tool="Bash", command="ls", status="ok"),
    )
    assert [v.detail for v in found] == ["unknown cost: 1 of 1 model calls have no known cost"]
    _, found = guard(
        "budget: {max_cost_per_session: 5.00}\n",
        Event("shell", time=at(1), tool="Bash", command="ls"),
    )
    assert "records no model calls" in found[0].detail


def test_a_runtime_limit_fails_without_timestamps():
    """A duration limit over a run with no times fails as unknown, never passes."""
    _, found = guard(
        "session: {max_duration: 10m}\n", Event("shell", tool="Bash", command="ls", status="ok")
    )
    assert [v.rule_id for v in found] == ["session.max_duration"]
    assert "no timestamps" in found[0].detail


def test_cost_over_the_budget_fails_at_the_next_action_or_the_end():
    """Recorded model cost past the budget is a violation, located at the action after it."""
    _, found = guard(
        "budget: {max_cost_per_session: 1.00, on_exceed: deny}\n",
        Event("model_call", time=at(0), cost=Decimal("1.50")),
        Event("shell", time=at(1), tool="Bash", command="ls", status="ok"),
    )
    assert [(v.index, v.rule_id) for v in found] == [(1, "budget.max_cost_per_session")]


def test_the_kill_point_is_reported():
    """A kill-mode rule marks where the live gate would have killed the run."""
    g, found = guard(
        "session: {max_actions: 1, on_exceed: kill}\n",
        Event("shell", time=at(0), tool="Bash", command="a", status="ok"),
        Event("shell", time=at(1), tool="Bash", command="b", status="ok"),
    )
    assert g.killed_at == 1
    assert found[0].outcome == "kill"


@pytest.mark.parametrize("kind", ["message", "hook", "permission", "error", "unknown"])
def test_events_that_are_not_actions_are_not_judged(kind):
    """Only tool events are proposed to the policy."""
    g, found = guard("actions: {allow: []}\n", Event(kind, time=at(0)))
    assert (g.checked, found) == (0, [])
