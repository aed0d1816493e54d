import json
from collections import Counter

import pytest

from sealog.traces import detect, open_trace
from sealog.traces.adapters import openai_agents
from sealog.traces.adapters._base import Record
from sealog.traces.adapters.openai_agents import UNKNOWN_MODEL, OpenAIAgentsAdapter, utc_time
from sealog.traces.reader import peek

FIXTURES = [
    "approval_rejected.chat.jsonl",
    "approval_rejected.responses.jsonl",
    "coding_session.chat.jsonl",
    "coding_session.responses.ingest.json",
    "coding_session.responses.jsonl",
    "coding_session.scripted.jsonl",
    "input_guardrail_tripwire.responses.jsonl",
]
TOOL_KINDS = {"tool_call", "file_read", "file_write", "file_edit", "shell", "network_fetch", "git"}


def read(asset, name, **kw):
    trace = open_trace(asset(f"traces/openai_agents/{name}"), "openai_agents", **kw)
    return trace, list(trace)


def tools(events):
    return [e for e in events if e.kind in TOOL_KINDS]


def totals(events):
    out = Counter()
    for e in events:
        if e.usage is not None:
            out.update(input=e.usage.input_tokens + e.usage.cache_read_tokens,
                       output=e.usage.output_tokens, cached=e.usage.cache_read_tokens)  # fmt: skip
    return out


def span(span_id, parent, data, *, trace="trace_x", start="2026-01-01T00:00:00+00:00", error=None):
    return {"object": "trace.span", "id": span_id, "trace_id": trace, "parent_id": parent,
            "started_at": start, "ended_at": start, "span_data": data, "error": error}  # fmt: skip


def write_jsonl(tmp_path, rows):
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", FIXTURES)
def test_fixtures_are_detected(asset, name):
    """Every OpenAI Agents fixture, JSONL or ingest document, is detected as openai_agents."""
    assert detect(asset(f"traces/openai_agents/{name}")) == "openai_agents"


@pytest.mark.parametrize("name", FIXTURES)
def test_fixtures_read_cleanly_in_file_order(asset, name):
    """Each fixture reads with no malformed line and its events follow the file's order."""
    trace, events = read(asset, name)
    assert trace.malformed == 0
    assert events
    lines = [e.source.line for e in events]
    assert lines == sorted(lines)
    assert all(e.time is None or e.time.endswith("Z") for e in events)


def test_function_spans_are_classified_tool_events(asset):
    """Function spans become shell, file and fetch events with their command, path and URL."""
    _, events = read(asset, "coding_session.responses.jsonl")
    calls = tools(events)
    assert [(e.kind, e.tool) for e in calls] == [
        ("shell", "run_shell"),
        ("file_read", "read_file"),
        ("network_fetch", "fetch_url"),
        ("shell", "run_shell"),
        ("file_read", "read_file"),
    ]
    assert calls[0].command == "rm -rf build/ && pytest -q"
    assert calls[0].args == {"command": "rm -rf build/ && pytest -q"}
    assert calls[1].paths == ("tests/test_parser.py",)
    assert calls[2].url == "https://example.com/changelog"
    assert calls[3].result.startswith("F.\n=== FAILURES ===")


def test_tool_guardrail_rejection_is_only_its_output(asset):
    """A call refused by a tool guardrail shows only in its output text, so it stays ok."""
    _, events = read(asset, "coding_session.responses.jsonl")
    rejected = tools(events)[0]
    assert rejected.status == "ok"
    assert rejected.result == "Rejected by policy: destructive command 'rm -rf' is not allowed."
    assert not [e for e in events if e.kind == "permission"]


def test_failed_tool_is_an_error_with_the_detail(asset):
    """A function span with an error is status error, the redacted detail as its reason."""
    _, events = read(asset, "coding_session.responses.jsonl")
    fetch = tools(events)[2]
    assert fetch.status == "error"
    assert fetch.reason == "Tool execution failed. Error details are redacted."
    assert fetch.result == "An error occurred while running the tool. Please try again."


def test_response_spans_give_per_call_usage_without_a_model(asset):
    """Response spans are model calls with their own usage; the export names no model."""
    _, events = read(asset, "coding_session.responses.jsonl")
    calls = [e for e in events if e.kind == "model_call"]
    assert len(calls) == 6
    assert all(e.model is None and e.usage.model == UNKNOWN_MODEL for e in calls)
    assert {e.usage.provider for e in calls} == {"openai"}
    second = calls[1].usage
    assert (second.input_tokens, second.cache_read_tokens, second.output_tokens) == (176, 384, 31)
    assert totals(events) == Counter(input=4100, output=197, cached=2304)


def test_generation_spans_name_the_model(asset):
    """Chat Completions generation spans carry the model, in the event and in its usage."""
    trace, events = read(asset, "coding_session.chat.jsonl")
    calls = [e for e in events if e.kind == "model_call"]
    assert {e.model for e in calls} == {"gpt-4.1-mini"}
    assert {e.usage.model for e in calls} == {"gpt-4.1-mini"}
    assert trace.run.model == "gpt-4.1-mini"
    assert totals(events) == Counter(input=4100, output=197, cached=2304)


