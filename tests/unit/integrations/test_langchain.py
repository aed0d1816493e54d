"""The LangChain / LangGraph integration, run offline with the real packages and a scripted model.

Every test drives a real ``create_agent`` agent over a real in-memory ledger; the only fake is
the chat model, which replays scripted ``AIMessage``\\s (tool calls and token usage).
"""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest

pytest.importorskip("langchain.agents")

from langchain.agents import create_agent
from langchain.agents.middleware import ToolErrorMiddleware, ToolRetryMiddleware
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from typing_extensions import override

from sealog.crypto import SigningKey
from sealog.errors import InputError, SessionKilled, UsageError
from sealog.gate import Gate
from sealog.integrations.langchain import (
    APPROVAL_KIND,
    SealogMiddleware,
    SealogUsageCallback,
)
from sealog.ledger import Ledger
from sealog.policy.cost import PriceOverrides
from sealog.policy.store import set_policy

POLICY = """
actions:
  allow: [search, send_email, explode]
  deny: [delete_file]
ask:
  - actions: [send_email]
"""
PRICES = PriceOverrides.from_mapping(
    {
        "anthropic/scripted-1": {
            "input_per_mtok": "3",
            "output_per_mtok": "15",
            "cache_read_per_mtok": "0.30",
            "cache_write_per_mtok": "3.75",
        },
        "openai/scripted-1": {
            "input_per_mtok": "2",
            "output_per_mtok": "8",
            "cache_read_per_mtok": "0.5",
        },
        "google/scripted-1": {
            "input_per_mtok": "1",
            "output_per_mtok": "4",
            "cache_read_per_mtok": "0.25",
        },
    }
)


class ScriptedChatModel(BaseChatModel):
    """A chat model that replays its script, one message per call, and accepts any tools."""

    script: list[AIMessage]
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @override
    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        message = self.script[self.calls]
        self.calls += 1
        return ChatResult(generations=[ChatGeneration(message=message)])

    @override
    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
        return self


def call(name: str, call_id: str = "call-1", **args: Any) -> AIMessage:
    """The model asks for one tool call."""
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id}])


def usage(
    provider: str = "anthropic",
    *,
    input_tokens: int = 1000,
    output_tokens: int = 50,
    cache_read: int = 200,
    cache_creation: int = 100,
) -> dict[str, Any]:
    """What a LangChain provider puts on an ``AIMessage``: its usage and response metadata."""
    return {
        "usage_metadata": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
            "input_token_details": {"cache_read": cache_read, "cache_creation": cache_creation},
        },
        "response_metadata": {"model_name": "scripted-1", "model_provider": provider},
    }


class Recorder:
    """Tools that record every call that really ran."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, dict[str, Any]]] = []

    def tools(self) -> list[BaseTool]:
        ran = self.ran

        @tool
        def search(q: str) -> str:
            """Search the web."""
            ran.append(("search", {"q": q}))
            return f"results for {q}"

        @tool
        def delete_file(path: str) -> str:
            """Delete a file."""
            ran.append(("delete_file", {"path": path}))
            return f"deleted {path}"

        @tool
        def send_email(to: str) -> str:
            """Send an email."""
            ran.append(("send_email", {"to": to}))
            return f"sent to {to}"

        @tool
        def explode() -> str:
            """Fail."""
            ran.append(("explode", {}))
            msg = "boom"
            raise ValueError(msg)

        return [search, delete_file, send_email, explode]


@pytest.fixture
def world():
    """A factory: an in-memory ledger, an agent under a sealed policy, its gate and session."""
    opened: list[tuple[Ledger, Gate]] = []

    def make(policy: str = POLICY, **gate_kwargs: Any):
        ledger = Ledger.in_memory()
        owner, agent = SigningKey.generate(), SigningKey.generate()
        ledger.register_agent(agent, owner)
        set_policy(ledger, owner, agent.address, policy)
        gate = Gate(ledger, agent, **gate_kwargs)
        opened.append((ledger, gate))
        return ledger, gate.session(run_id="run-1")

    yield make
    for ledger, gate in opened:
        gate.close()
        ledger.close()


def sealed(ledger: Ledger, kind: str | None = None) -> list[tuple[int, str, dict[str, Any]]]:
    """The agent's entries of a kind (all when None), as (index, id, fields)."""
    return [
        (s.index, s.entry.id, dict(s.entry.fields))
        for s in ledger.entries()
        if kind is None or s.entry.kind == kind
    ]


