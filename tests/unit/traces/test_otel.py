import json
import random
from collections import Counter

import pytest

from sealog.traces import detect, open_trace
from sealog.traces.adapters._base import Record
from sealog.traces.adapters.otel import UNKNOWN, OTelAdapter, any_value, attributes, nanos_time
from sealog.traces.reader import peek

SEMCONV = "traces/otel/semconv_manual.otlp.json"
INSTRUMENTED = "traces/otel/openai_agents_instrumented.otlp.json"
TOOL_KINDS = {"tool_call", "file_read", "file_write", "file_edit", "shell", "network_fetch", "git"}


def read(path, **kw):
    trace = open_trace(path, "otel", **kw)
    return trace, list(trace)


def tools(events):
    return [e for e in events if e.kind in TOOL_KINDS]


def attr(key, value):
    if isinstance(value, bool):
        wrapped = {"boolValue": value}
    elif isinstance(value, int):
        wrapped = {"intValue": str(value)}
    else:
        wrapped = {"stringValue": value}
    return {"key": key, "value": wrapped}


def otlp_span(span_id, parent, name, start, attrs, *, trace="t" * 32, status=None):
    out = {"traceId": trace, "spanId": span_id, "name": name, "kind": 1,
           "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 1000),
           "attributes": [attr(k, v) for k, v in attrs.items()],
           "status": status or {}}  # fmt: skip
    if parent is not None:
        out["parentSpanId"] = parent
    return out


def request(*spans):
    return {"resourceSpans": [{"resource": {"attributes": [attr("service.name", "svc")]},
                               "scopeSpans": [{"scope": {"name": "test"},
                                               "spans": list(spans)}]}]}  # fmt: skip


def write(tmp_path, *requests, name="trace.otlp.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in requests), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", [SEMCONV, INSTRUMENTED])
def test_fixtures_are_detected(asset, name):
    """Both OTLP/JSON fixtures are detected as otel."""
    assert detect(asset(name)) == "otel"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"stringValue": "x"}, "x"),
        ({"intValue": "1795291543708247268"}, 1795291543708247268),
        ({"intValue": 7}, 7),
        ({"intValue": "seven"}, None),
        ({"doubleValue": 0.5}, 0.5),
        ({"boolValue": True}, True),
        ({"arrayValue": {"values": [{"stringValue": "stop"}, {"intValue": "2"}]}}, ["stop", 2]),
        ({"arrayValue": {}}, []),
        ({"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": False}}]}}, {"k": False}),
        ({"bytesValue": "AAE="}, "AAE="),
        ({}, None),
        ("plain", None),
    ],
)
def test_any_value_decodes_otlp_values(value, expected):
    """OTLP AnyValue objects decode to plain values; int64 arrives as a decimal string."""
    assert any_value(value) == expected


def test_attributes_skip_malformed_pairs():
    """Key-value lists become dicts; items without a string key are skipped."""
    items = [attr("a", 1), {"value": {"stringValue": "no key"}}, "junk"]
    assert attributes(items) == {"a": 1}
    assert attributes(None) == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1795291543708247268", "2026-11-21T20:05:43.708Z"),
        (1795291543000000000, "2026-11-21T20:05:43.000Z"),
        ("0", None),
        ("soon", None),
        (None, None),
    ],
)
def test_nanos_time(value, expected):
    """Unix nanoseconds become ISO 8601 UTC with milliseconds and Z."""
    assert nanos_time(value) == expected


def test_semconv_spans_in_start_order(asset):
    """The spans of a request are emitted by start time, whatever their order in the file."""
    trace, events = read(asset(SEMCONV))
    kinds = [e.kind for e in events]
    assert kinds == [
        "model_call", "file_read", "shell", "permission", "model_call", "network_fetch",
        "model_call", "shell", "model_call", "tool_call", "model_call", "file_read", "model_call",
    ]  # fmt: skip
    times = [e.time for e in events]
    assert times == sorted(times)
    assert trace.unknown == Counter()


