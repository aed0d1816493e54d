"""The gate from the command line: ``decide`` and ``kill``.

``sealog decide`` asks the gate about one action and exits by its outcome; ``sealog kill`` is the
owner's circuit breaker for one of its agent's sessions.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markup import escape

from sealog.cli._common import JsonOpt, emit_json, out, state
from sealog.errors import NotFound, SessionKilled, UsageError
from sealog.gate import Gate, GateDecision, kill_session

EXIT_ALLOW, EXIT_REFUSED, EXIT_ASK = 0, 1, 3
"""``decide`` exits 0 allow, 1 deny or kill, 3 ask (2 stays bad usage, as everywhere)."""


def register(app: typer.Typer) -> None:
    """Add ``decide`` and ``kill`` to the app."""
    app.command("decide")(decide)
    app.command("kill")(kill)


def _args(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--args is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise UsageError("--args must be a JSON object, such as '{\"amount\": 500}'")
    return parsed


def decide(
    ctx: typer.Context,
    action: str = typer.Argument(..., help="The action the agent proposes, e.g. transfer."),
    as_name: str = typer.Option(..., "--as", help="The agent's key name."),
    target: str | None = typer.Option(None, "--target", help="What the action is done to."),
    tool: str | None = typer.Option(None, "--tool", help="The tool that would run it."),
    args: str | None = typer.Option(None, "--args", help="The arguments, a JSON object."),
    paths: list[str] = typer.Option([], "--path", help="A file path it touches (repeatable)."),
    sources: list[str] = typer.Option(
        [], "--source", help="Where its content came from, e.g. WebFetch (repeatable)."
    ),
    estimate: str = typer.Option("0", "--estimate", help="Its estimated cost in USD."),
    session: str | None = typer.Option(
        None, "--session", help="Decide within this session (resumed, or started with this id)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Decide on a proposed action and seal the decision: exit 0 allow, 1 deny or kill, 3 ask."""
    st = state(ctx)
    key = st.key(as_name)
    with st.ledger() as ledger, Gate(ledger, key) as gate:
        if session is None:
            live = gate.session()
        else:
            try:
                live = gate.resume(session)
            except NotFound:
                live = gate.session(session)
        try:
            decision = live.pre_action(
                action,
                target=target,
                tool=tool,
                args=_args(args),
                paths=paths,
                sources=sources,
                estimate=estimate,
            )
        except SessionKilled as exc:
            if not isinstance(exc.decision, GateDecision):
                raise
            decision = exc.decision
        if session is None:
            live.end()  # a one-off: nothing will resume it
    _show(decision, as_json=as_json)
    code = {"allow": EXIT_ALLOW, "ask": EXIT_ASK}.get(decision.outcome, EXIT_REFUSED)
    if code:
        raise typer.Exit(code)


def kill(
    ctx: typer.Context,
    session: str = typer.Argument(..., help="The session to kill."),
    agent: str = typer.Option(..., "--agent", help="Its agent (address or key name)."),
    as_name: str = typer.Option(..., "--as", help="The agent's owner's key name."),
    reason: str = typer.Option("killed by its owner", "--reason", help="Why, in words."),
    as_json: bool = JsonOpt,
) -> None:
    """Kill an agent's session as its owner: its next decision is a kill, wherever it runs."""
    st = state(ctx)
    owner = st.key(as_name)
    address = st.address(agent)
    with st.ledger() as ledger:
        receipt = kill_session(ledger, owner, address, session, reason)
    if as_json:
        emit_json({"session_id": session, "agent": address, **receipt.to_dict()})
        return
    out.print(f"killed session {escape(session)} of {address}, sealed as entry {receipt.index}")


_COLOURS = {"allow": "green", "deny": "red", "ask": "yellow", "kill": "bold red"}


def _show(decision: GateDecision, *, as_json: bool) -> None:
    if as_json:
        emit_json(decision.to_dict())
        return
    d = decision.decision
    colour = _COLOURS[d.outcome]
    target = f" → {decision.action.target}" if decision.action.target else ""
    out.print(
        f"[{colour}]{d.outcome.upper()}[/{colour}]  {escape(decision.action.action + target)}"
        f"   risk {d.risk}   class {d.decision_class}",
        markup=True,
    )
    if d.blocking_rule:
        out.print(f"  blocked by {d.blocking_rule}: {decision.reason}")
    version = decision.policy_version or "unsealed"
    out.print(f"  policy v{version} {d.policy_hash}")
    out.print(f"  session {decision.session_id}, sealed as entry {decision.index}")
    out.print(f"  ({decision.entry_id})")
    for v in d.verdicts:
        mark = "[green]✓[/green]" if v.passed else f"[red]✗ {v.effect}[/red]"
        out.print(f"  {mark} {escape(v.rule_id)}: {escape(v.detail)}", markup=True)
