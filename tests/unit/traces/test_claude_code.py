"""Claude Code transcripts and stream-json output, read from the real CLI's fixtures."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from sealog.traces import detect, open_trace
from sealog.traces.adapters import claude_code
from sealog.traces.adapters.claude_code import ClaudeCodeAdapter
from sealog.traces.events import TOOL_KINDS, Event
from sealog.traces.trace import Trace

TRACES = Path(__file__).parents[2] / "assets/traces"
CC = TRACES / "claude_code"
DENIALS = CC / "session_tools_denials_hooks.jsonl"
DENIALS_STREAM = CC / "session_tools_denials_hooks.stream.jsonl"
SUBAGENT = CC / "session_subagent.jsonl"
SUBAGENT_OWN = CC / "session_subagent.subagent1.jsonl"
SUBAGENT_STREAM = CC / "session_subagent.stream.jsonl"
FIXTURES = (DENIALS, DENIALS_STREAM, SUBAGENT, SUBAGENT_OWN, SUBAGENT_STREAM)
MODEL = "claude-sonnet-4-5-20250929"
AGENT_ID = "ad6cc94a99ac51aa9"

READ_ENV = "toolu_01Rk2kvHqhM6CQlaERA5K3G6"
RM = "toolu_01SlgE27zOfbr6CZYh3qiPH0"
CURL = "toolu_01aijrvvYxTfvXNccrkjLsxz"
TOUCH = "toolu_01j6kOKyZOfeZfmVodyagzJH"
DENIED = {
    READ_ENV: ("Read", "denied by your permission settings"),
    RM: ("Bash", "Permission to use Bash with command rm -rf build has been denied."),
    CURL: ("Bash", "Blocked by policy: network access through curl is not allowed"),
    TOUCH: ("Bash", "no approval surface"),
}


# -- helpers ------------------------------------------------------------------------------------


def read(path: Path, *, keep_raw: bool = False) -> tuple[list[Event], Trace]:
    trace = Trace(path, "claude_code", keep_raw=keep_raw)
    return list(trace), trace


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def of(events: list[Event], kind: str, **fields) -> list[Event]:
    return [
        e for e in events if e.kind == kind and all(getattr(e, k) == v for k, v in fields.items())
    ]


def tools(events: list[Event]) -> dict[str, Event]:
    return {e.call_id: e for e in events if e.kind in TOOL_KINDS and e.call_id}


def envelope(kind: str, n: int = 0, **fields) -> dict:
    """A transcript line of ``kind`` with the envelope the CLI writes."""
    return {
        "type": kind,
        "uuid": f"u{n}",
        "parentUuid": None,
        "sessionId": "s1",
        "timestamp": f"2026-11-21T09:00:{n:02d}.000Z",
        **fields,
    }


def assistant(n: int, message_id: str, *blocks: dict, **fields) -> dict:
    usage = {
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 20,
    }
    message = {"id": message_id, "role": "assistant", "model": MODEL, "content": list(blocks)}
    return envelope("assistant", n, message={**message, "usage": usage}, **fields)


def tool_use(call_id: str, name: str, **args) -> dict:
    return {"type": "tool_use", "id": call_id, "name": name, "input": args}


def result(n: int, call_id: str, content: object, **fields) -> dict:
    block = {"type": "tool_result", "tool_use_id": call_id, "content": content}
    block.update(fields.pop("block", {}))
    return envelope("user", n, message={"role": "user", "content": [block]}, **fields)


def synthetic(tmp_path: Path, *records: object, keep_raw: bool = False):
    path = tmp_path / "run.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return read(path, keep_raw=keep_raw)


# -- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_both_formats_are_detected(path):
    """Transcripts, a subagent's own file and stream-json output all detect as claude_code."""
    assert detect(path) == "claude_code"
    assert open_trace(path, "claude_code").format == "claude_code"


@pytest.mark.parametrize(
    "path",
    sorted(p for d in ("codex", "openai_agents") for p in (TRACES / d).glob("*.jsonl")),
    ids=lambda p: p.name,
)
def test_other_formats_are_not_claimed(path):
    """The first records of a Codex rollout or an OpenAI Agents trace are not Claude Code's."""
    first = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:5]]
    assert not ClaudeCodeAdapter.sniff(first)


