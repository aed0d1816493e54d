"""AgentTrace, tracegate and ptrace policy files load as they are and decide as those tools do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sealog.errors import PolicyError
from sealog.policy import ProposedAction, SessionState, compile_policy, load_policy
from sealog.policy.model import BudgetLimit, CountLimit, DurationLimit, ListRule

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def act(action="llm_call", *, at=T0, **kw):
    return ProposedAction(action=action, at=at, **kw)


def run(engine, actions, state=None):
    state, out = state or SessionState.empty(T0), []
    for a in actions:
        d = engine.evaluate(a, state, now=a.at)
        out.append(d)
        state = state.record(a, d)
    return out, state


# --- AgentTrace (theMachineClay/agenttrace configs/demo_policy.yaml, unchanged) ---------------


@pytest.fixture
def agenttrace(asset):
    return load_policy(asset("policies/agenttrace/demo_policy.yaml"))


def test_agenttrace_file_loads_as_native(agenttrace):
    """AgentTrace's own demo policy loads unchanged with its limits, kill switch and audit."""
    assert (agenttrace.shape, agenttrace.version, agenttrace.agent_id) == (
        "native", "1.0", "customer-support-bot",
    )  # fmt: skip
    budget = agenttrace.rule("budget.max_cost_per_session")
    assert isinstance(budget, BudgetLimit)
    assert (budget.limit, budget.alert_at, budget.mode) == (
        Decimal("2.00"),
        Decimal("0.80"),
        "kill",
    )
    duration = agenttrace.rule("session.max_duration")
    assert isinstance(duration, DurationLimit)
    assert duration.seconds == 1800
    assert agenttrace.kill_switch.grace_period == 5
    assert agenttrace.audit.path == "/tmp/agenttrace/audit.jsonl"


def test_agenttrace_pii_three_strikes_kill(agenttrace):
    """As in AgentTrace: the third PII block kills the session."""
    engine = compile_policy(agenttrace)
    state = SessionState.empty(T0).with_violation("pii_blocked", 2)
    assert engine.evaluate(act(), state, now=T0).outcome == "allow"
    d = engine.evaluate(act(), state.with_violation("pii_blocked"), now=T0)
    assert (d.outcome, d.blocking_rule) == ("kill", "violations.pii_blocked")


def test_agenttrace_one_scope_violation_kills(agenttrace):
    """As in AgentTrace: a single scope violation kills the session."""
    state = SessionState.empty(T0).with_violation("scope_violation")
    assert compile_policy(agenttrace).evaluate(act(), state, now=T0).outcome == "kill"


def test_agenttrace_budget_alert_then_kill(agenttrace):
    """As in AgentTrace: alert at 80 % of $2, block a > $0.50 action, kill past $2."""
    engine = compile_policy(agenttrace)
    costs = ["0.45", "0.60", "0.45", "0.45", "0.30", "0.45"]
    decisions, _ = run(engine, [act(cost=Decimal(c)) for c in costs])
    assert [d.outcome for d in decisions] == ["allow", "deny", "allow", "allow", "allow", "kill"]
    assert decisions[1].blocking_rule == "budget.max_cost_per_action"
    assert decisions[3].alerts == ()
    assert decisions[4].alerts == ("budget.max_cost_per_session",)
    assert decisions[5].blocking_rule == "budget.max_cost_per_session"


def test_agenttrace_action_and_duration_caps_kill(agenttrace):
    """As in AgentTrace: the 51st action or running past 30 minutes kills the session."""
    engine = compile_policy(agenttrace)
    decisions, _ = run(engine, [act() for _ in range(51)])
    assert decisions[49].outcome == "allow"
    assert decisions[50].outcome == "kill"
    late = act(at=T0 + timedelta(minutes=31))
    assert engine.evaluate(late, SessionState.empty(T0), now=late.at).outcome == "kill"


# --- tracegate ---------------------------------------------------------------------------------


@pytest.fixture
def tracegate(asset):
    return compile_policy(load_policy(asset("policies/tracegate/policy.yaml")))


def test_tracegate_loads(tracegate):
    """tracegate keys normalize to deny limits: cost, runtime, tools, paths, flows, shell count."""
    policy = tracegate.policy
    assert policy.shape == "tracegate"
    assert policy.rule("limits.max_runtime_minutes").seconds == 1200
    assert policy.rule("limits.max_cost_usd").limit == Decimal("5.00")
    shell = policy.rule("max_shell_commands")
    assert isinstance(shell, CountLimit)
    assert (shell.limit, shell.window) == (3, None)
    with pytest.raises(KeyError):
        policy.rule("allow_file_writes")  # allow_file_writes: true sets no limit