def test_scripted_model_counts_the_task_usage_once(asset):
    """With usage only on turn and task spans, the task's total is one model call, not six."""
    _, events = read(asset, "coding_session.scripted.jsonl")
    calls = [e for e in events if e.kind == "model_call"]
    assert [e.usage for e in calls[:6]] == [None] * 6
    total = calls[6]
    assert total.source.record == "custom/task"
    assert "run total" in total.reason
    assert totals(events) == Counter(input=4100, output=197, cached=2304)


def test_turn_usage_is_never_added_to_call_usage(asset):
    """Runs with per-call usage count only it, whatever the turn and task spans repeat."""
    _, events = read(asset, "approval_rejected.responses.jsonl")
    assert not [e for e in events if e.reason and "run total" in e.reason]
    assert totals(events) == Counter(input=810, output=70, cached=256)


def test_chat_generation_messages_once_each(asset):
    """System and user prompts are messages once per trace; assistant text follows its call."""
    _, events = read(asset, "coding_session.chat.jsonl")
    messages = [(e.role, e.actor, e.text[:20]) for e in events if e.kind == "message"]
    assert messages == [
        ("system", "coder", "You fix failing test"),
        ("user", "coder", "tests/test_parser.py"),
        ("system", "coder", "handoff from coder t"),
        ("system", "reviewer", "You review fixes. Be"),
        ("assistant", "reviewer", "Reviewed: the failin"),
    ]


def test_chat_tool_calls_recover_call_ids(asset):
    """Function spans get the call id of the generation's tool call with the same arguments."""
    _, events = read(asset, "coding_session.chat.jsonl")
    assert [e.call_id for e in tools(events)] == [
        "call_shell_002", "call_read_001", "call_fetch_003", "call_shell_004", "call_read_006",
    ]  # fmt: skip


def test_actor_comes_from_the_enclosing_agent_span(asset):
    """Events take the name of the agent span above them, though it ends after them."""
    trace, events = read(asset, "coding_session.responses.jsonl")
    actors = [(e.kind, e.actor) for e in events]
    assert actors[0] == ("unknown", None)  # the user's span before the run
    handoff = next(i for i, e in enumerate(events) if e.text and e.text.startswith("handoff"))
    assert {a for _, a in actors[1 : handoff + 1]} == {"coder"}
    assert {a for _, a in actors[handoff + 1 :]} == {"reviewer"}
    assert events[handoff].role == "system"
    assert events[handoff].text == "handoff from coder to reviewer"
    assert trace.run.agent == "coder"
    assert trace.run.extra["agents"] == ["coder", "reviewer"]


def test_guardrails_are_hooks(asset):
    """Guardrail spans are hooks named after the guardrail: allow, or block when tripped."""
    _, events = read(asset, "coding_session.responses.jsonl")
    hooks = [(e.tool, e.decision, e.actor) for e in events if e.kind == "hook"]
    assert hooks == [
        ("no_secrets_in_prompt", "allow", "coder"),
        ("no_credentials_in_output", "allow", "reviewer"),
    ]


def test_tripwire_is_a_blocking_hook_and_an_error(asset):
    """A tripped input guardrail blocks, and the turn's error is an error event."""
    _, events = read(asset, "input_guardrail_tripwire.responses.jsonl")
    assert [(e.kind, e.decision, e.actor) for e in events] == [
        ("hook", "block", "coder"),
        ("error", None, "coder"),
    ]
    assert events[0].tool == "no_secrets_in_prompt_blocking"
    assert events[1].text == "Guardrail tripwire triggered"
    assert "no_secrets_in_prompt_blocking" in events[1].reason


@pytest.mark.parametrize("backend", ["chat", "responses"])
def test_approval_pending_then_manual_rejection(asset, backend):
    """An interrupted call is pending; an always_reject call is denied and a permission event."""
    _, events = read(asset, f"approval_rejected.{backend}.jsonl")
    calls = tools(events)
    assert [(e.command, e.status) for e in calls] == [
        ("git push --force origin main", "pending"),
        ("git push --force-with-lease origin main", "denied"),
    ]
    denial = events[events.index(calls[1]) + 1]
    assert (denial.kind, denial.decision, denial.tool) == ("permission", "denied", "run_shell")
    assert denial.call_id == calls[1].call_id == "call_push_002"
    assert "manually rejected" in denial.reason
    if backend == "chat":
        assert calls[0].call_id == "call_push_001"


def test_run_info(asset):
    """The trace object and the spans fill the run: id, workflow, group, metadata, times."""
    trace, _ = read(asset, "coding_session.responses.jsonl")
    run = trace.run
    assert run.format == "openai_agents"
    assert run.run_id == "trace_c5e737ff6664479da4a116681847fee1"
    assert (run.started, run.ended) == ("2026-11-21T20:05:39.913Z", "2026-11-21T20:05:40.230Z")
    assert run.extra["workflow"] == "fix-failing-test"
    assert run.extra["group_id"] == "session-0001"
    assert run.extra["metadata"] == {"repo": "acme/widgets", "ticket": "WID-42"}
    assert (run.extra["turns"], run.extra["runs"]) == (6, 1)