def agent_for(session, script: list[AIMessage], recorder: Recorder, *extra, **kwargs):
    """A real create_agent agent over the scripted model, gated by ``session``."""
    model = ScriptedChatModel(script=script)
    middleware = [*extra, SealogMiddleware(session)]
    return model, create_agent(model, recorder.tools(), middleware=middleware, **kwargs)


USER = {"messages": [("user", "go")]}


# -- allow, deny ----------------------------------------------------------------------------------


def test_allowed_tool_runs_and_decision_is_sealed_before_the_action_citing_it(world):
    """An allowed tool call runs once; its decision is sealed first and the action cites it."""
    ledger, session = world()
    recorder = Recorder()
    _, agent = agent_for(session, [call("search", q="sealog"), AIMessage("done")], recorder)

    out = agent.invoke(USER)

    assert recorder.ran == [("search", {"q": "sealog"})]
    assert isinstance(out["messages"][2], ToolMessage)
    assert out["messages"][2].content == "results for sealog"
    [(d_index, d_id, decision)] = sealed(ledger, "decision")
    [(a_index, _, action)] = sealed(ledger, "action")
    assert decision["outcome"] == "allow"
    assert decision["tool_call_id"] == "call-1"
    assert d_index < a_index
    assert action["decision"] == d_id
    assert action["tool_call_id"] == "call-1"
    assert action["metadata"] == {"tool": "search", "status": "ok"}
    assert action["content_hash"].startswith("sha256:")


def test_denied_tool_never_runs_and_the_model_sees_an_error_tool_message(world):
    """A denied tool call never runs; the model gets an error ToolMessage naming rule and reason."""
    ledger, session = world()
    recorder = Recorder()
    _, agent = agent_for(session, [call("delete_file", path="/etc"), AIMessage("ok")], recorder)

    out = agent.invoke(USER)

    assert recorder.ran == []
    refusal = out["messages"][2]
    assert isinstance(refusal, ToolMessage)
    assert refusal.status == "error"
    assert refusal.tool_call_id == "call-1"
    assert "actions.denied" in refusal.content
    assert "did not run" in refusal.content
    [(_, _, decision)] = sealed(ledger, "decision")
    assert decision["outcome"] == "deny"
    assert sealed(ledger, "action") == []


def test_a_tool_that_raises_is_sealed_as_an_error_and_the_error_propagates(world):
    """A tool's own exception is sealed as status error, citing its decision, then re-raised."""
    ledger, session = world()
    recorder = Recorder()
    _, agent = agent_for(session, [call("explode"), AIMessage("never")], recorder)

    with pytest.raises(ValueError, match="boom"):
        agent.invoke(USER)

    [(_, d_id, _)] = sealed(ledger, "decision")
    [(_, _, action)] = sealed(ledger, "action")
    assert action["decision"] == d_id
    assert action["metadata"] == {"tool": "explode", "status": "error", "error": "ValueError"}


def test_action_name_and_target_mappers_feed_the_policy(world):
    """The action-name and target mappers decide what the policy sees of a tool call."""
    ledger, session = world("actions: {allow: [web.search]}\ntargets: {allow: ['https://ok/']}\n")
    recorder = Recorder()
    model = ScriptedChatModel(script=[call("search", q="x"), AIMessage("done")])
    gate = SealogMiddleware(
        session,
        action_name=lambda request: "web." + request.tool_call["name"],
        target=lambda request: "https://ok/" + request.tool_call["args"]["q"],
    )
    create_agent(model, recorder.tools(), middleware=[gate]).invoke(USER)

    assert recorder.ran == [("search", {"q": "x"})]
    [(_, _, decision)] = sealed(ledger, "decision")
    assert (decision["action"], decision["tool"], decision["target"]) == (
        "web.search",
        "search",
        "https://ok/x",
    )


# -- ask ------------------------------------------------------------------------------------------


def ask_run(world, answer: Any):
    """Run an agent into an ask, check the interrupt, and resume it with ``answer``."""
    ledger, session = world()
    recorder = Recorder()
    _, agent = agent_for(
        session,
        [call("send_email", to="ceo@example.com"), AIMessage("done")],
        recorder,
        checkpointer=InMemorySaver(),
    )
    config = {"configurable": {"thread_id": "t-1"}}

    paused = agent.invoke(USER, config)

    assert recorder.ran == []
    [pending] = paused["__interrupt__"]
    assert pending.value["type"] == APPROVAL_KIND
    assert pending.value["action"] == "send_email"
    assert pending.value["args"] == {"to": "ceo@example.com"}
    assert pending.value["rule"] == "ask[0]"
    [(_, ask_id, ask)] = sealed(ledger, "decision")
    assert ask["outcome"] == "ask"
    assert pending.value["decision"] == ask_id
    out = agent.invoke(Command(resume=answer), config)
    return ledger, recorder, out


