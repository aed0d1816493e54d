"""``sealog policy``: lint a policy file and say in plain words what it allows and forbids."""

from __future__ import annotations

from pathlib import Path

import typer

from sealog.cli._common import EXIT_BAD_INPUT, JsonOpt, emit_json, err, out
from sealog.errors import PolicyError
from sealog.policy import Policy, explain, load_policy

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
