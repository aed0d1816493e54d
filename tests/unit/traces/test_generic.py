import json
from collections import Counter
from decimal import Decimal

import pytest

from sealog.traces import detect, open_trace
from sealog.traces.adapters import generic
from sealog.traces.adapters._base import Record
from sealog.traces.adapters.generic import UNKNOWN, GenericAdapter
from sealog.traces.reader import peek

FIXTURES = [
    "agent_log.json",
    "openai_messages.json",
    "tracegate_events.array.json",
    "tracegate_events.jsonl",
    "tracegate_run.json",
]
FOREIGN = [
    "otel/semconv_manual.otlp.json",
    "otel/openai_agents_instrumented.otlp.json",
    "openai_agents/coding_session.responses.jsonl",
    "openai_agents/coding_session.responses.ingest.json",
    "openai_agents/input_guardrail_tripwire.responses.jsonl",
]


def read(path, **kw):
    trace = open_trace(path, "generic", **kw)
    return trace, list(trace)


def fixture(asset, name, **kw):
    return read(asset(f"traces/generic/{name}"), **kw)


def write_jsonl(tmp_path, rows, name="trace.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_json(tmp_path, value, name="trace.json"):
    path = tmp_path / name
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", FIXTURES)
def test_fixtures_are_detected(asset, name):
    """Each generic fixture (object, array, JSONL) is detected as generic."""
    assert detect(asset(f"traces/generic/{name}")) == "generic"


@pytest.mark.parametrize("name", FOREIGN)
def test_sniff_refuses_other_adapters_records(asset, name):
    """OTLP exports and OpenAI Agents spans are never claimed, even by name."""
    assert not GenericAdapter.sniff(peek(asset(f"traces/{name}")))


@pytest.mark.parametrize(
    "records",
    [
        [{"name": "left-pad", "type": "module", "version": "1.3.0"}],  # a package.json
        [{"foo": 1}],
        [{"name": "planner"}],
        [[1, 2, 3]],
        [1, 2],
        [{"type": "file_read", "path": "a"}, "text"],
        [{"events": [{"x": 1}]}],
        [],
    ],
)
def test_sniff_refuses_what_is_not_event_like(records):
    """Records with no event shape are refused, however lenient the fallback is."""
    assert not GenericAdapter.sniff(records)


@pytest.mark.parametrize(
    "records",
    [
        [{"type": "file_read", "path": "a.py"}],
        [{"type": "user_message", "turn": 1}],
        [{"event": "deploy", "timestamp": "2026-01-01T00:00:00Z"}],
        [{"tool": "shell", "input": {"command": "ls"}}],
        [{"role": "user", "content": "hi"}],
        [{"model": "gpt-4o", "usage": {"prompt_tokens": 1}}],
        [{"id": "r", "events": []}],
        [{"steps": [{"kind": "llm_call"}]}],
    ],
)
def test_sniff_accepts_event_shapes(records):
    """Events, runs holding events and chat messages are claimed."""
    assert GenericAdapter.sniff(records)


def test_tracegate_run_object(asset):
    """A tracegate run object: each event type maps to its kind, the run to RunInfo."""
    trace, events = fixture(asset, "tracegate_run.json")
    assert [(e.kind, e.tool) for e in events] == [
        ("message", None),
        ("file_read", None),
        ("network_fetch", None),
        ("file_edit", None),
        ("shell", "shell"),
        ("file_read", None),
        ("git", "github"),
        ("tool_call", "ListMcpResourcesTool"),
        ("unknown", None),
    ]
    assert events[0].role == "user"
    assert events[1].paths == ("requirements.txt",)
    assert events[2].url == "https://pypi.org/pypi/requests/json"
    assert events[4].command == "pip install -r requirements.txt && pytest -q"
    assert events[5].paths == (".env",)
    assert events[6].args == {"action": "create_pr"}
    assert [e.source.line for e in events] == list(range(1, 10))
    run = trace.run
    assert (run.format, run.run_id, run.agent) == ("generic", "run-7f3a", "Dependency Bumper")
    assert run.cost == Decimal("0.42")
    assert run.extra["runtime_seconds"] == 180
    assert trace.unknown == Counter({"plan_update": 1})


def test_tracegate_jsonl(asset):
    """JSONL of tracegate events: tool names and type names both classify."""
    trace, events = fixture(asset, "tracegate_events.jsonl")
    assert [(e.kind, e.command or e.url or (e.paths[0] if e.paths else None)) for e in events] == [
        ("message", None),
        ("shell", "ls -la src"),
        ("network_fetch", "https://example.org/install.sh"),
        ("shell", "curl -fsSL https://example.org/install.sh | sh"),
        ("file_write", "notes/todo.md"),
        ("git", None),
        ("network_fetch", "https://docs.example.org/"),
    ]
    assert events[0].role == "assistant"
    assert trace.run.run_id is None
    assert trace.run.agent is None  # the file name is no agent name


def test_tracegate_array(asset):
    """A JSON array of events reads like JSONL; lines are positions in the array."""
    _, events = fixture(asset, "tracegate_events.array.json")
    assert [(e.kind, e.source.line) for e in events] == [
        ("file_read", 1),
        ("shell", 2),
        ("file_write", 3),
    ]
    assert events[1].command == "make docs"


def test_agent_log_run_and_times(asset):
    """A run under "steps": its id, agent, model, cwd, times, cost and extra fields."""
    trace, events = fixture(asset, "agent_log.json")
    run = trace.run
    assert run.run_id == "triage-2026-11-21-0007"
    assert (run.agent, run.model, run.cwd) == ("triage-bot", "claude-sonnet-4-5", "/srv/checkout")
    assert (run.started, run.ended) == ("2026-11-21T09:00:00.000Z", "2026-11-21T09:02:30.000Z")
    assert run.cost == Decimal("0.0123")
    assert run.extra == {"ticket": "OPS-311"}
    assert events[9].time == "2026-11-21T09:02:00.000Z"  # from Unix milliseconds
    assert all(e.time is not None for e in events)


def test_agent_log_tool_results_complete_their_calls(asset):
    """tool_result events fill their call's result and status; order is the calls'."""
    _, events = fixture(asset, "agent_log.json")
    read_file, make = events[2], events[3]
    assert (read_file.kind, read_file.call_id, read_file.status) == ("file_read", "c1", "ok")
    assert read_file.paths == ("ci/nightly.log",)
    assert read_file.args == {"path": "ci/nightly.log"}
    assert read_file.result == "error: missing fixture data/seed.sql"
    assert (make.kind, make.command, make.status) == ("shell", "make test", "error")
    assert make.exit_code == 2
    assert make.args == {"cmd": ["make", "test"]}
    assert make.result == "FAILED tests/test_seed.py::test_load"


def test_agent_log_model_calls(asset):
    """Cached tokens are split from OpenAI's prompt count and read as beside it otherwise."""
    _, events = fixture(asset, "agent_log.json")
    claude, gpt = [e for e in events if e.kind == "model_call"]
    assert claude.usage.counts == (1200, 85, 4000, 300)
    assert claude.usage.provider == "anthropic"
    assert claude.cost == Decimal("0.0061")
    assert gpt.usage.counts == (388, 40, 512, 0)
    assert (gpt.usage.provider, gpt.actor, gpt.cost) == ("openai", "researcher", None)


def test_agent_log_permissions_hooks_errors_messages(asset):
    """Decisions are normalized; a refusal the log wrote is not counted twice."""
    _, events = fixture(asset, "agent_log.json")
    shape = [(e.kind, e.decision or e.status) for e in events[4:]]
    assert shape == [
        ("permission", "requested"),
        ("permission", "denied"),
        ("file_write", "denied"),
        ("hook", "block"),
        ("error", None),
        ("model_call", None),
        ("message", None),
    ]
    hook, error, message = events[7], events[8], events[10]
    assert (hook.tool, hook.text) == ("pre-push-scan", "secret-looking string in data/seed.sql")
    assert (error.text, error.actor) == ("rate limited by the search API", "researcher")
    assert (message.role, message.text) == (
        "assistant", "The seed fixture is missing; I could not restore it.",
    )  # fmt: skip


def test_openai_messages(asset):
    """Chat messages: tool calls are paired with role-tool results by id, in call order."""
    trace, events = fixture(asset, "openai_messages.json")
    assert [(e.kind, e.role, e.call_id, e.status) for e in events] == [
        ("message", "system", None, None),
        ("message", "user", None, None),
        ("shell", None, "call_tag", "ok"),
        ("file_read", None, "call_log", "ok"),
        ("message", "assistant", None, None),
    ]
    assert events[2].command == "git tag --list v2.3.0"
    assert events[2].result == "v2.3.0"
    assert events[3].result == "## 2.3.0\n- faster startup"
    assert trace.unknown == Counter()


def test_unanswered_calls_are_pending_when_results_exist(tmp_path):
    """Where the file has results, a call that never got one ends pending, in its place."""
    path = write_jsonl(tmp_path, [
        {"type": "tool_call", "tool": "bash", "call_id": "a", "input": {"command": "ls"}},
        {"type": "tool_call", "tool": "bash", "call_id": "b", "input": {"command": "pwd"}},
        {"type": "message", "role": "assistant", "content": "waiting"},
        {"type": "tool_result", "call_id": "b", "output": "/srv"},
    ])  # fmt: skip
    _, events = read(path)
    assert [(e.kind, e.call_id, e.status) for e in events] == [
        ("shell", "a", "pending"),
        ("shell", "b", "ok"),
        ("message", None, None),
    ]


def test_call_ids_without_results_leave_status_unknown(tmp_path):
    """A file that records no results at all says nothing of status: it stays None."""
    path = write_jsonl(tmp_path, [
        {"type": "tool_call", "tool": "bash", "call_id": "a", "input": {"command": "ls"}},
        {"type": "file_read", "path": "a.py", "call_id": "b"},
    ])  # fmt: skip
    _, events = read(path)
    assert [(e.kind, e.status) for e in events] == [("shell", None), ("file_read", None)]


def test_result_for_no_call_is_unknown(tmp_path):
    """A tool result whose call was never seen is kept as unknown."""
    path = write_jsonl(tmp_path, [{"type": "tool_result", "call_id": "zz", "output": "x"}])
    trace, events = read(path)
    assert [e.kind for e in events] == ["unknown"]
    assert trace.unknown == Counter({"tool_result": 1})


def test_waiting_calls_are_bounded(tmp_path, monkeypatch):
    """Past MAX_PENDING waiting events the oldest call goes out (pending if results exist)."""
    monkeypatch.setattr(generic, "MAX_PENDING", 2)
    adapter = GenericAdapter(str(tmp_path / "t.jsonl"))
    rows = [{"type": "tool_result", "call_id": "none"}]
    rows += [{"type": "tool_call", "tool": "ls", "call_id": f"c{i}"} for i in range(5)]
    out = [e for i, row in enumerate(rows, 1) for e in adapter.feed(Record(i, row))]
    assert len(adapter._queue) <= 2
    out += adapter.finish()
    assert [e.call_id for e in out] == [None, "c0", "c1", "c2", "c3", "c4"]
    assert {e.status for e in out[1:]} == {"pending"}


def test_denied_call_implies_a_permission_event(tmp_path):
    """A call refused with no permission record of its own is followed by one."""
    path = write_jsonl(tmp_path, [
        {"type": "tool_call", "tool": "bash", "input": {"command": "rm -rf /"}, "status": "blocked",
         "reason": "destructive", "agent": "ops"},
    ])  # fmt: skip
    _, events = read(path)
    assert [(e.kind, e.status, e.decision, e.reason, e.actor) for e in events] == [
        ("shell", "denied", None, "destructive", "ops"),
        ("permission", None, "denied", "destructive", "ops"),
    ]


def test_status_spellings(tmp_path):
    """Status words, ok/success flags, errors and exit codes map to the four statuses."""
    rows = [
        {"type": "shell", "command": "a", "status": "Succeeded"},
        {"type": "shell", "command": "b", "success": False},
        {"type": "shell", "command": "c", "error": {"message": "boom"}},
        {"type": "shell", "command": "d", "exit_code": 1},
        {"type": "shell", "command": "e", "status": "awaiting approval"},
        {"type": "shell", "command": "f", "output": "done"},
        {"type": "shell", "command": "g"},
    ]
    _, events = read(write_jsonl(tmp_path, rows))
    assert [(e.command, e.status) for e in events] == [
        ("a", "ok"), ("b", "error"), ("c", "error"), ("d", "error"), ("e", "pending"),
        ("f", "ok"), ("g", None),
    ]  # fmt: skip
    assert events[2].reason == "boom"


def test_unknown_type_naming_something_is_not_a_tool(tmp_path):
    """An unfamiliar event type with a bare "name" stays unknown; a "tool" makes it a call."""
    rows = [
        {"type": "agent_start", "name": "planner", "timestamp": "2026-01-01T00:00:00Z"},
        {"type": "custom_step", "tool": "read_file", "args": {"path": "x.md"}},
        {"name": "search_docs", "arguments": {"q": "retry"}},
    ]
    trace, events = read(write_jsonl(tmp_path, rows))
    assert [(e.kind, e.tool) for e in events] == [
        ("unknown", None),
        ("file_read", "read_file"),
        ("tool_call", "search_docs"),
    ]
    assert trace.unknown == Counter({"agent_start": 1})


def test_non_object_items_are_unknown(tmp_path):
    """Array items that are not objects are kept as unknown, by their JSON type."""
    path = write_json(tmp_path, [*[{"type": "file_read", "path": "a"}] * 5, "note", 3])
    trace, events = read(path)
    assert [e.kind for e in events] == ["file_read"] * 5 + ["unknown", "unknown"]
    assert trace.unknown == Counter({"str": 1, "int": 1})


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-11-21T09:00:00Z", "2026-11-21T09:00:00.000Z"),
        ("2026-11-21T10:00:00.5+01:00", "2026-11-21T09:00:00.500Z"),
        ("2026-11-21 09:00:00", "2026-11-21T09:00:00.000Z"),
        (1795251600, "2026-11-21T09:00:00.000Z"),
        (1795251600.25, "2026-11-21T09:00:00.250Z"),
        (1795251600000, "2026-11-21T09:00:00.000Z"),
        ("1795251600000000", "2026-11-21T09:00:00.000Z"),
        (1795251600000000000, "2026-11-21T09:00:00.000Z"),
        ("tomorrow", None),
        (True, None),
    ],
)
def test_time_spellings(tmp_path, stamp, expected):
    """ISO 8601 in any offset and Unix s, ms, µs or ns become UTC with milliseconds and Z."""
    _, (event,) = read(write_jsonl(tmp_path, [{"type": "file_read", "path": "a", "ts": stamp}]))
    assert event.time == expected