@pytest.mark.parametrize(
    ("action", "rule_id"),
    [
        (act("tool_call", tool="mcp__github__delete_repo"), "forbidden_tools"),
        (act("tool_call", tool="Read", paths=("/srv/app/.env",)), "forbidden_paths"),
        (act("tool_call", tool="Read", paths=("/home/u/.ssh/id_rsa",)), "allow_sensitive_files"),
        (act("tool_call", tool="WebFetch"), "allow_network"),
        (act("tool_call", tool="Bash", args={"command": "git push"}), "allow_git_actions.shell"),
        (act("tool_call", tool="ExternalContent", sources=()), None),
    ],
)
def test_tracegate_forbids(tracegate, action, rule_id):
    """Each tracegate prohibition refuses its actions; other tools pass."""
    d = tracegate.evaluate(action, SessionState.empty(T0), now=T0)
    assert d.blocking_rule == rule_id
    assert d.outcome == ("allow" if rule_id is None else "deny")


def test_tracegate_forbidden_flow_and_shell_cap(tracegate):
    """Content from ExternalContent may not reach GitHub; a fourth shell command is refused."""
    flow = act("GitHub", sources=("ExternalContent",))
    assert (
        tracegate.evaluate(flow, SessionState.empty(T0), now=T0).blocking_rule
        == "forbidden_flows[1]"
    )
    shells = [act("tool_call", tool="Bash", args={"command": "ls"}) for _ in range(4)]
    decisions, _ = run(tracegate, shells)
    assert [d.outcome for d in decisions] == ["allow", "allow", "allow", "deny"]


def test_tracegate_cost_and_runtime(tracegate):
    """Past $5 or 20 minutes the run fails (deny), it is not killed."""
    d = tracegate.evaluate(act(cost=Decimal("5.01")), SessionState.empty(T0), now=T0)
    assert (d.outcome, d.blocking_rule) == ("deny", "limits.max_cost_usd")
    late = act(at=T0 + timedelta(minutes=21))
    assert tracegate.evaluate(late, SessionState.empty(T0), now=late.at).outcome == "deny"


def test_tracegate_typo_suggestion():
    """A typo in a tracegate file is caught with the tracegate key suggested."""
    with pytest.raises(PolicyError, match="did you mean allow_network"):
        load_policy("forbidden_tools: [x]\nallow_netwrok: false\n")


# --- ptrace ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["policy.yaml", "policy.json"])
def test_ptrace_loads(asset, name):
    """ptrace policies (YAML or JSON) normalize to action and target lists, a rate and expiry."""
    policy = load_policy(asset(f"policies/ptrace/{name}"))
    assert policy.shape == "ptrace"
    assert isinstance(policy.rule("allowed_targets"), ListRule)
    assert policy.rule("max_actions_per_hour").window == 3600
    assert policy.rule("expires_at").at == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture
def ptrace(asset):
    return compile_policy(load_policy(asset("policies/ptrace/policy.yaml")))


@pytest.mark.parametrize(
    ("action", "outcome", "rule_id"),
    [
        (act("post_reply", target="https://forum.example.com/t/1"), "allow", None),
        (act("search_posts", target="https://a.example.org/public/x"), "allow", None),
        (act("post_pricing", target="https://forum.example.com/t/1"), "deny", "denied_actions"),
        (act("send_email", target="https://forum.example.com/"), "deny", "allowed_actions"),
        (act("post_reply", target="https://evil.example.com/"), "deny", "allowed_targets"),
        (act("post_reply", at=datetime(2027, 1, 1, tzinfo=UTC)), "deny", "expires_at"),
    ],
)
def test_ptrace_decides(ptrace, action, outcome, rule_id):
    """ptrace grants: listed actions on listed targets, until expiry; denied actions never."""
    d = ptrace.evaluate(action, SessionState.empty(T0), now=action.at)
    assert (d.outcome, d.blocking_rule) == (outcome, rule_id)


def test_ptrace_hourly_rate(ptrace):
    """The 31st action within an hour is refused."""
    acts = [act("read_thread", at=T0 + timedelta(seconds=i)) for i in range(31)]
    decisions, _ = run(ptrace, acts)
    assert decisions[29].outcome == "allow"
    assert decisions[30].blocking_rule == "max_actions_per_hour"


def test_mixed_shapes_refused():
    """A file mixing tracegate and ptrace keys is refused."""
    with pytest.raises(PolicyError, match="mixes tracegate keys and ptrace keys"):
        load_policy("forbidden_tools: [x]\nallowed_actions: [y]\n")