def test_resumed_run_counts_both_runs(asset):
    """A run resumed after an approval reuses the trace: two task spans, one run id."""
    trace, _ = read(asset, "approval_rejected.responses.jsonl")
    assert trace.run.extra["runs"] == 2
    assert trace.run.extra["turns"] == 3
    assert "other_traces" not in trace.run.extra


def test_user_custom_spans_are_unknown(asset):
    """Custom spans the user made are kept as unknown events and counted by name."""
    trace, _ = read(asset, "coding_session.responses.jsonl")
    assert trace.unknown == Counter({"custom/prepare_workspace": 1, "custom/sandbox.exec": 1})


def test_ingest_document_reads_like_the_jsonl(asset):
    """The exporter's {"data": [...]} body gives the same events as the JSONL of the same run."""

    def shape(events):
        return [(e.kind, e.actor, e.tool, e.status, e.time, e.usage, e.source.line) for e in events]

    _, jsonl = read(asset, "coding_session.responses.jsonl")
    _, ingest = read(asset, "coding_session.responses.ingest.json")
    assert shape(ingest) == shape(jsonl)


def test_keep_raw_keeps_the_span(asset):
    """With keep_raw, an event's raw payload is its span as exported."""
    _, events = read(asset, "coding_session.responses.jsonl", keep_raw=True)
    assert tools(events)[0].raw["span_data"]["name"] == "run_shell"


def test_sniff_refuses_other_formats(asset):
    """Sniffing refuses OTLP exports and plain event lists."""
    assert not OpenAIAgentsAdapter.sniff(peek(asset("traces/otel/semconv_manual.otlp.json")))
    assert not OpenAIAgentsAdapter.sniff([{"type": "tool_call", "tool": "shell"}])
    assert not OpenAIAgentsAdapter.sniff([{"data": [{"type": "x"}]}])
    assert not OpenAIAgentsAdapter.sniff([])


def test_records_that_are_no_span_are_unknown(tmp_path):
    """A line that is not a trace or span export is an unknown event, in its place."""
    path = write_jsonl(tmp_path, [
        {"object": "trace", "id": "trace_x", "workflow_name": "w"},
        {"object": "response", "id": "resp_1"},
        span("span_a", None, {"type": "agent", "name": "solo"}),
    ])  # fmt: skip
    trace = open_trace(path, "openai_agents")
    events = list(trace)
    assert [(e.kind, e.source.line) for e in events] == [("unknown", 2)]
    assert trace.unknown == Counter({"response": 1})


def test_a_child_after_its_parent_takes_the_known_actor(tmp_path):
    """A span that ends after its agent span still gets the agent's name."""
    path = write_jsonl(tmp_path, [
        span("span_agent", None, {"type": "agent", "name": "late"}),
        span("span_tool", "span_agent", {"type": "function", "name": "ls", "input": "{}",
                                         "output": "a b"}),
    ])  # fmt: skip
    (event,) = list(open_trace(path, "openai_agents"))
    assert (event.tool, event.actor, event.status) == ("ls", "late", "ok")


def test_waiting_for_an_actor_is_bounded(tmp_path, monkeypatch):
    """Past MAX_PENDING waiting events, the oldest go out in order with no actor."""
    monkeypatch.setattr(openai_agents, "MAX_PENDING", 3)
    rows = [span(f"span_{i}", "span_never", {"type": "function", "name": "ls", "input": "{}",
                                             "output": str(i)}) for i in range(6)]  # fmt: skip
    adapter = OpenAIAgentsAdapter(str(tmp_path / "t.jsonl"))
    emitted = [e for i, row in enumerate(rows, 1) for e in adapter.feed(Record(i, row))]
    assert len(emitted) >= 3
    assert len(adapter._queue) <= 3
    assert len(adapter._waiting) <= 3
    rest = list(adapter.finish())
    assert [e.result for e in [*emitted, *rest]] == [str(i) for i in range(6)]
    assert {e.actor for e in [*emitted, *rest]} == {None}


def test_unparseable_arguments_are_kept_raw(tmp_path):
    """Function input that is no JSON object is kept as the _raw argument."""
    path = write_jsonl(tmp_path, [
        span("span_t", None, {"type": "function", "name": "apply_patch",
                              "input": "*** Begin Patch\n*** Update File: a.py\n*** End Patch",
                              "output": "done"}),
    ])  # fmt: skip
    (event,) = list(open_trace(path, "openai_agents"))
    assert event.kind == "file_edit"
    assert event.paths == ("a.py",)
    assert event.args == {"_raw": "*** Begin Patch\n*** Update File: a.py\n*** End Patch"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-21T20:05:39.913803+00:00", "2026-11-21T20:05:39.913Z"),
        ("2026-11-21T21:05:39+01:00", "2026-11-21T20:05:39.000Z"),
        ("2026-11-21T20:05:39", "2026-11-21T20:05:39.000Z"),
        ("yesterday", None),
        (None, None),
    ],
)
def test_utc_time(value, expected):
    """Span times become UTC with milliseconds and Z; what is no time stays None."""
    assert utc_time(value) == expected
