"""The Codex rollout adapter, on the real 0.169.0 fixtures and on synthetic older records.

Tests named ``test_fixture_*`` read tests/assets/traces/codex (written by Codex CLI 0.169.0).
Tests named ``test_synthetic_*`` read small records written here by hand, in the shapes older
Codex versions wrote (``shell`` with an argv, JSON outputs, ``user_message`` events, token
counts without ``token_usage_record``): only 0.169.0 fixtures exist.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from sealog.traces import open_trace
from sealog.traces.adapters._base import Record
from sealog.traces.adapters.codex import CodexAdapter

CODEX = Path(__file__).parents[2] / "assets" / "traces" / "codex"
ROLLOUTS = [
    "workspace_write",
    "read_only",
    "approve_for_me",
    "approve_for_me.guardian_review",
    "auto_compact",
]
WS = "/tmp/sealog-codex-fixtures/workspace_write/workspace"


# --- helpers -------------------------------------------------------------------------------------


def lines_of(name):
    with (CODEX / f"{name}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def fold(values, *, keep_raw=False, path="rollout.jsonl"):
    """Feed parsed lines to a fresh adapter; the events numbered as the reader numbers them."""
    adapter = CodexAdapter(path, keep_raw=keep_raw)
    events = []
    for number, value in enumerate(values, 1):
        events.extend(adapter.feed(Record(number, value)))
    events.extend(adapter.finish())
    for index, event in enumerate(events):
        event.index = index
    return events, adapter.run


def fixture(name, **kw):
    return fold(lines_of(name), path=str(CODEX / f"{name}.jsonl"), **kw)


def kinds(events, kind):
    return [e for e in events if e.kind == kind]


def totals(events):
    """Summed usage in Codex's terms: input with the cached tokens in it, cached, output."""
    calls = kinds(events, "model_call")
    return (
        sum(
            e.usage.input_tokens + e.usage.cache_read_tokens + e.usage.cache_write_tokens
            for e in calls
        ),
        sum(e.usage.cache_read_tokens for e in calls),
        sum(e.usage.output_tokens for e in calls),
    )


def last_total(values):
    info = [v["payload"]["info"] for v in values if v["payload"].get("type") == "token_count"]
    t = info[-1]["total_token_usage"]
    return t["input_tokens"], t["cached_input_tokens"], t["output_tokens"]


T0 = "2025-09-01T10:00:00.000Z"


def line(kind, payload, ts=T0):
    return {"timestamp": ts, "type": kind, "payload": payload}


def meta(**kw):
    payload = {
        "id": "sess-1",
        "timestamp": T0,
        "cwd": "/w",
        "originator": "codex_cli_rs",
        "cli_version": "0.46.0",
        "source": "cli",
        "model_provider": "openai",
        **kw,
    }
    return line("session_meta", payload)


def ctx(sandbox="workspace-write", approval="on-request", model="gpt-5-codex", ts=T0):
    policy = (
        {"mode": sandbox, "network_access": False}
        if sandbox != "read-only"
        else {"mode": "read-only"}
    )
    payload = {
        "cwd": "/w",
        "approval_policy": approval,
        "sandbox_policy": policy,
        "model": model,
        "effort": "medium",
        "summary": "auto",
    }
    return line("turn_context", payload, ts)


def item(payload, ts=T0):
    return line("response_item", payload, ts)


def call(name, args, call_id, ts=T0):
    return item(
        {"type": "function_call", "name": name, "arguments": json.dumps(args), "call_id": call_id},
        ts,
    )


def output(call_id, text, ts=T0):
    return item({"type": "function_call_output", "call_id": call_id, "output": text}, ts)


def json_output(text, code):
    """The pre-0.169 ``function_call_output.output``: a JSON string with the exit code."""
    return json.dumps({"output": text, "metadata": {"exit_code": code, "duration_seconds": 0.1}})


def said(role, text):
    kind = "input_text" if role == "user" else "output_text"
    return item({"type": "message", "role": role, "content": [{"type": kind, "text": text}]})


def event(subtype, **payload):
    return line("event_msg", {"type": subtype, **payload})


def usage(inp, cached, out, reasoning=0):
    return {
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning,
        "total_tokens": inp + out,
    }