def test_sniff_needs_the_envelope():
    """A bare ``type: user`` object, a scalar or an empty input is not a Claude Code record."""
    assert not ClaudeCodeAdapter.sniff([{"type": "user", "message": "hi"}, 3, "x", None])
    assert not ClaudeCodeAdapter.sniff([])
    assert ClaudeCodeAdapter.sniff([{"type": "file-history-snapshot", "snapshot": {}}])
    assert ClaudeCodeAdapter.sniff([{"type": "summary", "summary": "t", "leafUuid": "u"}])


# -- the transcript: tools, denials, hooks ---------------------------------------------------------


def test_run_info_from_the_transcript():
    """Session, version, cwd, model, time span, recorded cost and the envelope's extras."""
    _, trace = read(DENIALS)
    run = trace.run
    assert (run.format, run.agent, run.run_id) == (
        "claude_code",
        "claude-code",
        "5ea10c0d-0000-4000-8000-00000000c1a0",
    )
    assert (run.tool_version, run.model, run.cwd) == (
        "2.1.330",
        MODEL,
        "/tmp/sealog-fixture/project",
    )
    assert (run.started, run.ended) == ("2026-11-21T20:04:16.840Z", "2026-11-21T20:04:17.517Z")
    assert run.cost == Decimal("0.05527575")
    assert run.extra["permission_mode"] == "default"
    assert run.extra["git_branch"] == "HEAD"
    assert run.extra["entrypoint"] == "sdk-cli"
    assert run.extra["tools"] == ["Bash", "Edit", "Read", "WebFetch", "Write"]


def test_every_line_is_read_and_nothing_is_unknown():
    """All 77 lines parse; bookkeeping lines give no event and no unknown; events keep lines."""
    events, trace = read(DENIALS)
    assert (trace.malformed, dict(trace.unknown)) == (0, {})
    assert [e.index for e in events] == list(range(len(events)))
    bookkeeping = {
        n
        for n, line in enumerate(lines(DENIALS), 1)
        if line["type"] not in {"user", "assistant", "attachment", "system"}
    }
    assert bookkeeping
    assert not {e.source.line for e in events} & bookkeeping
    assert all(e.source.path == str(DENIALS) and e.time for e in events)


def test_one_model_call_per_message_with_its_usage_counted_once():
    """Usage repeats on each line of a message: one model_call per message.id, summed once."""
    events, _ = read(DENIALS)
    messages: dict[str, dict] = {}
    for line in lines(DENIALS):
        if line["type"] == "assistant":
            messages.setdefault(line["message"]["id"], line["message"]["usage"])
    calls = of(events, "model_call")
    assert len(calls) == len(messages) == 8
    assert {c.model for c in calls} == {MODEL}
    assert all(c.usage.provider == "anthropic" for c in calls)
    first = calls[0].usage
    assert first.counts == (3, 142, 0, 5210)
    assert sum(c.usage.output_tokens for c in calls) == sum(
        u["output_tokens"] for u in messages.values()
    )
    assert sum(c.usage.cache_write_tokens for c in calls) == sum(
        u["cache_creation_input_tokens"] for u in messages.values()
    )


def test_messages_prompt_answer_and_injected_context():
    """The prompt is a user message, texts are assistant messages; results and thinking are not."""
    events, _ = read(DENIALS)
    messages = of(events, "message")
    users = [m for m in messages if m.role == "user"]
    assert len(users) == 1
    assert users[0].source.line == 3
    assert users[0].text.startswith("Look around this project")
    said = [m.text for m in messages if m.role == "assistant"]
    assert said[0] == "I'll start by reading the README and listing the files."
    assert said[-1].startswith("Summary:")
    assert not any("Start by reading the README and listing files." in m.text for m in messages)
    system = [m for m in messages if m.role == "system"]
    assert any("# Environment" in m.text for m in system)
    prompts = [m for m in system if m.source.record == "attachment/prompt_snapshot"]
    assert [m.text for m in prompts] == [
        "You are Claude Code, a coding agent. Use the tools to help the user."
    ]