def test_ask_interrupts_and_an_approval_runs_the_tool_recording_the_answer(world):
    """An ask pauses the run without running the tool; approving it runs the tool once."""
    ledger, recorder, out = ask_run(world, {"approved": True, "by": "alice"})

    assert recorder.ran == [("send_email", {"to": "ceo@example.com"})]
    assert out["messages"][-2].content == "sent to ceo@example.com"
    decisions = sealed(ledger, "decision")
    assert [d["outcome"] for _, _, d in decisions] == ["ask", "ask"]  # decided again on resume
    [(a_index, _, action)] = sealed(ledger, "action")
    assert a_index > decisions[-1][0]
    assert action["action"] == "send_email"
    assert action["cost"] == "0"
    meta = action["metadata"]
    assert meta["ask_decision"] == decisions[-1][1]
    assert meta["approval"] == {"approved": True, "answer": {"approved": True, "by": "alice"}}
    assert meta["status"] == "ok"
    assert meta["tool_call_id"] == "call-1"


def test_resuming_an_ask_does_not_rerun_an_allowed_sibling_call(world):
    """Of two parallel tool calls, the allowed one runs once though the other asks and resumes."""
    ledger, session = world()
    recorder = Recorder()
    both = AIMessage(
        "",
        tool_calls=[
            {"name": "search", "args": {"q": "x"}, "id": "c1"},
            {"name": "send_email", "args": {"to": "a@example.com"}, "id": "c2"},
        ],
    )
    _, agent = agent_for(session, [both, AIMessage("done")], recorder, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t-2"}}

    agent.invoke(USER, config)
    agent.invoke(Command(resume={"approved": True}), config)

    assert sorted(name for name, _ in recorder.ran) == ["search", "send_email"]
    outcomes = sorted(f["outcome"] for _, _, f in sealed(ledger, "decision"))
    assert outcomes == ["allow", "ask", "ask"]
    assert sorted(f["action"] for _, _, f in sealed(ledger, "action")) == ["search", "send_email"]


@pytest.mark.parametrize("answer", [{"approved": False}, False, "yes", {"approved": "true"}])
def test_ask_resumed_without_an_approval_never_runs_the_tool(world, answer):
    """Anything but an explicit approval refuses the tool: the model sees an error message."""
    ledger, recorder, out = ask_run(world, answer)

    assert recorder.ran == []
    refusal = out["messages"][2]
    assert isinstance(refusal, ToolMessage)
    assert refusal.status == "error"
    assert "not approved" in refusal.content
    assert sealed(ledger, "action") == []


# -- kill -----------------------------------------------------------------------------------------

KILL_AT_SECOND = "actions: {allow: [search]}\nsession: {max_actions: 1, on_exceed: kill}\n"


def test_a_kill_decision_ends_invoke_with_session_killed_and_the_tool_never_runs(world):
    """A tool call the gate kills raises SessionKilled out of agent.invoke; the tool never runs."""
    ledger, session = world(KILL_AT_SECOND)
    recorder = Recorder()
    script = [call("search", "c1", q="one"), call("search", "c2", q="two"), AIMessage("no")]
    model, agent = agent_for(session, script, recorder)

    with pytest.raises(SessionKilled) as caught:
        agent.invoke(USER)

    assert recorder.ran == [("search", {"q": "one"})]
    assert model.calls == 2
    assert caught.value.decision.blocking_rule == "session.max_actions"
    assert session.killed
    [(_, _, kill)] = [e for e in sealed(ledger, "session") if e[2]["event"] == "kill"]
    assert kill["rule_id"] == "session.max_actions"


@pytest.mark.parametrize(
    "swallower",
    [
        ToolErrorMiddleware(on_error=lambda exc, _request: f"swallowed {exc!r}"),
        ToolRetryMiddleware(max_retries=1, initial_delay=0, jitter=False),
    ],
    ids=["ToolErrorMiddleware", "ToolRetryMiddleware"],
)
def test_a_kill_turned_into_a_tool_message_still_ends_the_run(world, swallower):
    """An outer middleware that swallows the kill into a message cannot keep the agent going."""
    _, session = world(KILL_AT_SECOND)
    recorder = Recorder()
    script = [call("search", "c1", q="one"), call("search", "c2", q="two"), AIMessage("no")]
    model, agent = agent_for(session, script, recorder, swallower)

    with pytest.raises(SessionKilled):
        agent.invoke(USER)

    assert recorder.ran == [("search", {"q": "one"})]
    assert model.calls == 2  # the model never got to read the swallowed kill


def test_a_session_killed_before_the_run_calls_neither_model_nor_tool(world):
    """A session killed by hand ends the next invoke before the model or any tool runs."""
    ledger, session = world()
    recorder = Recorder()
    model, agent = agent_for(session, [call("search", q="x"), AIMessage("done")], recorder)
    session.kill("the operator pulled the switch")

    with pytest.raises(SessionKilled, match=r"session\.manual_kill"):
        agent.invoke(USER)

    assert model.calls == 0
    assert recorder.ran == []
    assert sealed(ledger, "decision") == []


def test_a_violation_threshold_kill_stops_the_tool(world):
    """A kill by a violation threshold, recorded by a scanner mid-run, stops the next tool call."""
    ledger, session = world(
        "actions: {allow: [search]}\nviolations: {thresholds: {pii_blocked: 1}}\n"
    )
    recorder = Recorder()
    model = ScriptedChatModel(script=[call("search", q="x"), AIMessage("done")])

    class Scanner(SealogMiddleware):
        """The gate, plus a scanner that finds PII in every model output."""

        @override
        def after_model(self, state, runtime):
            self.session.record_violation("pii_blocked", detail="an SSN in the model's output")

    agent = create_agent(model, recorder.tools(), middleware=[Scanner(session)])

    with pytest.raises(SessionKilled):
        agent.invoke(USER)

    [(_, _, kill)] = [e for e in sealed(ledger, "session") if e[2]["event"] == "kill"]
    assert kill["rule_id"] == "violations.pii_blocked"
    assert recorder.ran == []
    assert sealed(ledger, "action") == []


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_a_budget_kill_from_model_usage_ends_the_run_before_the_tool(world, mode):
    """Model spend that breaks a kill-mode budget ends (a)invoke; the proposed tool never runs."""
    ledger, session = world(
        "actions: {allow: [search]}\nbudget: {max_cost_per_session: 0.001, on_exceed: kill}\n",
        prices=PRICES,
    )
    recorder = Recorder()
    proposal = AIMessage(
        "", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "c1"}], **usage()
    )
    model, agent = agent_for(session, [proposal, AIMessage("done")], recorder)

    config = {"callbacks": [SealogUsageCallback(session)]}

    def run():
        if mode == "invoke":
            return agent.invoke(USER, config)
        return asyncio.run(agent.ainvoke(USER, config))

    with pytest.raises(SessionKilled, match=r"budget\.max_cost_per_session"):
        run()

    assert recorder.ran == []
    assert model.calls == 1
    [(_, _, charge)] = sealed(ledger, "action")
    assert charge["action"] == "model_call"
    assert sealed(ledger, "decision") == []