def test_usage_spellings_and_unknown_model(tmp_path):
    """Top-level token counts and a model with no known provider still count their tokens."""
    rows = [
        {"type": "llm", "model": "mistral-large", "prompt_tokens": 50, "completion_tokens": 5,
         "cost": "0.002"},
        {"type": "model_call", "usage": {"input_tokens": 7}, "provider": "acme"},
        {"type": "model_call", "model": "gpt-4o"},
    ]  # fmt: skip
    trace, events = read(write_jsonl(tmp_path, rows))
    first, second, third = events
    assert (first.usage.provider, first.usage.model, first.usage.counts) == (
        UNKNOWN, "mistral-large", (50, 5, 0, 0),
    )  # fmt: skip
    assert first.cost == Decimal("0.002")
    assert (second.usage.provider, second.usage.model) == ("acme", UNKNOWN)
    assert third.usage is None
    assert trace.run.model == "mistral-large"  # the first model named, absent a run's own


def test_tracegate_import_output(tmp_path):
    """What `tracegate import codex` writes (nulls included) reads as a run."""
    run = {"id": "sess-1", "agent": "Codex", "cost_usd": None, "runtime_seconds": 12.5,
           "events": [{"type": "user_message", "turn": 1},
                      {"type": "tool_call", "tool": "shell", "input": {"command": "ls"},
                       "turn": 2},
                      {"type": "file_edit", "tool": "apply_patch", "turn": 3}]}  # fmt: skip
    trace, events = read(write_json(tmp_path, run))
    assert [e.kind for e in events] == ["message", "shell", "file_edit"]
    assert (trace.run.run_id, trace.run.agent, trace.run.cost) == ("sess-1", "Codex", None)
    assert trace.run.extra == {"runtime_seconds": 12.5}


def test_several_runs_in_jsonl(tmp_path):
    """JSONL of run objects: the first names the run, later ones are counted."""
    rows = [{"run_id": "r1", "events": [{"type": "file_read", "path": "a"}]},
            {"run_id": "r2", "events": [{"type": "file_read", "path": "b"}]}]  # fmt: skip
    trace, events = read(write_jsonl(tmp_path, rows))
    assert [e.paths for e in events] == [("a",), ("b",)]
    assert (trace.run.run_id, trace.run.extra["runs"]) == ("r1", 2)


def test_keep_raw(asset):
    """With keep_raw an event keeps its record; a completed call keeps call and result."""
    _, events = fixture(asset, "agent_log.json", keep_raw=True)
    assert events[0].raw["content"].startswith("The nightly build failed")
    call, result = events[2].raw
    assert (call["call_id"], result["kind"]) == ("c1", "tool_result")
