"""The tracegate and ptrace policy shapes, loaded as they are and normalized to native rules.

tracegate (a CI gate over finished runs): ``limits.max_cost_usd`` and
``limits.max_runtime_minutes`` fail the run, so they map to ``deny`` budget and duration limits;
``forbidden_tools``/``forbidden_paths``/``forbidden_flows`` map to deny lists and flow rules;
each ``allow_*: false`` forbids a named family of tools, listed below so ``explain`` can show it;
``max_shell_commands`` caps shell tool calls over the session.

ptrace (scoped agent permissions): ``allowed_actions``/``denied_actions`` are action lists,
``allowed_targets`` a target allow list (prefixes and globs), ``max_actions_per_hour`` a rolling
one-hour rate limit, ``expires_at`` the end of the grant.
"""

from __future__ import annotations

from typing import Any

from sealog.policy._reader import Reader
from sealog.policy._shapes import add_flows, finish
from sealog.policy.model import (
    BudgetLimit,
    Condition,
    CountLimit,
    DurationLimit,
    Expiry,
    ListRule,
    Policy,
    Rule,
)

__all__ = [
    "FILE_WRITE_TOOLS",
    "GIT_TOOLS",
    "NETWORK_TOOLS",
    "PTRACE_KEYS",
    "SENSITIVE_PATHS",
    "SHELL_TOOLS",
    "TRACEGATE_KEYS",
    "ptrace",
    "tracegate",
]

TRACEGATE_KEYS = (
    "version", "limits", "forbidden_tools", "forbidden_paths", "forbidden_flows", "allow_network",
    "allow_file_writes", "allow_git_actions", "allow_sensitive_files", "max_shell_commands",
)  # fmt: skip
PTRACE_KEYS = (
    "version", "agent_id", "allowed_actions", "denied_actions", "allowed_targets",
    "max_actions_per_hour", "expires_at",
)  # fmt: skip

NETWORK_TOOLS = (
    "WebFetch",
    "WebSearch",
    "web_fetch",
    "web_search",
    "http_request",
    "fetch",
    "curl",
    "wget",
)
"""Tool names ``allow_network: false`` forbids."""
FILE_WRITE_TOOLS = (
    "Write",
    "Edit",
    "MultiEdit",
    "NotebookEdit",
    "write_file",
    "edit_file",
    "apply_patch",
)
"""Tool names ``allow_file_writes: false`` forbids."""
GIT_TOOLS = ("git", "git_*", "Git*")
"""Tool names ``allow_git_actions: false`` forbids (shell commands starting with git too)."""
SHELL_TOOLS = ("Bash", "Shell", "shell", "bash", "exec_command", "local_shell")
"""Tool names ``max_shell_commands`` counts."""
SENSITIVE_PATHS = (".env", ".env.*", "*.pem", "*.key", "id_rsa*", "id_ed25519*", "*.p12", "*.pfx",
                   "*/.ssh/*", "*/.aws/credentials", ".npmrc", ".pypirc", ".netrc")  # fmt: skip
"""Path globs ``allow_sensitive_files: false`` forbids (on the full path and the basename)."""

_GIT_COMMAND = "!(has(args.command) && string(args.command).startsWith('git '))"