def token_count(total, last):
    info = {"total_token_usage": total, "last_token_usage": last, "model_context_window": 272000}
    return event("token_count", info=info, rate_limits=None)


def shells(events):
    return [(e.command, e.status, e.exit_code) for e in kinds(events, "shell")]


def permissions(events):
    return [(e.call_id, e.decision, e.reason) for e in kinds(events, "permission")]


# --- the 0.169.0 fixtures ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ROLLOUTS)
def test_fixture_is_sniffed_as_codex(name):
    """Every rollout's first lines are recognized as Codex."""
    assert CodexAdapter.sniff(lines_of(name)[:5])


@pytest.mark.parametrize("name", ["workspace_write", "read_only", "auto_compact"])
def test_fixture_exec_json_stream_is_not_a_rollout(name):
    """The ``codex exec --json`` event stream is not taken for a rollout."""
    assert not CodexAdapter.sniff(lines_of(f"{name}.exec-json")[:5])


@pytest.mark.parametrize("name", ROLLOUTS)
def test_fixture_every_line_is_understood(name):
    """No 0.169.0 line type (world_state, token_usage_record, compacted …) is left unknown."""
    events, _ = fixture(name)
    assert kinds(events, "unknown") == []
    assert all(e.source and e.source.path.endswith(f"{name}.jsonl") for e in events)


def test_fixture_run_info():
    """The run: session id, CLI version, cwd, first and last timestamps, model and policies."""
    values = lines_of("workspace_write")
    _, run = fold(values)
    assert run.format == "codex"
    assert run.run_id == "01a1ffb5-de05-7ce1-9718-e4f45b630541"
    assert run.agent == "codex"
    assert run.tool_version == "0.169.0"
    assert run.cwd == WS
    assert run.started == values[0]["payload"]["timestamp"] == "2026-11-21T20:04:31.369Z"
    assert run.ended == values[-1]["timestamp"] == "2026-11-21T20:04:32.716Z"
    assert run.model == "gpt-5.5"
    assert (run.sandbox, run.approval) == ("workspace-write", "never")
    assert run.extra["approvals_reviewer"] == "user"
    assert run.extra["model_provider"] == "fake"
    assert not {"sandbox_changes", "approval_changes", "model_changes"} & run.extra.keys()


def test_fixture_exec_commands_are_shell_events():
    """Each exec_command is a shell event with its command, exit code and status, in order."""
    events, _ = fixture("workspace_write")
    check = 'python3 -c \'import hello; assert hello.greet("x") == "Hello, x", hello.greet("x")\''
    assert shells(events) == [
        ("ls -la", "ok", 0),
        ("cat notes.txt", "ok", 0),  # two calls in one response
        ("cat hello.py", "ok", 0),
        (check, "error", 1),
        (check + " && echo PASS", "ok", 0),
        ("python3 hello.py > /var/tmp/sealog-codex-fixture-greeting.txt", "denied", None),
        ("python3 hello.py | tr a-z A-Z", "ok", 0),  # the resumed second turn
    ]
    first = kinds(events, "shell")[0]
    assert (first.tool, first.call_id, first.time) == (
        "exec_command",
        "call_ls",
        "2026-11-21T20:04:31.478Z",
    )
    assert first.args == {"cmd": "ls -la", "workdir": WS}
    assert first.result.startswith("total 20\n")  # the output, without the exec header
    failing = kinds(events, "shell")[3]
    assert "AssertionError: Helo, x" in failing.result


def test_fixture_apply_patch_is_a_file_edit():
    """The freeform apply_patch call is a file_edit of the file its FileChange names."""
    events, _ = fixture("workspace_write")
    [edit] = kinds(events, "file_edit")
    assert (edit.tool, edit.call_id, edit.status) == ("apply_patch", "call_patch", "ok")
    assert edit.paths == (f"{WS}/hello.py",)
    assert edit.args["input"].startswith("*** Begin Patch\n*** Update File: hello.py")
    assert edit.result.startswith("Success. Updated the following files:")