def test_semconv_tool_calls(asset):
    """execute_tool spans are tool events with their call id, arguments and result."""
    _, events = read(asset(SEMCONV))
    calls = tools(events)
    assert [(e.tool, e.call_id, e.status) for e in calls] == [
        ("read_file", "call_read_001", "ok"),
        ("run_shell", "call_shell_002", "denied"),
        ("fetch_url", "call_fetch_003", "error"),
        ("run_shell", "call_shell_004", "ok"),
        ("transfer_to_reviewer", "call_handoff_005", "ok"),
        ("read_file", "call_read_006", "ok"),
    ]
    assert calls[0].paths == ("tests/test_parser.py",)
    assert calls[0].args == {"path": "tests/test_parser.py"}
    assert calls[1].command == "rm -rf build/ && pytest -q"
    assert calls[2].url == "https://example.com/changelog"
    assert calls[2].reason.startswith("ConnectionError: network access is disabled")
    assert calls[4].result == '{"assistant": "reviewer"}'


def test_tool_rejected_is_denied_with_a_permission_event(asset):
    """error.type tool_rejected makes the call denied, followed by a permission denial."""
    _, events = read(asset(SEMCONV))
    i = next(i for i, e in enumerate(events) if e.status == "denied")
    denial = events[i + 1]
    assert (denial.kind, denial.decision, denial.tool) == ("permission", "denied", "run_shell")
    assert denial.call_id == "call_shell_002"
    assert denial.reason == "Rejected by policy: destructive command 'rm -rf' is not allowed."


def test_semconv_model_calls(asset):
    """chat spans are model calls: response model, provider, cached tokens taken out of input."""
    _, events = read(asset(SEMCONV))
    calls = [e for e in events if e.kind == "model_call"]
    assert {e.model for e in calls} == {"gpt-4.1-mini-2025-04-14"}
    assert {e.usage.provider for e in calls} == {"openai"}
    second = calls[1].usage
    assert (second.input_tokens, second.cache_read_tokens, second.output_tokens) == (176, 384, 31)
    whole = sum(e.usage.input_tokens + e.usage.cache_read_tokens for e in calls)
    assert whole == 4100  # the invoke_agent totals are not added again
    assert sum(e.usage.output_tokens for e in calls) == 197


def test_semconv_actors_and_run(asset):
    """invoke_agent spans name the actor of the spans beneath them and fill the run."""
    trace, events = read(asset(SEMCONV))
    assert [e.actor for e in events].count("coder") == 10
    assert [e.actor for e in events][-3:] == ["reviewer"] * 3
    run = trace.run
    assert run.format == "otel"
    assert run.run_id == "4048844518c0c5d34230dfc1eb442e34"
    assert run.agent == "coder"
    assert run.model == "gpt-4.1-mini-2025-04-14"
    assert run.tool_version == "sealog.fixtures.genai 0.1.0"
    assert run.extra["workflow"] == "fix-failing-test"
    assert run.extra["conversation_id"] == "conv_fixture_0001"
    assert run.extra["service"] == "sealog-fixture-semconv"
    assert run.extra["agents"] == ["coder", "reviewer"]
    assert run.started.endswith("Z")
    assert run.started < run.ended


def test_instrumented_actor_is_the_real_agent(asset):
    """The instrumentation's placeholder agent name is ignored for the invoke_agent's name."""
    trace, events = read(asset(INSTRUMENTED))
    assert "OpenAI Agent" not in {e.actor for e in events}
    assert trace.run.extra["agents"] == ["coder", "reviewer", "deployer"]
    assert trace.run.agent == "coder"
    assert trace.run.extra["workflow"] == "fix-failing-test"
    assert len(trace.run.extra["other_traces"]) == 3