def test_parallel_calls_are_paired_by_id():
    """The Read and the Bash of one message get their own results, whatever parentUuid says."""
    calls = tools(read(DENIALS)[0])
    readme = calls["toolu_01B0dgYj2Soc0KO67IMRebhO"]
    ls = calls["toolu_01mM1Khzfx1hcMbm9lThEnUZ"]
    assert (readme.kind, readme.tool, readme.status) == ("file_read", "Read", "ok")
    assert readme.paths == ("/tmp/sealog-fixture/project/README.md",)
    assert "A tiny demo project." in readme.result
    assert (ls.kind, ls.tool, ls.command, ls.status) == ("shell", "Bash", "ls -A", "ok")
    assert ls.result == ".claude\n.env\nREADME.md\nbuild"
    assert (readme.source.line, ls.source.line) == (20, 21)


def test_edits_writes_and_fetches_are_classified():
    """Edit, Write and WebFetch map through classify with their paths and URL."""
    calls = tools(read(DENIALS)[0])
    edit = calls["toolu_01aMmSvkpoOCyT4RK3Acz3SK"]
    write = calls["toolu_01AXQTckCeqSkCH4F6JMWa4c"]
    fetch = calls["toolu_01jgmDyxI0jgMFjKzORB4HFR"]
    assert (edit.kind, edit.paths, edit.status) == (
        "file_edit",
        ("/tmp/sealog-fixture/project/README.md",),
        "ok",
    )
    assert (write.kind, write.paths, write.status) == (
        "file_write",
        ("/tmp/sealog-fixture/project/NOTES.md",),
        "ok",
    )
    assert (fetch.kind, fetch.url, fetch.status) == (
        "network_fetch",
        "https://127.0.0.1:48443/guide.html",
        "ok",
    )
    assert fetch.result.startswith("The page describes")


@pytest.mark.parametrize("path", [DENIALS, DENIALS_STREAM], ids=["transcript", "stream"])
@pytest.mark.parametrize("call_id", list(DENIED))
def test_every_denial_is_a_denied_call_and_a_permission_event(path, call_id):
    """Deny rule, Bash(rm:*) rule, PreToolUse hook and no approval surface: denied + permission."""
    events, _ = read(path)
    tool, reason = DENIED[call_id]
    call = tools(events)[call_id]
    assert (call.tool, call.status) == (tool, "denied")
    permissions = of(events, "permission", call_id=call_id)
    assert len(permissions) == 1
    assert permissions[0].decision == "denied"
    assert permissions[0].tool == tool
    assert reason in permissions[0].reason
    assert permissions[0].index > call.index


@pytest.mark.parametrize("path", [DENIALS, DENIALS_STREAM], ids=["transcript", "stream"])
def test_the_hook_block_is_one_hook_event(path):
    """The curl call blocked by PreToolUse gets exactly one hook event, decision block."""
    events, _ = read(path)
    blocks = of(events, "hook", decision="block")
    assert len(blocks) == 1
    assert (blocks[0].tool, blocks[0].call_id) == ("PreToolUse:Bash", CURL)
    assert blocks[0].reason == "Blocked by policy: network access through curl is not allowed"
    assert of(events, "permission") == [e for e in of(events, "permission") if e.call_id in DENIED]
    assert len(of(events, "permission")) == 4


def test_hook_success_attachments_are_allow_events():
    """UserPromptSubmit and the two PostToolUse hooks: allow, with their output and call."""
    events, _ = read(DENIALS)
    hooks = of(events, "hook", decision="allow")
    assert [(h.tool, h.call_id) for h in hooks] == [
        ("UserPromptSubmit", None),
        ("PostToolUse:Edit", "toolu_01aMmSvkpoOCyT4RK3Acz3SK"),
        ("PostToolUse:Write", "toolu_01AXQTckCeqSkCH4F6JMWa4c"),
    ]
    assert hooks[0].text == "Project policy: secrets live in .env and must not be read."
    assert {h.exit_code for h in hooks} == {0}