# -- async ----------------------------------------------------------------------------------------


def test_async_allowed_tool_runs_and_is_sealed(world):
    """Through agent.ainvoke an allowed tool runs and its decision and action are sealed."""
    ledger, session = world()
    recorder = Recorder()
    _, agent = agent_for(session, [call("search", q="async"), AIMessage("done")], recorder)

    out = asyncio.run(agent.ainvoke(USER))

    assert recorder.ran == [("search", {"q": "async"})]
    assert out["messages"][2].content == "results for async"
    [(d_index, d_id, _)] = sealed(ledger, "decision")
    [(a_index, _, action)] = sealed(ledger, "action")
    assert d_index < a_index
    assert action["decision"] == d_id


def test_async_denied_tool_never_runs(world):
    """Through agent.ainvoke a denied tool never runs and the model sees an error ToolMessage."""
    ledger, session = world()
    recorder = Recorder()
    _, agent = agent_for(session, [call("delete_file", path="/"), AIMessage("ok")], recorder)

    out = asyncio.run(agent.ainvoke(USER))

    assert recorder.ran == []
    assert out["messages"][2].status == "error"
    assert "actions.denied" in out["messages"][2].content
    assert sealed(ledger, "action") == []


def test_async_kill_ends_ainvoke_and_the_tool_never_runs(world):
    """Through agent.ainvoke a kill decision raises SessionKilled and the tool never runs."""
    _, session = world(KILL_AT_SECOND)
    recorder = Recorder()
    script = [call("search", "c1", q="one"), call("search", "c2", q="two"), AIMessage("no")]
    _, agent = agent_for(session, script, recorder)

    with pytest.raises(SessionKilled):
        asyncio.run(agent.ainvoke(USER))

    assert recorder.ran == [("search", {"q": "one"})]


# -- usage ----------------------------------------------------------------------------------------