def test_instrumented_statuses(asset):
    """Pending approval, manual rejection and a raised tool read as the SDK recorded them."""
    _, events = read(asset(INSTRUMENTED))
    calls = [(e.tool, e.status, e.actor) for e in tools(events)]
    assert calls == [
        ("read_file", "ok", "coder"),
        ("run_shell", "ok", "coder"),  # refused by a tool guardrail: only its output says so
        ("fetch_url", "error", "coder"),
        ("run_shell", "ok", "coder"),
        ("read_file", "ok", "reviewer"),
        ("run_shell", "pending", "deployer"),
        ("run_shell", "denied", "deployer"),
    ]
    denial = next(e for e in events if e.kind == "permission")
    assert denial.call_id == "call_push_002"


def test_instrumented_guardrails_handoff_and_unknown_spans(asset):
    """Guardrails are hooks, the handoff a system message, custom spans unknown; errors kept."""
    trace, events = read(asset(INSTRUMENTED))
    hooks = [(e.tool, e.decision) for e in events if e.kind == "hook"]
    assert hooks == [
        ("no_secrets_in_prompt", "allow"),
        ("no_credentials_in_output", "allow"),
        ("no_secrets_in_prompt_blocking", "block"),
    ]
    (handoff,) = [e for e in events if e.kind == "message"]
    assert (handoff.role, handoff.text) == ("system", "handoff from coder to reviewer")
    (error,) = [e for e in events if e.kind == "error"]
    assert error.text.startswith("Guardrail tripwire triggered")
    assert trace.unknown == Counter({"unknown": 15})
    calls = [e for e in events if e.kind == "model_call"]
    assert sum(e.usage.input_tokens for e in calls) == 4100 + 810


