"""Loading and validating policies: one error naming file, line and key path; never half-loaded."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealog.errors import InputError, PolicyError
from sealog.policy import MAX_POLICY_BYTES, load_policy
from sealog.policy._foreign import PTRACE_KEYS, TRACEGATE_KEYS
from sealog.policy._native import NATIVE_KEYS
from sealog.policy.model import AggregateLimit, BudgetLimit, Condition, CountLimit, DurationLimit


def problem(text, source="policy.yaml"):
    with pytest.raises(PolicyError) as info:
        load_policy(text, source=source)
    return info.value


def test_full_native_example_loads(asset):
    """The full example of docs/policy.md loads with every rule kind."""
    policy = load_policy(asset("policies/native/full.yaml"))
    kinds = {type(rule).__name__ for rule in policy.rules}
    assert kinds == {
        "Expiry", "ViolationThreshold", "DurationLimit", "CountLimit", "BudgetLimit", "ListRule",
        "FlowRule", "AggregateLimit", "Condition", "AskRule",
    }  # fmt: skip
    assert policy.source.endswith("full.yaml")
    assert policy.kill_switch.webhooks == ("https://hooks.example.com/sealog",)
    assert policy.audit.path == "audit/trading.jsonl"


def test_money_is_decimal_from_the_written_text():
    """Money keeps its written digits as a Decimal, never passing through float."""
    policy = load_policy("budget: {max_cost_per_session: 0.10, max_cost_per_action: 1e-2}")
    session, action = policy.rules
    assert isinstance(session, BudgetLimit)
    assert session.limit == Decimal("0.10")
    assert str(session.limit) == "0.10"
    assert action.limit == Decimal("0.01")


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("45", 45), (120, 120)],
)
def test_durations(written, seconds):
    """Durations read 90s, 30m, 2h, 1d and plain seconds as whole seconds."""
    rule = load_policy(f"session: {{max_duration: {written}}}").rules[0]
    assert isinstance(rule, DurationLimit)
    assert rule.seconds == seconds


def test_bad_duration_names_line_and_key():
    """A bad duration is refused with file, line and key path."""
    err = problem("version: 1\nsession:\n  max_duration: soon\n")
    assert err.message.startswith("policy.yaml:3: session.max_duration: expected a duration")


def test_wrong_type_message():
    """A wrong type names the expected type and shows the value given."""
    err = problem("# x\nbudget:\n  max_cost_per_session: ten\n")
    assert err.message == "policy.yaml:3: budget.max_cost_per_session: expected a number, got 'ten'"


def test_unknown_key_did_you_mean():
    """A misspelt key is refused with a did-you-mean suggestion."""
    err = problem("actions: {allow: ['*']}\nforbiden_tools: [Bash]\n")
    assert (
        err.message == "policy.yaml:2: forbiden_tools: unknown key; did you mean forbidden_tools?"
    )


def test_unknown_nested_key_did_you_mean():
    """Typos inside sections are caught too."""
    err = problem("budget:\n  max_cost_per_sesion: 1\n")
    assert (
        "budget.max_cost_per_sesion: unknown key; did you mean max_cost_per_session?" in err.message
    )


def test_cel_that_does_not_compile():
    """A condition whose CEL does not compile is refused at load time."""
    err = problem("conditions:\n  - require: 'args.amount <='\n")
    assert err.message.startswith("policy.yaml:2: conditions[0].require: CEL does not compile")


def test_action_both_allowed_and_denied():
    """An action both allowed and denied exactly is a contradiction."""
    err = problem("actions:\n  allow: [x, y]\n  deny: [y]\n")
    assert "actions: 'y' is both allowed and denied" in err.message


@pytest.mark.parametrize("fraction", ["0", "1.5", "-0.2"])
def test_alert_at_outside_unit_interval(fraction):
    """alert_at must be a fraction in (0, 1]."""
    err = problem(f"budget: {{max_cost_per_session: 1, alert_at: {fraction}}}")
    assert "budget.alert_at" in err.message


def test_negative_limits_refused():
    """Negative counts and amounts are refused."""
    err = problem("session: {max_actions: -1}\nbudget: {max_cost_per_action: -2}")
    assert len(err.problems) == 2
    assert "session.max_actions: expected a non-negative number, got -1" in err.problems[0]


def test_expires_at_must_be_a_timestamp():
    """expires_at must be a timezone-aware timestamp."""
    assert "expires_at: expected a timestamp" in problem("expires_at: tomorrow").message
    assert "no timezone" in problem("expires_at: 2026-01-01T00:00:00").message
    rule = load_policy("expires_at: '2026-01-01T00:00:00+02:00'").rules[0]
    assert rule.at == datetime(2025, 12, 31, 22, 0, tzinfo=UTC)


def test_every_problem_is_reported_in_one_error():
    """All problems are collected in one error; the message counts the rest."""
    err = problem("budget: {max_cost_per_session: x}\nsession: {max_actions: y}\nbogus: 1\n")
    assert len(err.problems) == 3
    assert err.message.endswith("(and 2 more)")
    assert isinstance(err, InputError)
    assert err.code == "bad-policy"


def test_empty_policy_refused():
    """An empty document or one with no rules refuses to load (no silent allow-all)."""
    assert "policy is empty" in problem("").message
    assert "states no rules" in problem("version: 1\n").message


def test_allow_all_must_be_explicit():
    """An explicit allow-everything policy loads."""
    assert load_policy("actions: {allow: ['*']}").rules[0].patterns == ("*",)


def test_not_yaml():
    """Broken YAML names the line."""
    assert problem("a: [1,\nb: 2\n").message.startswith("policy.yaml:")


def test_duplicate_keys_refused():
    """A key given twice is refused (YAML would silently keep the last)."""
    err = problem("budget: {max_cost_per_session: 1}\nbudget: {max_cost_per_session: 9}\n")
    assert "policy.yaml:2: budget: duplicate key" in err.message


def test_unsafe_yaml_tags_refused():
    """Only safe YAML: python object tags are refused."""
    with pytest.raises(PolicyError):
        load_policy("actions: !!python/object/apply:os.system ['true']")


def test_size_limit(tmp_path):
    """A policy larger than 1 MiB is refused, from text or from a file."""
    big = "# " + "x" * MAX_POLICY_BYTES + "\nactions: {allow: ['*']}\n"
    assert "larger than" in problem(big).message
    path = tmp_path / "big.yaml"
    path.write_text(big)
    with pytest.raises(PolicyError, match="larger than"):
        load_policy(path)


def test_depth_limit():
    """Absurdly deep nesting is refused."""
    deep = "actions: " + "[" * 40 + "]" * 40
    assert "nested deeper" in problem(deep).message


def test_json_policy_with_lines(tmp_path):
    """JSON policies load, and their errors carry lines too."""
    path = tmp_path / "p.json"
    path.write_text('{\n  "actions": {"allow": ["*"]},\n  "session": {"max_actions": "many"}\n}\n')
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.message.startswith(f"{path}:3: session.max_actions: expected a whole number")
    path.write_text('{"actions": {"allow": ["*"]},}')
    with pytest.raises(PolicyError, match="not valid JSON"):
        load_policy(path)


def test_missing_file():
    """A missing file is a PolicyError, not an OSError."""
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy("/nonexistent/policy.yaml")


def test_rule_entries_need_their_keys():
    """Aggregates, conditions and asks name the keys they miss."""
    err = problem(
        "aggregates: [{sum: amount}]\nconditions: [{actions: [x]}]\nask: [{when: 'true'}]"
    )
    text = "\n".join(err.problems)
    assert "aggregates[0]: missing actions" in text
    assert "conditions[0]: missing require" in text
    assert "ask[0]: missing actions" in text


def test_rule_ids_and_defaults():
    """Rules get stable ids, default weights and classes by kind."""
    policy = load_policy(
        "rate_limits: {per_action: {transfer: 3}}\n"
        "conditions: [{require: 'true', risk: 10, class: custom}]\n"
        "aggregates: [{sum: amount, actions: [t], window: 1d, max: 5}]\n"
    )
    rate, agg, cond = policy.rules
    assert isinstance(rate, CountLimit)
    assert (rate.rule_id, rate.window, rate.risk, rate.decision_class) == (
        "rate_limits.per_action.transfer", 3600, 30, "rate_limited",
    )  # fmt: skip
    assert isinstance(agg, AggregateLimit)
    assert (agg.rule_id, agg.window) == ("aggregates[0]", 86400)
    assert isinstance(cond, Condition)
    assert (cond.rule_id, cond.risk, cond.decision_class) == ("conditions[0]", 10, "custom")


def test_override_of_unknown_rule():
    """Overriding a rule the policy does not have is refused with a suggestion."""
    err = problem("actions: {deny: [x]}\noverrides: {actions.denyed: {risk: 5}}")
    assert "did you mean actions.denied?" in err.message


def test_hash_ignores_source_and_formatting():
    """The policy hash depends on the normalized rules, not on file name or layout."""
    a = load_policy("actions: {deny: [x]}", source="a.yaml")
    b = load_policy("actions:\n  deny:\n    - x\n", source="b.yaml")
    assert a.hash() == b.hash()
    assert a.hash() != load_policy("actions: {deny: [y]}").hash()


def test_docs_example_is_the_asset(asset):
    """The full example in docs/policy.md is the tested asset, byte for byte."""
    docs = Path(__file__).parents[3] / "docs" / "policy.md"
    block = re.search(r"```yaml\n(.*?)```", docs.read_text(), re.DOTALL)
    assert block is not None
    assert block.group(1) == asset("policies/native/full.yaml").read_text()


def test_zero_aggregate_window_refused():
    """An aggregate over a zero-length window is refused rather than silently dropped."""
    err = problem("aggregates: [{sum: amount, actions: [t], window: 0, max: 5}]")
    assert "aggregates[0].window: expected a window longer than 0 seconds" in err.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "(top level): expected a mapping at the top level"),
        ("actions: [x]", "actions: expected a mapping, got a list"),
        ("actions: {deny: 5}", "actions.deny: expected a list of strings, got 5"),
        ("actions: {deny: ['']}", "actions.deny[0]: expected a non-empty string, got ''"),
        (
            "budget: {max_cost_per_action: 1, on_exceed: explode}",
            "budget.on_exceed: expected one of",
        ),
        ("budget: {alert_at: 0.5, max_cost_per_action: 1}", "alert_at needs max_cost_per_session"),
        ("session: {max_actions: 1.5}", "session.max_actions: expected a whole number, got 1.5"),
        ("session: {max_actions: true}", "session.max_actions: expected a whole number, got True"),
        ("violations: {thresholds: [pii]}", "violations.thresholds: expected a mapping"),
        (
            "violations: {thresholds: {pii: 0}}",
            "violations.thresholds.pii: expected a positive number",
        ),
        ("flows: {deny: ['WebFetch']}", "flows.deny[0]: expected 'Source->Sink'"),
        ("flows: {deny: 'a->b'}", "flows.deny: expected a list of flows"),
        ("rate_limits: {per_action: [x]}", "rate_limits.per_action: expected a mapping"),
        ("conditions: {require: 'true'}", "conditions: expected a list"),
        (
            "conditions: [{require: 'true', on_fail: kill}]",
            "conditions[0].on_fail: expected deny or ask",
        ),
        (
            "conditions: [{require: 'true', risk: 101}]",
            "conditions[0].risk: expected a risk weight 0-100",
        ),
        ("ask: [{actions: [x], when: 'args.'}]", "ask[0].when: CEL does not compile"),
        (
            "actions: {allow: ['*']}\nkill_switch: {notify: hook}",
            "kill_switch.notify: expected a list",
        ),
        (
            "actions: {allow: ['*']}\nkill_switch: {enabled: yes please}",
            "kill_switch.enabled: expected true or false",
        ),
        ("actions: {allow: ['*']}\naudit: {export: 3}", "audit.export: expected a file path"),
        ("budget: {max_cost_per_session: .nan}", "budget.max_cost_per_session: expected a number"),
        (
            "budget: {max_cost_per_session: [1]}",
            "budget.max_cost_per_session: expected a number, got a list",
        ),
        ("forbidden_tools: [x]\nallow_network: nope", "allow_network: expected true or false"),
        ("allowed_actions: [x]\ndenied_actions: [x]", "'x' is both allowed and denied"),
    ],
)
def test_validation_messages(text, expected):
    """Each kind of mistake gets a specific message at its key path."""
    assert expected in "\n".join(problem(text).problems)


def test_date_only_expiry_is_midnight_utc():
    """A bare YAML date as expires_at means midnight UTC that day."""
    rule = load_policy("expires_at: 2026-12-31").rules[0]
    assert rule.at == datetime(2026, 12, 31, tzinfo=UTC)


def test_text_and_path_sources(tmp_path):
    """Text gets the source name <policy> unless told; a Path keeps its file name."""
    assert load_policy("actions: {deny: [x]}").source == "<policy>"
    assert problem("bogus: 1", source="mine.yaml").message.startswith("mine.yaml:1:")
    path = tmp_path / "p.yml"
    path.write_text("actions: {deny: [x]}\n")
    assert load_policy(path).source == str(path)
    assert load_policy(str(path), source="named").source == "named"


def test_non_utf8_file(tmp_path):
    """A file that is not UTF-8 is a PolicyError naming the byte."""
    path = tmp_path / "p.yaml"
    path.write_bytes(b"actions: {deny: [\xff]}")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(path)


def test_audit_and_kill_switch_shapes():
    """The audit export takes a path or AgentTrace's list; enabled: false turns it off."""
    base = "actions: {allow: ['*']}\n"
    listed = load_policy(base + "audit: {export: [{otel: 'http://c'}, {file: a.jsonl}]}")
    assert (listed.audit.path, listed.audit.otel_endpoint) == ("a.jsonl", "http://c")
    assert load_policy(base + "audit: {enabled: false, export: a.jsonl}").audit is None
    ks = load_policy(base + "kill_switch: {enabled: false}").kill_switch
    assert (ks.enabled, ks.webhooks, ks.grace_period) == (False, (), 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("session: {max_duration: null}", "session.max_duration: expected a duration"),
        ("session: {max_duration: {a: 1}}", "got a mapping"),
        ("session: {max_actions: 1, on_exceed: stop}", "session.on_exceed: expected one of"),
        ("version: 1\nactions: {deny: [x]}\nextra: [1]\nmore: 2", "(and 1 more)"),
    ],
)
def test_more_validation_messages(text, expected):
    """Nulls, mappings and bad modes are described plainly."""
    assert expected in problem(text).message