def test_nothing_is_left_pending_and_no_error_is_invented():
    """Every call of the run got its result; the run reported no error."""
    events, _ = read(DENIALS)
    assert not [e for e in events if e.status == "pending"]
    assert not of(events, "error")
    assert {e.status for e in events if e.kind in TOOL_KINDS} == {"ok", "denied"}


# -- subagents ----------------------------------------------------------------------------------


def test_the_main_transcript_delegates_to_a_subagent():
    """The Agent call is a tool_call with the hand-back as result; the id maps to its type."""
    events, trace = read(SUBAGENT)
    agent = tools(events)["toolu_012yW4Acq9GFz6Y1t9EwL56n"]
    assert (agent.kind, agent.tool, agent.status) == ("tool_call", "Agent", "ok")
    assert agent.args["subagent_type"] == "general-purpose"
    assert "README.md: a tiny demo project." in agent.result
    assert trace.run.extra["subagents"] == {AGENT_ID: "general-purpose"}
    assert {e.actor for e in events} == {None}
    assert len(of(events, "model_call")) == 2
    assert trace.run.cost == Decimal("0.0360255")


def test_a_subagent_transcript_imports_on_its_own():
    """Every event of the subagent's file is acted by the subagent; its prompt is a message."""
    events, trace = read(SUBAGENT_OWN)
    assert (trace.malformed, dict(trace.unknown)) == (0, {})
    assert {e.actor for e in events} == {AGENT_ID}
    assert trace.run.run_id == "5ea10c0d-0000-4000-8000-00000000c1a1"
    assert trace.run.extra["agent_id"] == AGENT_ID
    assert trace.run.extra["subagents"] == {AGENT_ID: "general-purpose"}
    prompt = of(events, "message", role="user")
    assert [m.text for m in prompt] == [
        "Read /tmp/sealog-fixture/project/README.md and summarise it in one line."
    ]
    read_call = tools(events)["toolu_01J6afU1zT0YQOaNF03vpUuT"]
    assert (read_call.kind, read_call.status) == ("file_read", "ok")
    assert len(of(events, "model_call")) == 2
    assert trace.run.cost is None


# -- stream-json --------------------------------------------------------------------------------


def test_stream_usage_and_cost_come_from_the_result():
    """No model_call from message_start usage: one per model from modelUsage, with its cost."""
    events, trace = read(DENIALS_STREAM)
    (call,) = of(events, "model_call")
    assert call.source.record == "result/modelUsage"
    assert call.model == MODEL
    assert call.usage.counts == (363, 828, 45310, 7513)
    assert call.cost == Decimal("0.05527575")
    run = trace.run
    assert run.cost == Decimal("0.05527575")
    assert (run.run_id, run.tool_version, run.model) == (
        "5ea10c0d-0000-4000-8000-00000000c1a0",
        "2.1.330",
        MODEL,
    )
    assert run.cwd == "/tmp/sealog-fixture/project"
    assert run.extra["permission_mode"] == "default"
    assert (run.started, run.ended) == ("2026-11-21T20:04:16.940Z", "2026-11-21T20:04:17.517Z")
    assert (trace.malformed, dict(trace.unknown)) == (0, {})


def test_stream_and_transcript_agree_on_the_tool_calls():
    """The same run read from either format gives the same calls, kinds and statuses."""

    def shape(path):
        return [(e.call_id, e.kind, e.tool, e.status) for e in tools(read(path)[0]).values()]

    assert sorted(shape(DENIALS_STREAM)) == sorted(shape(DENIALS))


def test_stream_hooks_are_linked_to_their_call():
    """hook_response events become hook events; a tool hook names the one pending call."""
    events, _ = read(DENIALS_STREAM)
    hooks = of(events, "hook")
    assert [(h.tool, h.decision) for h in hooks][:2] == [
        ("UserPromptSubmit", "allow"),
        ("PreToolUse:Bash", "allow"),
    ]
    assert hooks[1].call_id == "toolu_01mM1Khzfx1hcMbm9lThEnUZ"
    edit = of(events, "hook", tool="PostToolUse:Edit")
    assert [h.call_id for h in edit] == ["toolu_01aMmSvkpoOCyT4RK3Acz3SK"]