def test_fixture_escalation_rejected_under_never():
    """``require_escalated`` is a permission request; approval ``never`` rejects it: denied."""
    events, _ = fixture("workspace_write")
    never = "approval policy is Never; reject command — you cannot ask for escalated permissions if the approval policy is Never"  # noqa: E501
    assert permissions(events) == [
        ("call_escalate", "requested", "Write the greeting outside the workspace to /var/tmp?"),
        ("call_escalate", "denied", never),
    ]
    request, denial = kinds(events, "permission")
    [shell] = [e for e in kinds(events, "shell") if e.call_id == "call_escalate"]
    assert request.index < shell.index < denial.index
    assert shell.status == "denied"


def test_fixture_web_search_is_one_network_fetch():
    """The search (a WebSearch item and a web_search_call) is one fetch whose url is the query."""
    events, _ = fixture("workspace_write")
    [fetch] = kinds(events, "network_fetch")
    assert (fetch.url, fetch.tool, fetch.status) == (
        "python string concatenation greeting",
        "web_search",
        "ok",
    )
    assert fetch.call_id == "ws_000000000000000000000006"


def test_fixture_messages_are_counted_once():
    """Each user and assistant text counts once; the harness context is system, skills developer."""
    events, _ = fixture("workspace_write")
    by_role = Counter(e.role for e in kinds(events, "message"))
    assert by_role == {"developer": 1, "system": 1, "user": 2, "assistant": 4}
    users = [e.text for e in kinds(events, "message") if e.role == "user"]
    assert users == ["Read notes.txt and do what it says.", "Now show the greeting in upper case."]
    [system] = [e for e in kinds(events, "message") if e.role == "system"]
    assert system.text.startswith("<environment_context>")
    last = [e for e in kinds(events, "message") if e.role == "assistant"][-1]
    assert last.text == "It prints `HELLO, WORLD`."


@pytest.mark.parametrize("name", ROLLOUTS)
def test_fixture_usage_is_per_response_and_adds_up(name):
    """One model call per token_usage_record; their sum is the last cumulative total."""
    values = lines_of(name)
    events, _ = fold(values)
    responses = {v["payload"]["response_id"] for v in values if v["type"] == "token_usage_record"}
    calls = kinds(events, "model_call")
    assert len(calls) == len(responses)
    assert totals(events) == last_total(values)
    assert all(e.model == "gpt-5.5" and e.usage.model == "gpt-5.5" for e in calls)


def test_fixture_usage_counts_cached_input_apart():
    """Codex counts cached tokens inside input_tokens; the Usage counts them apart."""
    events, _ = fixture("workspace_write")
    second = kinds(events, "model_call")[1]  # input 8611, of which 8320 cached; output 183
    assert second.usage.counts == (291, 183, 8320, 0)
    assert second.usage.provider == "fake"


def test_fixture_read_only_sandbox_denials():
    """Under read-only a blocked write, a rejected patch and a rejected escalation are denied."""
    events, run = fixture("read_only")
    assert (run.sandbox, run.approval) == ("read-only", "never")
    assert shells(events) == [
        ("cat hello.py", "ok", 0),
        ("python3 hello.py", "ok", 0),
        ("python3 hello.py > out.txt", "denied", 1),  # "Read-only file system", no CommandExecution
        ("python3 hello.py > out.txt", "denied", None),  # escalation, approval never
        ("ls out.txt", "pending", None),  # local_shell_call: recorded, never answered
    ]
    [patch] = kinds(events, "file_edit")
    assert (patch.status, patch.paths) == ("denied", ("out.txt",))
    denied = [(c, r) for c, d, r in permissions(events) if d == "denied"]
    assert [c for c, _ in denied] == ["call_write", "call_patch_add", "call_write_escalated"]
    assert "Read-only file system" in denied[0][1]
    assert denied[1][1].startswith("patch rejected: writing is blocked by read-only sandbox")
    local = kinds(events, "shell")[-1]
    assert (local.tool, local.call_id) == ("local_shell_call", "call_local_shell")


