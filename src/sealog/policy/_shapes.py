"""Helpers shared by the shape builders: finishing a policy, CEL checks, flows, common sections.

The native (:mod:`sealog.policy._native`) and foreign (:mod:`sealog.policy._foreign`) builders
both end in :func:`finish`, which refuses a policy that states no rule: an empty policy never
silently allows everything.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cel

from sealog.policy._reader import KeyPath, Reader
from sealog.policy.model import AuditExport, FlowRule, KillSwitch, Policy, Rule

__all__ = [
    "add_flows",
    "audit",
    "check_cel",
    "finish",
    "items",
    "kill_switch",
    "meta",
    "overrides",
]


def finish(r: Reader, rules: list[Rule], **kwargs: Any) -> Policy | None:
    """Wrap rules into a Policy, refusing a policy that states no rule at all."""
    if r.problems:
        return None
    if not rules:
        r.problem((), "policy states no rules; to allow everything say so: actions: {allow: ['*']}")
        return None
    return Policy(rules=tuple(rules), source=r.source, **kwargs)


def check_cel(expression: str, path: KeyPath, r: Reader) -> None:
    """Record a problem if ``expression`` does not compile as CEL."""
    try:
        cel.compile(expression)
    except (ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        r.problem(path, f"CEL does not compile: {first}")


def add_flows(value: Any, path: KeyPath, r: Reader, rules: list[Rule], prefix: str) -> None:
    """Flow rules from ``"Source->Sink"`` strings or ``{from: Source, to: Sink}`` mappings."""
    if not isinstance(value, list):
        r.problem(path, "expected a list of flows such as 'WebFetch->Shell'")
        return
    for i, item in enumerate(value):
        source = sink = ""
        if isinstance(item, str) and "->" in item:
            source, _, sink = (part.strip() for part in item.partition("->"))
        elif isinstance(item, dict) and set(item) == {"from", "to"}:
            source, sink = str(item["from"]).strip(), str(item["to"]).strip()
        if not source or not sink:
            r.problem((*path, i), f"expected 'Source->Sink' or {{from, to}}, got {item!r}")
            continue
        rules.append(FlowRule(f"{prefix}[{i}]", source, sink, 90, "data_flow"))


def items(value: Any, key: str, r: Reader) -> list[tuple[KeyPath, Any]]:
    """The entries of a top-level list with their paths."""
    if value is None:
        return []
    if not isinstance(value, list):
        r.problem((key,), "expected a list")
        return []
    return [((key, i), item) for i, item in enumerate(value)]


def meta(m: dict[str, Any], path: KeyPath, r: Reader, risk: int, cls: str) -> tuple[int, str]:
    """A rule entry's own ``risk`` and ``class`` (or the kind's defaults)."""
    weight = r.risk(m["risk"], (*path, "risk")) if "risk" in m else risk
    slug = r.string(m["class"], (*path, "class")) if "class" in m else cls
    return (weight if weight is not None else risk), (slug or cls)


def overrides(value: Any, r: Reader, rules: list[Rule]) -> list[Rule]:
    """``overrides: {actions.denied: {risk: 95, class: forbidden_action}}``."""
    if value is None:
        return rules
    ids = [rule.rule_id for rule in rules]
    table = r.mapping(value, ("overrides",), ids)
    out = []
    for rule in rules:
        if rule.rule_id in table:
            path = ("overrides", rule.rule_id)
            m = r.mapping(table[rule.rule_id], path, ("risk", "class"))
            risk, cls = meta(m, path, r, rule.risk, rule.decision_class)
            rule = replace(rule, risk=risk, decision_class=cls)  # noqa: PLW2901
        out.append(rule)
    return out


def kill_switch(value: Any, r: Reader) -> KillSwitch | None:
    """``kill_switch: {enabled, notify: [{webhook: url}], grace_period: 5s}``."""
    if value is None:
        return None
    m = r.mapping(value, ("kill_switch",), ("enabled", "notify", "grace_period"))
    hooks = []
    notify = m.get("notify", [])
    for i, item in enumerate(notify if isinstance(notify, list) else []):
        entry = r.mapping(item, ("kill_switch", "notify", i), ("webhook", "pagerduty"))
        if "webhook" in entry and (
            url := r.string(entry["webhook"], ("kill_switch", "notify", i, "webhook"))
        ):
            hooks.append(url)
    if not isinstance(notify, list):
        r.problem(("kill_switch", "notify"), "expected a list of {webhook: url}")
    grace = r.duration(m.get("grace_period", 0), ("kill_switch", "grace_period"))
    enabled = r.boolean(m.get("enabled", True), ("kill_switch", "enabled"))
    return KillSwitch(tuple(hooks), grace or 0, bool(enabled))


def audit(value: Any, r: Reader) -> AuditExport | None:
    """``audit: {export: path.jsonl}`` or AgentTrace's ``export: [{file: ...}, {otel: ...}]``."""
    if value is None:
        return None
    m = r.mapping(value, ("audit",), ("enabled", "include", "export"))
    if r.boolean(m.get("enabled", True), ("audit", "enabled")) is False:
        return None
    export, path, otel = m.get("export"), None, None
    if isinstance(export, str):
        path = export
    elif isinstance(export, list):
        for i, item in enumerate(export):
            entry = r.mapping(item, ("audit", "export", i), ("file", "otel"))
            path = path or entry.get("file")
            otel = otel or entry.get("otel")
    elif export is not None:
        r.problem(("audit", "export"), "expected a file path or a list of {file: path}")
    include = r.strings(m["include"], ("audit", "include")) if "include" in m else ()
    return AuditExport(path, otel, include)