def tracegate(data: dict[str, Any], r: Reader) -> Policy | None:
    """Normalize a tracegate policy."""
    top = r.mapping(data, (), TRACEGATE_KEYS)
    rules: list[Rule] = []
    if "limits" in top:
        lim = r.mapping(top["limits"], ("limits",), ("max_cost_usd", "max_runtime_minutes"))
        if "max_runtime_minutes" in lim:
            minutes = r.count(lim["max_runtime_minutes"], ("limits", "max_runtime_minutes"))
            if minutes is not None:
                rules.append(
                    DurationLimit(
                        "limits.max_runtime_minutes", minutes * 60, "deny", 40, "session_limit"
                    )
                )
        if (
            "max_cost_usd" in lim
            and (usd := r.money(lim["max_cost_usd"], ("limits", "max_cost_usd"))) is not None
        ):
            rules.append(
                BudgetLimit(
                    "limits.max_cost_usd", "session", usd, None, "deny", 50, "budget_exceeded"
                )
            )
    if "forbidden_tools" in top:
        tools = r.strings(top["forbidden_tools"], ("forbidden_tools",))
        rules.append(ListRule("forbidden_tools", "tool", "deny", tools, 80, "forbidden_action"))
    if "forbidden_paths" in top:
        paths = r.strings(top["forbidden_paths"], ("forbidden_paths",))
        rules.append(ListRule("forbidden_paths", "path", "deny", paths, 80, "scope_violation"))
    flags = (
        ("allow_network", "tool", NETWORK_TOOLS, "scope_violation"),
        ("allow_file_writes", "tool", FILE_WRITE_TOOLS, "forbidden_action"),
        ("allow_git_actions", "tool", GIT_TOOLS, "forbidden_action"),
        ("allow_sensitive_files", "path", SENSITIVE_PATHS, "scope_violation"),
    )
    for key, fld, patterns, cls in flags:
        if key in top and r.boolean(top[key], (key,)) is False:
            rules.append(ListRule(key, fld, "deny", patterns, 80, cls))  # type: ignore[arg-type]
            if key == "allow_git_actions":
                words = "shell commands must not run git"
                cond = Condition(
                    "allow_git_actions.shell", _GIT_COMMAND, SHELL_TOOLS, "deny", words, 80,
                    "forbidden_action",
                )  # fmt: skip
                rules.append(cond)
    if "forbidden_flows" in top:
        add_flows(top["forbidden_flows"], ("forbidden_flows",), r, rules, "forbidden_flows")
    if (
        "max_shell_commands" in top
        and (n := r.count(top["max_shell_commands"], ("max_shell_commands",))) is not None
    ):
        rules.append(
            CountLimit("max_shell_commands", n, None, SHELL_TOOLS, "deny", 30, "rate_limited")
        )
    version = top.get("version")
    return finish(r, rules, shape="tracegate", version=None if version is None else str(version))


def ptrace(data: dict[str, Any], r: Reader) -> Policy | None:
    """Normalize a ptrace policy."""
    top = r.mapping(data, (), PTRACE_KEYS)
    rules: list[Rule] = []
    if "expires_at" in top and (at := r.timestamp(top["expires_at"], ("expires_at",))):
        rules.append(Expiry("expires_at", at, 50, "expired"))
    allowed = (
        r.strings(top["allowed_actions"], ("allowed_actions",))
        if "allowed_actions" in top
        else None
    )
    denied = (
        r.strings(top["denied_actions"], ("denied_actions",)) if "denied_actions" in top else None
    )
    for both in sorted(set(allowed or ()) & set(denied or ())):
        r.problem(("denied_actions",), f"{both!r} is both allowed and denied")
    if denied:
        rules.append(ListRule("denied_actions", "action", "deny", denied, 80, "forbidden_action"))
    if allowed is not None:
        rules.append(
            ListRule("allowed_actions", "action", "allow", allowed, 60, "forbidden_action")
        )
    if "allowed_targets" in top:
        targets = r.strings(top["allowed_targets"], ("allowed_targets",))
        rules.append(ListRule("allowed_targets", "target", "allow", targets, 60, "scope_violation"))
    if "max_actions_per_hour" in top:
        n = r.count(top["max_actions_per_hour"], ("max_actions_per_hour",))
        if n is not None:
            rules.append(
                CountLimit("max_actions_per_hour", n, 3600, (), "deny", 30, "rate_limited")
            )
    version, agent = top.get("version"), top.get("agent_id")
    return finish(
        r,
        rules,
        shape="ptrace",
        version=None if version is None else str(version),
        agent_id=None if agent is None else str(agent),
    )