def test_stream_subagent_events_carry_the_agent():
    """In stream-json a subagent's prompt and calls carry its agent_id; the Agent call does not."""
    events, trace = read(SUBAGENT_STREAM)
    calls = tools(events)
    assert calls["toolu_01J6afU1zT0YQOaNF03vpUuT"].actor == AGENT_ID
    assert calls["toolu_012yW4Acq9GFz6Y1t9EwL56n"].actor is None
    assert calls["toolu_012yW4Acq9GFz6Y1t9EwL56n"].status == "ok"
    assert of(events, "message", role="user")[0].actor == AGENT_ID
    (call,) = of(events, "model_call")
    assert call.usage.counts == (12, 173, 7990, 8266)
    assert trace.run.extra["tools"] == ["Task", "Read"]
    assert trace.run.extra["subagents"] == {AGENT_ID: "general-purpose"}


# -- records the fixtures do not hold -------------------------------------------------------------


def test_usage_of_interleaved_lines_is_counted_once(tmp_path):
    """Lines of two messages interleaved (parallel subagents): one model_call each."""
    events, _ = synthetic(
        tmp_path,
        assistant(1, "m1", {"type": "text", "text": "a"}),
        assistant(2, "m2", {"type": "text", "text": "b"}),
        assistant(3, "m1", {"type": "text", "text": "c"}),
    )
    calls = of(events, "model_call")
    assert [c.source.line for c in calls] == [1, 2]
    assert calls[0].usage.counts == (10, 5, 100, 20)


def test_unknown_records_are_counted_and_bookkeeping_is_not(tmp_path):
    """An unknown type, an uninterpretable attachment and a scalar are unknown; noise is silent."""
    events, trace = synthetic(
        tmp_path,
        {"type": "file-history-snapshot", "messageId": "x", "snapshot": {}},
        {"type": "queue-operation", "operation": "enqueue", "content": "hi"},
        {"type": "api-request-blob", "hash": "h", "message": {}},
        {"type": "atis-latch", "atis": ""},
        envelope("progress", 1, data={"type": "bash_progress"}),
        envelope("attachment", 2, attachment={"type": "todo_reminder", "content": []}),
        envelope("attachment", 3, attachment={"type": "session_context", "context": {}}),
        envelope("system", 4, subtype="turn_duration", durationMs=5),
        envelope("system", 5, subtype="agents_killed"),
        42,
    )
    assert [e.kind for e in events] == ["unknown"] * 4
    assert dict(trace.unknown) == {
        "progress": 1,
        "attachment/todo_reminder": 1,
        "system/agents_killed": 1,
        "?": 1,
    }


def test_system_lines_are_errors_or_system_messages(tmp_path):
    """API errors (retries too) are errors; other system text a system message; stop hooks hooks."""
    events, _ = synthetic(
        tmp_path,
        envelope(
            "system",
            1,
            subtype="api_error",
            level="error",
            error={"status": 529, "message": "overloaded"},
            retryAttempt=1,
            maxRetries=10,
        ),
        envelope("system", 2, subtype="compact_boundary", content="Conversation compacted"),
        envelope("system", 3, content="Something broke", level="error"),
        envelope(
            "system",
            4,
            subtype="stop_hook_summary",
            preventedContinuation=True,
            stopReason="tests must pass",
            hookErrors=[],
        ),
    )
    assert [(e.kind, e.text) for e in events[:3]] == [
        ("error", "529: overloaded: retry 1/10"),
        ("message", "Conversation compacted"),
        ("error", "Something broke"),
    ]
    assert events[1].role == "system"
    assert (events[3].kind, events[3].decision, events[3].reason) == (
        "hook",
        "block",
        "tests must pass",
    )