def test_fixture_guardian_allows_one_escalation_and_denies_another():
    """With --approve-for-me the allowed escalation ran (granted), the denied one did not."""
    events, run = fixture("approve_for_me")
    assert (run.sandbox, run.approval) == ("workspace-write", "on-request")
    assert run.extra["approvals_reviewer"] == "auto_review"
    assert [(c, d) for c, d, _ in permissions(events)] == [
        ("call_escalate_allowed", "requested"),
        ("call_escalate_allowed", "granted"),
        ("call_escalate_denied", "requested"),
        ("call_escalate_denied", "denied"),
    ]
    assert permissions(events)[-1][2] == (
        "Piping a script downloaded from the network into a shell runs unreviewed code."
    )
    status = {e.call_id: e.status for e in kinds(events, "shell")}
    assert status == {
        "call_run": "ok",
        "call_escalate_allowed": "ok",
        "call_escalate_denied": "denied",
    }


def test_fixture_guardian_rollout_is_a_sub_agent_run():
    """The guardian's own rollout: its thread id, its parent, and the agent named guardian."""
    events, run = fixture("approve_for_me.guardian_review")
    assert run.run_id == "01a1ffb5-ea05-7533-a1d4-413d99f71435"
    assert run.agent == "guardian"
    assert run.extra["parent_thread_id"] == "01a1ffb5-e9f2-7631-afcb-97bc0f5db29b"
    assert run.extra["session_id"] == "01a1ffb5-e9f2-7631-afcb-97bc0f5db29b"
    assert run.extra["thread_source"] == "guardian_review"
    verdicts = [e for e in kinds(events, "message") if e.role == "assistant"]
    assert [json.loads(e.text)["outcome"] for e in verdicts] == ["allow", "deny"]
    assert {e.actor for e in verdicts + kinds(events, "model_call")} == {"guardian"}


def test_fixture_compaction_summary_is_not_the_agent():
    """The compaction summary is a system message; the duplicate token_count adds nothing."""
    values = lines_of("auto_compact")
    events, run = fold(values)
    summary = [e for e in kinds(events, "message") if e.role == "system"][-1]
    assert summary.text.startswith("Progress: ran `wc -c hello.py notes.txt`")
    assistant = [e.text for e in kinds(events, "message") if e.role == "assistant"]
    assert assistant == ["hello.py is 99 bytes and notes.txt 90 bytes; both are shown above."]
    assert run.extra["compactions"] == 1
    assert len(kinds(events, "model_call")) == 4  # the compaction request included
    assert totals(events) == last_total(values) == (54388, 23507, 266)


def test_fixture_raw_records_are_kept_when_asked():
    """With keep_raw a tool event holds its call, exec item and output records."""
    events, _ = fixture("workspace_write", keep_raw=True)
    first = kinds(events, "shell")[0]
    assert [r["payload"].get("type") for r in first.raw] == [
        "function_call",
        "item_completed",
        "function_call_output",
    ]
    assert fixture("workspace_write")[0][4].raw is None


# --- synthetic records in older shapes -----------------------------------------------------------


def test_synthetic_shell_argv_with_json_output():
    """Synthetic (pre-0.169): ``shell`` with an argv, a JSON output string with the exit code."""
    events, run = fold(
        [
            meta(),
            ctx(),
            call("shell", {"command": ["bash", "-lc", "ls -la"], "workdir": "/w"}, "c1"),
            output("c1", json_output("a\nb\n", 0)),
            call("shell", {"command": ["pytest", "-q"], "timeout_ms": 10000}, "c2"),
            output("c2", json_output("1 failed", 1)),
        ]
    )
    assert shells(events) == [("ls -la", "ok", 0), ("pytest -q", "error", 1)]
    assert kinds(events, "shell")[0].result == "a\nb\n"
    assert (run.run_id, run.tool_version, run.agent, run.cwd) == ("sess-1", "0.46.0", "codex", "/w")
    assert (run.sandbox, run.approval, run.model) == (
        "workspace-write",
        "on-request",
        "gpt-5-codex",
    )


