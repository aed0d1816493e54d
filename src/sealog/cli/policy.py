"""``sealog policy``: lint and explain policy files; seal versions and read them back."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sealog.cli._common import EXIT_BAD_INPUT, JsonOpt, emit_json, err, out, state
from sealog.errors import PolicyError
from sealog.policy import Policy, explain, load_policy
from sealog.policy.store import current_policy, policy_history, set_policy

policy_app = typer.Typer(help="Check and explain policy files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``policy`` to the app."""
    app.add_typer(policy_app, name="policy")


def _load(file: Path, *, as_json: bool) -> Policy:
    """Load ``file``, or list every problem in it and exit 2."""
    try:
        return load_policy(file)
    except PolicyError as exc:
        if as_json:
            emit_json({"ok": False, "file": str(file), "problems": list(exc.problems)})
        else:
            for problem in exc.problems:
                err.print(f"[red]error:[/red] {problem}", markup=True, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from exc


@policy_app.command("check")
def check(
    file: Path = typer.Argument(..., help="A policy file (YAML or JSON)."),
    as_json: bool = JsonOpt,
) -> None:
    """Lint a policy: exit 0 if valid, 2 with every problem (file:line: key path) listed."""
    policy = _load(file, as_json=as_json)
    info = {
        "ok": True,
        "file": str(file),
        "shape": policy.shape,
        "version": policy.version,
        "rules": len(policy.rules),
        "hash": policy.hash(),
    }
    if as_json:
        emit_json(info)
        return
    out.print(
        f"{file}: valid {policy.shape} policy, {len(policy.rules)} rules, "
        f"version {policy.version or '-'}, {info['hash']}"
    )


@policy_app.command("explain")
def explain_policy(
    file: Path = typer.Argument(..., help="A policy file (YAML or JSON)."),
    as_json: bool = JsonOpt,
) -> None:
    """Say in plain words everything the policy allows, forbids and limits, and what it does not."""
    policy = _load(file, as_json=as_json)
    lines = explain(policy)
    if as_json:
        emit_json({"file": str(file), "hash": policy.hash(), "explanation": lines})
        return
    for line in lines:
        out.print(line)


@policy_app.command("set")
def set_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The policy file (YAML or JSON)."),
    agent: str = typer.Option(..., "--agent", help="The agent it governs (address or key name)."),
    owner: str = typer.Option(..., "--owner", help="The agent's owner key name (signs it)."),
    as_json: bool = JsonOpt,
) -> None:
    """Seal a policy as the agent's next version, signed by its owner."""
    st = state(ctx)
    _load(file, as_json=as_json)
    owner_key, address = st.key(owner), st.address(agent)
    with st.ledger() as ledger:
        sealed, receipt = set_policy(ledger, owner_key, address, file)
    if as_json:
        emit_json({**sealed.to_dict(with_document=False), "receipt": receipt.to_dict()})
        return
    out.print(f"policy v{sealed.version} of {address} sealed at entry {sealed.index}")
    out.print(f"hash {sealed.policy_hash}")


@policy_app.command("show")
def show(
    ctx: typer.Context,
    agent: str = typer.Argument(..., help="The agent (address or key name)."),
    version: int | None = typer.Option(None, "--version", min=1, help="A past version."),
    as_json: bool = JsonOpt,
) -> None:
    """Print the policy in force (or version N) as it was sealed."""
    st = state(ctx)
    with st.ledger() as ledger:
        sealed = current_policy(ledger, st.address(agent), version)
    sealed.policy()
    if as_json:
        emit_json(sealed.to_dict())
        return
    out.print(
        f"# policy v{sealed.version} of {sealed.agent}, sealed {sealed.time} at entry "
        f"{sealed.index}, {sealed.policy_hash}"
    )
    out.print(sealed.document, end="" if sealed.document.endswith("\n") else "\n")


@policy_app.command("history")
def history(
    ctx: typer.Context,
    agent: str = typer.Argument(..., help="The agent (address or key name)."),
    as_json: bool = JsonOpt,
) -> None:
    """List every sealed version of the agent's policy, oldest first."""
    st = state(ctx)
    with st.ledger() as ledger:
        versions = policy_history(ledger, st.address(agent))
    if as_json:
        emit_json([v.to_dict(with_document=False) for v in versions])
        return
    if not versions:
        out.print("no policy set yet")
        return
    table = Table("version", "sealed", "entry", "hash", "source", box=None)
    for v in versions:
        table.add_row(
            str(v.version), v.time, str(v.index), v.policy_hash[:23] + "…", v.source or "-"
        )
    out.print(table)