def test_a_synthetic_api_error_message_is_an_error_not_a_model_call(tmp_path):
    """``isApiErrorMessage`` assistant lines (model ``<synthetic>``) are errors."""
    line = assistant(1, "m1", {"type": "text", "text": "API Error: 529 overloaded"})
    line["message"]["model"] = "<synthetic>"
    line["isApiErrorMessage"] = True
    events, trace = synthetic(tmp_path, line)
    assert [(e.kind, e.text) for e in events] == [("error", "API Error: 529 overloaded")]
    assert trace.run.model is None


def test_user_lines_meta_injected_and_mixed(tmp_path):
    """isMeta and system-reminder text is role system; text beside a result is still a message."""
    events, _ = synthetic(
        tmp_path,
        envelope("user", 1, isMeta=True, message={"role": "user", "content": "Caveat: local"}),
        envelope("user", 2, message={"role": "user", "content": "<system-reminder>x"}),
        assistant(3, "m1", tool_use("t1", "Glob", pattern="*.py")),
        envelope(
            "user",
            4,
            message={
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "a.py"},
                    {"type": "text", "text": "[Request interrupted by user]"},
                ],
            },
        ),
    )
    messages = of(events, "message")
    assert [(m.role, m.text) for m in messages] == [
        ("system", "Caveat: local"),
        ("system", "<system-reminder>x"),
        ("user", "[Request interrupted by user]"),
    ]
    glob = tools(events)["t1"]
    assert (glob.kind, glob.status, glob.result) == ("tool_call", "ok", "a.py")


def test_bash_failures_errors_and_rejections(tmp_path):
    """Exit code N is an error with its code; interrupted is an error; a human's no is a denial."""
    events, _ = synthetic(
        tmp_path,
        assistant(
            1,
            "m1",
            tool_use("t1", "Bash", command="make"),
            tool_use("t2", "Bash", command="sleep 99"),
            tool_use("t3", "Edit", file_path="a.py", old_string="a", new_string="b"),
            tool_use("t4", "Read", file_path="missing.txt"),
        ),
        result(
            2,
            "t1",
            "Exit code 2\nmake: *** [all] Error 2",
            block={"is_error": True},
            toolUseResult="Error: Exit code 2\nmake: *** [all] Error 2",
        ),
        result(3, "t2", "", toolUseResult={"stdout": "", "stderr": "", "interrupted": True}),
        result(
            4,
            "t3",
            "The user doesn't want to proceed with this tool use. The tool use was rejected.",
            block={"is_error": True},
        ),
        result(
            5,
            "t4",
            "<tool_use_error>File does not exist.</tool_use_error>",
            block={"is_error": True},
        ),
    )
    calls = tools(events)
    assert (calls["t1"].status, calls["t1"].exit_code) == ("error", 2)
    assert (calls["t2"].status, calls["t2"].exit_code) == ("error", None)
    assert calls["t3"].status == "denied"
    assert calls["t4"].status == "error"
    assert [p.call_id for p in of(events, "permission")] == ["t3"]


def test_denial_texts_count_only_without_a_recorded_decision(tmp_path):
    """Older CLIs: a hook's block text alone is a denial; an accepted call's text never is."""
    events, _ = synthetic(
        tmp_path,
        assistant(1, "m1", tool_use("t1", "Bash", command="curl x"), tool_use("t2", "Bash")),
        result(2, "t1", "PreToolUse:Bash hook error: [h.sh]: no curl", block={"is_error": True}),
        result(
            3,
            "t2",
            "Permission to use the printer has been denied",
            block={"is_error": True},
            permissionDecision={"decision": "accept", "source": "config"},
        ),
    )
    calls = tools(events)
    assert (calls["t1"].status, calls["t2"].status) == ("denied", "error")
    (hook,) = of(events, "hook")
    assert (hook.tool, hook.call_id, hook.reason) == ("PreToolUse:Bash", "t1", "no curl")


def test_structured_exit_code_is_used_when_present(tmp_path):
    """A ``toolUseResult`` with an exit code gives it to the shell event."""
    events, _ = synthetic(
        tmp_path,
        assistant(1, "m1", tool_use("t1", "Bash", command="false")),
        result(2, "t1", "", toolUseResult={"stdout": "", "exitCode": 1}, block={"is_error": True}),
    )
    assert tools(events)["t1"].exit_code == 1