def test_single_strings_and_flow_mappings():
    """A single string counts as a one-item list; flows may be {from, to} mappings."""
    policy = load_policy("actions: {deny: x}\nflows: {deny: [{from: WebFetch, to: Shell}]}\n")
    denied, flow = policy.rules
    assert denied.patterns == ("x",)
    assert (flow.source, flow.sink) == ("WebFetch", "Shell")
    assert load_policy("session: {max_duration: '45'}").rules[0].seconds == 45


def test_value_count_limit():
    """A document with more than 100,000 values is refused."""
    big = "actions: {deny: [" + ",".join(["a"] * 100_001) + "]}"
    assert "more than 100000 values" in problem(big).message


YAMLISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["30m", "kill", "a->b", "2026-01-01", "args.x > 1", "*", "1.5"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    *NATIVE_KEYS,
                    *TRACEGATE_KEYS,
                    *PTRACE_KEYS,
                    "deny",
                    "allow",
                    "max",
                    "sum",
                    "window",
                    "require",
                    "actions",
                    "thresholds",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(YAMLISH)
def test_any_document_loads_or_raises_policy_error(document):
    """Whatever the document, load_policy returns a policy or raises PolicyError, nothing else."""
    with contextlib.suppress(PolicyError):
        load_policy(json.dumps(document))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_loads_or_raises_policy_error(text):
    """Arbitrary text never leaks a foreign exception."""
    with contextlib.suppress(PolicyError):
        load_policy(text + "\n")