def test_usage_callback_charges_the_session_and_seals_a_model_call(world):
    """Each model call's usage is priced (gate's price table) and sealed as a model_call cost."""
    ledger, session = world(prices=PRICES)
    recorder = Recorder()
    first = AIMessage(
        "", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "c1"}], **usage()
    )
    second = AIMessage("done", **usage(cache_read=0, cache_creation=0))
    _, agent = agent_for(session, [first, second], recorder)

    agent.invoke(USER, {"callbacks": [SealogUsageCallback(session)]})

    # 700 uncached × $3 + 50 × $15 + 200 read × $0.30 + 100 written × $3.75, per MTok
    one = Decimal(700 * 3 + 50 * 15 + 200 * Decimal("0.30") + 100 * Decimal("3.75")) / 10**6
    two = Decimal(1000 * 3 + 50 * 15) / 10**6
    assert session.total_cost == one + two
    charges = [f for _, _, f in sealed(ledger, "action") if f["action"] == "model_call"]
    assert [Decimal(f["cost"]) for f in charges] == [one, two]
    assert charges[0]["metadata"]["usage"] == {
        "input": 700,
        "output": 50,
        "cache_read": 200,
        "cache_write": 100,
    }
    assert charges[0]["metadata"]["model"] == "scripted-1"


@pytest.mark.parametrize(
    ("provider", "counts", "cost"),
    [
        ("anthropic", (700, 50, 200, 100), "0.003285"),
        ("openai", (800, 50, 200, 0), "0.0021"),  # cache writes stay plain input
        ("google", (800, 50, 200, 0), "0.00105"),
    ],
)
def test_usage_maps_each_provider_without_counting_cached_tokens_twice(
    world, provider, counts, cost
):
    """LangChain's input total (cache reads and writes inside) is charged once per token."""
    ledger, session = world()
    recorder = Recorder()
    _, agent = agent_for(session, [AIMessage("done", **usage(provider))], recorder)

    agent.invoke(USER, {"callbacks": [SealogUsageCallback(session, prices=PRICES)]})

    [(_, _, charge)] = sealed(ledger, "action")
    sealed_usage = charge["metadata"]["usage"]
    assert (
        sealed_usage["input"],
        sealed_usage["output"],
        sealed_usage["cache_read"],
        sealed_usage["cache_write"],
    ) == counts
    assert Decimal(charge["cost"]) == Decimal(cost)
    assert charge["metadata"]["price"]["source"] == "override"


def test_a_response_without_usage_is_refused_unless_ignored(world):
    """A model call that reports no usage fails the run, or is skipped when told to ignore it."""
    ledger, session = world()
    recorder = Recorder()
    _, agent = agent_for(session, [AIMessage("done"), AIMessage("done")], recorder)

    with pytest.raises(InputError, match="no token usage"):
        agent.invoke(USER, {"callbacks": [SealogUsageCallback(session)]})
    callback = SealogUsageCallback(session, on_missing_usage="ignore")
    agent.invoke(USER, {"callbacks": [callback]})

    assert sealed(ledger, "action") == []


def test_an_unknown_provider_asks_for_one(world):
    """A response whose provider sealog cannot tell fails with a UsageError naming provider=."""
    _, session = world()
    recorder = Recorder()
    _, agent = agent_for(session, [AIMessage("done", **usage("mistralai"))], recorder)

    with pytest.raises(UsageError, match="provider="):
        agent.invoke(USER, {"callbacks": [SealogUsageCallback(session)]})


def test_an_unknown_on_missing_usage_is_refused(world):
    """on_missing_usage takes only 'raise' or 'ignore'."""
    _, session = world()
    with pytest.raises(UsageError):
        SealogUsageCallback(session, on_missing_usage="warn")  # type: ignore[arg-type]


# -- an optional extra ----------------------------------------------------------------------------


def test_importing_without_langchain_raises_a_usage_error_with_the_install_hint(monkeypatch):
    """Without the extra, importing the integration names the pip command to run."""
    monkeypatch.setitem(sys.modules, "langchain.agents.middleware", None)
    monkeypatch.delitem(sys.modules, "sealog.integrations.langchain")

    with pytest.raises(UsageError, match=r"pip install 'sealog\[langchain\]'"):
        importlib.import_module("sealog.integrations.langchain")


def test_importing_sealog_does_not_import_langchain():
    """``import sealog`` (and the integrations package) never pulls LangChain in."""
    code = (
        "import sys, sealog, sealog.integrations\n"
        "assert not any(m.split('.')[0] in {'langchain', 'langgraph', 'langchain_core'}"
        " for m in sys.modules), 'langchain imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