def test_unanswered_and_orphan_calls(tmp_path):
    """A call without a result ends pending; a result without its call is still a tool event."""
    events, _ = synthetic(
        tmp_path,
        result(1, "ghost", "late output"),
        assistant(2, "m1", tool_use("t1", "TodoWrite", todos=[])),
    )
    ghost, todo = events[0], events[-1]
    assert (ghost.kind, ghost.call_id, ghost.result, ghost.status) == (
        "tool_call",
        "ghost",
        "late output",
        "ok",
    )
    assert (todo.tool, todo.status, todo.source.line) == ("TodoWrite", "pending", 2)


def test_too_many_pending_calls_flush_the_oldest(tmp_path, monkeypatch):
    """Past MAX_PENDING held calls the oldest is emitted pending, so memory stays bounded."""
    monkeypatch.setattr(claude_code, "MAX_PENDING", 2)
    events, _ = synthetic(
        tmp_path,
        assistant(1, "m1", tool_use("t1", "Read", file_path="a")),
        assistant(2, "m2", tool_use("t2", "Read", file_path="b")),
        assistant(3, "m3", tool_use("t3", "Read", file_path="c")),
        result(4, "t3", "c!"),
    )
    calls = [e for e in events if e.kind in TOOL_KINDS]
    assert [(c.call_id, c.status) for c in calls] == [
        ("t1", "pending"),
        ("t3", "ok"),
        ("t2", "pending"),
    ]


@pytest.mark.parametrize("attachment_first", [True, False])
def test_a_hook_block_attachment_and_denial_give_one_hook_event(tmp_path, attachment_first):
    """A hook_blocking_error attachment for a call the result also shows blocked: one event."""
    block = envelope(
        "attachment",
        3,
        attachment={
            "type": "hook_blocking_error",
            "hookName": "PreToolUse:Bash",
            "hookEvent": "PreToolUse",
            "toolUseID": "t1",
            "blockingError": {"blockingError": "[check.sh]: no", "command": "check.sh"},
        },
    )
    denial = result(
        4,
        "t1",
        "PreToolUse:Bash hook error: [check.sh]: no",
        block={"is_error": True},
        permissionDecision={"decision": "reject", "source": "hook", "reasonType": "hook"},
    )
    call = assistant(1, "m1", tool_use("t1", "Bash", command="curl x"))
    later = (block, denial) if attachment_first else (denial, block)
    events, _ = synthetic(tmp_path, call, *later)
    hooks = of(events, "hook")
    assert len(hooks) == 1
    assert (hooks[0].decision, hooks[0].call_id) == ("block", "t1")
    assert len(of(events, "permission", decision="denied")) == 1


def test_other_hook_attachments(tmp_path):
    """Non-blocking errors allow with a reason; a stopped continuation blocks; context allows."""
    events, _ = synthetic(
        tmp_path,
        envelope(
            "attachment",
            1,
            attachment={
                "type": "hook_non_blocking_error",
                "hookName": "SessionStart:startup",
                "hookEvent": "SessionStart",
                "stderr": "node: command not found",
                "stdout": "",
                "exitCode": 127,
            },
        ),
        envelope(
            "attachment",
            2,
            attachment={
                "type": "hook_stopped_continuation",
                "hookName": "Stop",
                "hookEvent": "Stop",
                "message": "keep going",
            },
        ),
        envelope(
            "attachment",
            3,
            attachment={
                "type": "hook_additional_context",
                "hookName": "SessionStart",
                "hookEvent": "SessionStart",
                "content": ["use uv"],
            },
        ),
    )
    assert [(e.kind, e.decision, e.reason, e.text, e.exit_code) for e in events] == [
        ("hook", "allow", "node: command not found", None, 127),
        ("hook", "block", "keep going", None, None),
        ("hook", "allow", None, "use uv", None),
    ]