def test_synthetic_every_shell_tool_generation_is_a_shell_command():
    """Synthetic: shell_command, exec_command, exec and an answered local_shell_call are shell."""
    local = item(
        {
            "type": "local_shell_call",
            "call_id": "c4",
            "status": "completed",
            "action": {"type": "exec", "command": ["bash", "-lc", "git status"]},
        }
    )
    events, _ = fold(
        [
            meta(),
            ctx(),
            call("shell_command", {"command": "make lint", "workdir": "/w"}, "c1"),
            output("c1", "Exit code: 2\nWall time: 0.4 seconds\nOutput:\nlint failed\n"),
            call("exec_command", {"cmd": "echo hi"}, "c2"),
            output(
                "c2",
                "Chunk ID: ab12\nWall time: 0.0 seconds\nProcess exited with code 0\n"
                "Original token count: 1\nOutput:\nhi\n",
            ),
            call("exec", {"cmd": "uname -a"}, "c3"),
            output("c3", json_output("Linux", 0)),
            local,
            output("c4", json_output("clean", 0)),
        ]
    )
    assert shells(events) == [
        ("make lint", "error", 2),
        ("echo hi", "ok", 0),
        ("uname -a", "ok", 0),
        ("git status", "ok", 0),
    ]
    assert [e.tool for e in kinds(events, "shell")] == [
        "shell_command",
        "exec_command",
        "exec",
        "local_shell_call",
    ]
    assert kinds(events, "shell")[0].result == "lint failed\n"


def test_synthetic_escalation_with_escalated_permissions():
    """Synthetic (pre-0.169): ``with_escalated_permissions`` asked, then rejected by the user."""
    args = {
        "command": ["bash", "-lc", "npm install"],
        "with_escalated_permissions": True,
        "justification": "Install the dependencies from the network?",
    }
    events, _ = fold(
        [meta(), ctx(), call("shell", args, "c1"), output("c1", "exec command rejected by user")]
    )
    assert shells(events) == [("npm install", "denied", None)]
    assert permissions(events) == [
        ("c1", "requested", "Install the dependencies from the network?"),
        ("c1", "denied", "exec command rejected by user"),
    ]


def test_synthetic_escalation_that_ran_was_granted():
    """Synthetic (pre-0.169): an escalated command that ran under on-request was granted."""
    args = {
        "command": ["bash", "-lc", "touch /etc/x"],
        "with_escalated_permissions": True,
        "justification": "Write /etc/x?",
    }
    events, _ = fold([meta(), ctx(), call("shell", args, "c1"), output("c1", json_output("", 0))])
    assert [(c, d) for c, d, _ in permissions(events)] == [("c1", "requested"), ("c1", "granted")]


def test_synthetic_sandbox_denial_at_run_time():
    """Synthetic: a sandboxed command failing with "Operation not permitted" is a denial."""
    events, _ = fold(
        [
            meta(),
            ctx(),
            call("shell", {"command": ["bash", "-lc", "touch /usr/x"]}, "c1"),
            output("c1", json_output("touch: /usr/x: Operation not permitted\n", 1)),
            call("shell", {"command": ["bash", "-lc", "false"]}, "c2"),
            output("c2", json_output("", 1)),
        ]
    )
    assert shells(events) == [("touch /usr/x", "denied", 1), ("false", "error", 1)]
    [(call_id, decision, reason)] = permissions(events)
    assert (call_id, decision) == ("c1", "denied")
    assert reason == "workspace-write sandbox: touch: /usr/x: Operation not permitted"


def test_synthetic_no_sandbox_no_sandbox_denial():
    """Synthetic: outside a sandbox (danger-full-access) "Permission denied" is a plain error."""
    events, _ = fold(
        [
            meta(),
            ctx(sandbox="danger-full-access", approval="never"),
            call("shell", {"command": ["cat", "/root/secret"]}, "c1"),
            output("c1", json_output("cat: /root/secret: Permission denied", 1)),
        ]
    )
    assert shells(events) == [("cat /root/secret", "error", 1)]
    assert permissions(events) == []


def test_synthetic_old_events_are_not_counted_twice():
    """Synthetic (pre-0.169): user_message and agent_message events repeat the response items."""
    env = "<environment_context>\n  <cwd>/w</cwd>\n</environment_context>"
    events, _ = fold(
        [
            meta(),
            ctx(),
            said("user", env),
            event("user_message", message=env, kind="environment_context"),
            said("user", "fix the bug"),
            event("user_message", message="fix the bug", images=[]),
            event("agent_message", message="Done."),  # the event first this time
            said("assistant", "Done."),
            said("user", "again"),
            event("user_message", message="again"),
            said("user", "again"),  # said a second time: counted again
            event("user_message", message="again"),
        ]
    )
    assert [(e.role, e.text) for e in kinds(events, "message")] == [
        ("system", env),
        ("user", "fix the bug"),
        ("assistant", "Done."),
        ("user", "again"),
        ("user", "again"),
    ]
    assert kinds(events, "message")[2].source.record == "event_msg/agent_message"