def test_sorting_is_by_start_not_file_order(tmp_path):
    """Shuffled spans of one request come out in start-time order, same events every time."""
    spans = [
        otlp_span(f"{i:016x}", None, "execute_tool ls", 1_000_000_000 * (i + 1),
                  {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": f"t{i}"})
        for i in range(8)
    ]  # fmt: skip
    random.Random(7).shuffle(spans)
    _, events = read(write(tmp_path, request(*spans)))
    assert [e.tool for e in events] == [f"t{i}" for i in range(8)]


def test_jsonl_requests_share_the_agent_of_an_earlier_request(tmp_path):
    """A span whose invoke_agent parent came in an earlier request still gets its actor."""
    first = request(otlp_span("a" * 16, None, "invoke_agent planner", 10,
                              {"gen_ai.operation.name": "invoke_agent",
                               "gen_ai.agent.name": "planner"}))  # fmt: skip
    second = request(otlp_span("b" * 16, "a" * 16, "execute_tool ls", 20,
                               {"gen_ai.operation.name": "execute_tool",
                                "gen_ai.tool.name": "ls"}))  # fmt: skip
    trace, events = read(write(tmp_path, first, second))
    assert [(e.tool, e.actor, e.source.line) for e in events] == [("ls", "planner", 2)]
    assert trace.run.agent == "planner"


def test_agent_totals_count_only_without_chat_usage(tmp_path):
    """invoke_agent usage becomes one model call only when no chat span carries usage."""
    agent = otlp_span("a" * 16, None, "invoke_agent solo", 10, {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "solo",
        "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 50,
        "gen_ai.usage.cache_read.input_tokens": 600,
    })  # fmt: skip
    chat = otlp_span("b" * 16, "a" * 16, "chat", 20, {"gen_ai.operation.name": "chat"})
    _, events = read(write(tmp_path, request(agent, chat)))
    total, call = [e for e in events if e.kind == "model_call"]
    assert "agent total" in total.reason
    usage = total.usage
    assert (usage.provider, usage.model) == ("anthropic", "claude-sonnet-4-5")
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens) == (400, 600, 50)
    assert call.usage is None


def test_usage_names_unknown_when_the_span_does_not(tmp_path):
    """A chat span with tokens but no provider or model still counts its tokens."""
    chat = otlp_span("c" * 16, None, "chat", 5, {"gen_ai.usage.input_tokens": 12})
    _, (event,) = read(write(tmp_path, request(chat)))
    assert (event.usage.provider, event.usage.model, event.usage.input_tokens) == (
        UNKNOWN, UNKNOWN, 12,
    )  # fmt: skip


def test_span_name_gives_operation_model_and_tool(tmp_path):
    """Without gen_ai.operation.name, the span name's words give operation, model and tool."""
    chat = otlp_span("c" * 16, None, "chat gpt-4o", 5, {"gen_ai.system": "openai"})
    tool = otlp_span(
        "d" * 16,
        None,
        "execute_tool run_shell",
        6,
        {"gen_ai.tool.call.arguments": '{"command": "ls"}', "gen_ai.tool.call.result": "a"},
    )
    _, events = read(write(tmp_path, request(chat, tool)))
    assert [(e.kind, e.model, e.tool, e.command) for e in events] == [
        ("model_call", "gpt-4o", None, None),
        ("shell", None, "run_shell", "ls"),
    ]


def test_failed_unknown_span_is_an_error(tmp_path):
    """A span of no known operation is unknown, or an error event when its status is ERROR."""
    spans = [
        otlp_span("e" * 16, None, "HTTP GET", 1, {}),
        otlp_span("f" * 16, None, "db.query", 2, {}, status={"code": 2, "message": "timeout"}),
    ]
    trace, events = read(write(tmp_path, request(*spans)))
    assert [(e.kind, e.text) for e in events] == [("unknown", None), ("error", "timeout")]
    assert trace.unknown == Counter({"HTTP GET": 1})


def test_exception_event_gives_the_reason(tmp_path):
    """A failed tool with no status message takes the recorded exception's message."""
    tool = otlp_span("a" * 16, None, "execute_tool fetch", 1, {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "fetch"},
        status={"code": 2})  # fmt: skip
    tool["events"] = [{"name": "exception", "timeUnixNano": "2",
                       "attributes": [attr("exception.message", "boom")]}]  # fmt: skip
    _, (event,) = read(write(tmp_path, request(tool)))
    assert (event.kind, event.status, event.reason) == ("network_fetch", "error", "boom")


def test_keep_raw_keeps_the_span(asset):
    """With keep_raw, an event's raw payload is the OTLP span."""
    _, events = read(asset(SEMCONV), keep_raw=True)
    assert events[0].raw["name"] == "chat gpt-4.1-mini"


def test_sniff_and_feed_refuse_what_is_no_export(asset, tmp_path):
    """Only export requests are sniffed as otel; a stray record is one unknown event."""
    assert OTelAdapter.sniff(peek(asset(SEMCONV)))
    assert not OTelAdapter.sniff(peek(asset("traces/openai_agents/coding_session.chat.jsonl")))
    assert not OTelAdapter.sniff([{"type": "tool_call"}])
    assert not OTelAdapter.sniff([])
    adapter = OTelAdapter(str(tmp_path / "x"))
    (event,) = adapter.feed(Record(3, {"hello": "world"}))
    assert (event.kind, event.source.line) == ("unknown", 3)


def test_legacy_instrumentation_library_spans(tmp_path):
    """Exports from before OTLP 0.15 (instrumentationLibrarySpans) read the same way."""
    tool = otlp_span("a" * 16, None, "execute_tool ls", 1, {"gen_ai.tool.name": "ls"})
    old = {
        "resourceSpans": [
            {
                "instrumentationLibrarySpans": [
                    {
                        "instrumentationLibrary": {"name": "legacy", "version": "0.9"},
                        "spans": [tool],
                    }
                ]
            }
        ]
    }
    trace, (event,) = read(write(tmp_path, old))
    assert (event.kind, event.tool) == ("tool_call", "ls")
    assert trace.run.tool_version == "legacy 0.9"