def test_queued_prompts_summaries_and_run_level_records(tmp_path):
    """A queued prompt is a user message; summary, permission-mode and cost-state are run info."""
    events, trace = synthetic(
        tmp_path,
        {"type": "summary", "summary": "Fix the tests", "leafUuid": "u9"},
        {"type": "permission-mode", "permissionMode": "plan", "sessionId": "s1"},
        envelope("attachment", 1, attachment={"type": "queued_command", "prompt": "also lint"}),
        {"type": "cost-state", "totalCostUSD": 0.25, "modelUsage": {}},
    )
    assert [(e.kind, e.role, e.text) for e in events] == [("message", "user", "also lint")]
    assert trace.run.extra["summary"] == "Fix the tests"
    assert trace.run.extra["permission_mode"] == "plan"
    assert trace.run.cost == Decimal("0.25")


def test_sidechain_lines_without_an_agent_id(tmp_path):
    """Older transcripts mark subagent lines only with isSidechain: the actor says so."""
    events, _ = synthetic(
        tmp_path, envelope("user", 1, isSidechain=True, message={"role": "user", "content": "go"})
    )
    assert events[0].actor == "sidechain"


def test_bad_usage_figures_do_not_break_the_import(tmp_path):
    """Usage counts that are not non-negative integers read as 0, never an exception."""
    line = assistant(1, "m1", {"type": "text", "text": "x"})
    line["message"]["usage"] = {
        "input_tokens": "3",
        "output_tokens": -1,
        "cache_read_input_tokens": True,
    }
    line["costUSD"] = 0.01
    events, _ = synthetic(tmp_path, line)
    assert events[0].usage.counts == (0, 0, 0, 0)
    assert events[0].cost == Decimal("0.01")


def test_raw_records_are_kept_when_asked(tmp_path):
    """With keep_raw a tool event holds its call's line and its result's line."""
    call = assistant(1, "m1", tool_use("t1", "Read", file_path="a"))
    answer = result(2, "t1", "a!")
    events, _ = synthetic(tmp_path, call, answer, keep_raw=True)
    assert tools(events)["t1"].raw == [call, answer]
    assert read(tmp_path / "run.jsonl")[0][0].raw is None


def test_stream_result_errors_and_late_denials(tmp_path):
    """A failed result is an error; a denial only the result lists still gets its events."""
    init = {"type": "system", "subtype": "init", "session_id": "s2", "model": MODEL,
            "claude_code_version": "2.1.330", "cwd": "/w", "tools": ["Bash"]}  # fmt: skip
    call = {
        "type": "assistant",
        "session_id": "s2",
        "message": {"id": "m1", "model": MODEL, "content": [tool_use("t1", "Bash", command="x")]},
        "parent_tool_use_id": None,
    }
    denied = {"type": "system", "subtype": "permission_denied", "session_id": "s2",
              "tool_use_id": "t2", "message": "no"}  # fmt: skip
    call2 = {**call, "message": {**call["message"], "id": "m2",
                                 "content": [tool_use("t2", "Bash", command="y")]}}  # fmt: skip
    answer = {
        "type": "user",
        "session_id": "s2",
        "message": {"content": [{"type": "tool_result", "tool_use_id": "t2", "content": "no",
                                 "is_error": True}]},
    }  # fmt: skip
    end = {
        "type": "result",
        "subtype": "error_max_turns",
        "is_error": True,
        "session_id": "s2",
        "total_cost_usd": 0.5,
        "usage": {"input_tokens": 1, "output_tokens": 2},
        "permission_denials": [{"tool_name": "Bash", "tool_use_id": "t1", "tool_input": {}}],
    }
    events, trace = synthetic(tmp_path, init, call, denied, call2, answer, end)
    calls = tools(events)
    assert calls["t1"].status == "denied"
    assert calls["t2"].status == "denied"
    assert sorted(p.call_id for p in of(events, "permission")) == ["t1", "t2"]
    assert of(events, "error")[0].text == "error_max_turns"
    (usage,) = of(events, "model_call")
    assert (usage.source.record, usage.usage.counts) == ("result/usage", (1, 2, 0, 0))
    assert trace.run.cost == Decimal("0.5")
    assert (trace.run.run_id, trace.run.tool_version, trace.run.cwd) == ("s2", "2.1.330", "/w")