def test_synthetic_token_counts_without_records():
    """Synthetic (pre-0.169): per-call usage from cumulative token_count lines, repeats dropped."""
    first, second = usage(1000, 0, 50, 10), usage(1500, 1000, 80)
    total2 = usage(2500, 1000, 130, 10)
    values = [
        meta(),
        ctx(),
        event("token_count", info=None, rate_limits={"primary": None}),  # rate limits only
        token_count(first, first),
        token_count(first, first),  # a repeat
        token_count(total2, second),
    ]
    events, run = fold(values)
    assert [e.usage.counts for e in kinds(events, "model_call")] == [
        (1000, 50, 0, 0),
        (500, 80, 1000, 0),
    ]
    assert totals(events) == (2500, 1000, 130)
    assert run.extra["total_token_usage"]["total_tokens"] == 2630
    assert {e.model for e in kinds(events, "model_call")} == {"gpt-5-codex"}
    assert {e.usage.provider for e in kinds(events, "model_call")} == {"openai"}


def test_synthetic_token_total_restarting_after_resume():
    """Synthetic: a cumulative total that starts over (an old resume) begins a new sum."""
    a, b = usage(1000, 0, 10), usage(400, 0, 5)
    events, _ = fold([meta(), ctx(), token_count(a, a), ctx(), token_count(b, b)])
    assert [e.usage.counts for e in kinds(events, "model_call")] == [
        (1000, 10, 0, 0),
        (400, 5, 0, 0),
    ]


def test_synthetic_flat_token_count():
    """Synthetic (earliest rollouts): a token_count with inline usage is one response's."""
    events, _ = fold([meta(), ctx(), event("token_count", **usage(300, 100, 20))])
    assert [e.usage.counts for e in kinds(events, "model_call")] == [(200, 20, 100, 0)]


def test_synthetic_policy_changes_are_listed():
    """Synthetic: the run keeps the first sandbox, approval and model; extra lists the changes."""
    _, run = fold(
        [
            meta(),
            ctx("read-only", "on-request"),
            ctx("read-only", "on-request"),
            ctx("workspace-write", "never", model="gpt-5", ts="2025-09-01T10:05:00.000Z"),
        ]
    )
    assert (run.sandbox, run.approval, run.model) == ("read-only", "on-request", "gpt-5-codex")
    when = "2025-09-01T10:05:00.000Z"
    assert run.extra["sandbox_changes"] == [
        {"time": when, "from": "read-only", "to": "workspace-write"}
    ]
    assert run.extra["approval_changes"] == [{"time": when, "from": "on-request", "to": "never"}]
    assert run.extra["model_changes"] == [{"time": when, "from": "gpt-5-codex", "to": "gpt-5"}]


def test_synthetic_unknown_lines_are_counted_not_fatal():
    """Synthetic: line types and subtypes this adapter does not know are unknown events."""
    future = {"timestamp": T0, "ordinal": 7, "type": "hologram", "payload": {"x": 1}}
    events, _ = fold(
        [
            meta(),
            ctx(),
            future,
            event("telepathy_started", depth=3),
            event("item_completed", item={"type": "Hologram", "id": "h1"}),
            item({"type": "image_generation_call", "id": "ig1"}),
            "not an object",
            said("user", "still read"),
        ]
    )
    assert [e.source.record for e in kinds(events, "unknown")] == [
        "hologram",
        "event_msg/telepathy_started",
        "event_msg/item_completed/Hologram",
        "response_item/image_generation_call",
        None,
    ]
    assert [e.text for e in kinds(events, "message")] == ["still read"]


def test_synthetic_exec_command_end_gives_the_exit_code():
    """Synthetic (pre-0.169): exec_command_end's exit code counts when the output is bare text."""
    end = event(
        "exec_command_end",
        call_id="c1",
        command=["bash", "-lc", "make"],
        exit_code=2,
        stdout="",
        stderr="make: *** no rule",
        aggregated_output="make: *** no rule",
    )
    events, _ = fold(
        [
            meta(),
            ctx(),
            call("shell", {"command": ["bash", "-lc", "make"]}, "c1"),
            end,
            output("c1", "make: *** no rule"),
        ]
    )
    assert shells(events) == [("make", "error", 2)]


def test_synthetic_user_shell_command_is_a_shell_event():
    """Synthetic: a command the user ran (``!cmd``), with no call of the model's, is shell."""
    end = event(
        "exec_command_end",
        call_id="u1",
        command=["bash", "-lc", "git log"],
        exit_code=0,
        aggregated_output="abc",
        source="user_shell",
    )
    events, _ = fold([meta(), ctx(), end])
    [shell] = kinds(events, "shell")
    assert (shell.command, shell.status, shell.exit_code, shell.actor) == (
        "git log",
        "ok",
        0,
        "user",
    )


def test_synthetic_approval_request_event_then_run_is_granted():
    """Synthetic (pre-0.169): an exec_approval_request answered by running the command."""
    events, _ = fold(
        [
            meta(),
            ctx(approval="untrusted"),
            call("shell", {"command": ["bash", "-lc", "rm -rf build"]}, "c1"),
            event(
                "exec_approval_request",
                call_id="c1",
                command=["bash", "-lc", "rm -rf build"],
                cwd="/w",
                reason="not a trusted command",
            ),
            output("c1", json_output("", 0)),
        ]
    )
    assert permissions(events) == [
        ("c1", "requested", "not a trusted command"),
        ("c1", "granted", None),
    ]


def test_synthetic_apply_patch_through_the_shell_tool_is_a_file_edit():
    """Synthetic (pre-0.169): ``shell`` with ``["apply_patch", patch]`` is a file edit."""
    patch = "*** Begin Patch\n*** Add File: docs/a.md\n+hi\n*** End Patch\n"
    events, _ = fold(
        [
            meta(),
            ctx(),
            call("shell", {"command": ["apply_patch", patch]}, "c1"),
            output("c1", json_output("Success. Updated the following files:\nA docs/a.md\n", 0)),
        ]
    )
    [edit] = kinds(events, "file_edit")
    assert (edit.paths, edit.status, edit.tool) == (("docs/a.md",), "ok", "shell")
    assert kinds(events, "shell") == []


def test_synthetic_custom_apply_patch_json_output():
    """Synthetic: a custom apply_patch whose output is the JSON form, and a failed one."""
    patch = "*** Begin Patch\n*** Update File: src/a.py\n@@\n-x\n+y\n*** End Patch\n"
    events, _ = fold(
        [
            meta(),
            ctx(),
            item(
                {"type": "custom_tool_call", "call_id": "p1", "name": "apply_patch", "input": patch}
            ),
            item(
                {
                    "type": "custom_tool_call_output",
                    "call_id": "p1",
                    "output": json_output("Success. Updated the following files:\nM src/a.py\n", 0),
                }
            ),
            item(
                {"type": "custom_tool_call", "call_id": "p2", "name": "apply_patch", "input": patch}
            ),
            item(
                {
                    "type": "custom_tool_call_output",
                    "call_id": "p2",
                    "output": "apply_patch verification failed: no such line",
                }
            ),
        ]
    )
    assert [(e.paths, e.status) for e in kinds(events, "file_edit")] == [
        (("src/a.py",), "ok"),
        (("src/a.py",), "error"),
    ]


def test_synthetic_web_search_actions():
    """Synthetic: a search's query, a page's URL, and a web_search_end repeating a search."""
    events, _ = fold(
        [
            meta(),
            ctx(),
            item(
                {
                    "type": "web_search_call",
                    "id": "ws1",
                    "status": "completed",
                    "action": {"type": "search", "query": "codex rollout"},
                }
            ),
            event("web_search_end", call_id="ws1", query="codex rollout"),
            item(
                {
                    "type": "web_search_call",
                    "id": "ws2",
                    "status": "completed",
                    "action": {"type": "open_page", "url": "https://example.org/a"},
                }
            ),
        ]
    )
    assert [e.url for e in kinds(events, "network_fetch")] == [
        "codex rollout",
        "https://example.org/a",
    ]


def test_synthetic_unanswered_and_orphan_calls():
    """Synthetic: a call never answered is pending; an output with no call is a tool_call."""
    events, _ = fold(
        [
            meta(),
            ctx(),
            output("ghost", "exec command rejected by user"),
            call("exec_command", {"cmd": "sleep 100"}, "c1"),
        ]
    )
    orphan, pending = events[0], events[1]
    assert (orphan.kind, orphan.call_id, orphan.status) == ("tool_call", "ghost", "denied")
    assert (pending.kind, pending.command, pending.status) == ("shell", "sleep 100", "pending")


def test_synthetic_mcp_tool_error():
    """Synthetic: an MCP tool's result with ``isError`` is an error of a plain tool call."""
    result = json.dumps({"content": [{"type": "text", "text": "no such issue"}], "isError": True})
    events, _ = fold(
        [meta(), ctx(), call("github__get_issue", {"number": 7}, "m1"), output("m1", result)]
    )
    [tool] = kinds(events, "tool_call")
    assert (tool.tool, tool.status, tool.result) == ("github__get_issue", "error", "no such issue")


def test_synthetic_sub_agent_source():
    """Synthetic: a spawned sub-agent's rollout names the agent and acts as it."""
    source = {
        "subagent": {
            "thread_spawn": {"parent_thread_id": "p", "depth": 1, "agent_nickname": "scout"}
        }
    }
    events, run = fold([meta(source=source), ctx(), said("assistant", "found it")])
    assert run.agent == "scout"
    assert events[0].actor == "scout"


def test_synthetic_rollout_through_open_trace(tmp_path):
    """Synthetic: a rollout file is detected as codex and read through open_trace."""
    path = tmp_path / "rollout-2025-09-01T10-00-00-sess-1.jsonl"
    values = [
        meta(),
        ctx(),
        said("user", "hi"),
        call("shell", {"command": ["ls"]}, "c1"),
        output("c1", json_output("a", 0)),
    ]
    path.write_text("".join(json.dumps(v) + "\n" for v in values), encoding="utf-8")
    trace = open_trace(path)
    events = list(trace)
    assert trace.format == "codex"
    assert [(e.index, e.kind) for e in events] == [(0, "message"), (1, "shell")]
    assert trace.run.run_id == "sess-1"
    assert events[1].source.line == 4


def test_synthetic_too_many_unanswered_calls(monkeypatch):
    """Synthetic: past the pending limit the oldest unanswered call is emitted as pending."""
    monkeypatch.setattr("sealog.traces.adapters.codex.MAX_PENDING", 2)
    values = [meta(), ctx()] + [
        call("exec_command", {"cmd": f"job {n}"}, f"c{n}") for n in range(3)
    ]
    events, _ = fold([*values, output("c2", json_output("done", 0))])
    assert shells(events) == [
        ("job 0", "pending", None),
        ("job 2", "ok", 0),
        ("job 1", "pending", None),
    ]


def test_synthetic_patch_events_errors_and_compaction():
    """Synthetic (pre-0.169): patch_apply_begin/end, an error event and a bare compacted line."""
    patch = "*** Begin Patch\n*** Update File: a.py\n@@\n-x\n+y\n*** End Patch\n"
    events, run = fold(
        [
            meta(),
            ctx(),
            call("apply_patch", {"input": patch}, "p1"),
            event("patch_apply_begin", call_id="p1", auto_approved=True, changes={"/w/a.py": {}}),
            event("patch_apply_end", call_id="p1", stdout="", stderr="bad hunk", success=False),
            output("p1", json_output("bad hunk", 1)),
            event("error", message="stream disconnected before completion"),
            line("compacted", {"message": "Summary: a.py half done."}),
        ]
    )
    [edit] = kinds(events, "file_edit")
    assert (edit.paths, edit.status, edit.tool) == (("/w/a.py",), "error", "apply_patch")
    [error] = kinds(events, "error")
    assert error.text == "stream disconnected before completion"
    assert [(e.role, e.text) for e in kinds(events, "message")] == [
        ("system", "Summary: a.py half done.")
    ]
    assert run.extra["compactions"] == 1
