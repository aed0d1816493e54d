"""How an analysis is shown: rich text, sanitized JSON, SARIF 2.1.0, GitHub annotations, HTML.

The JSON forms are sanitized by default: figures, titles and locations only — no raw payloads,
no command text, no evidence (``include_raw`` adds the evidence and the first events as the
adapters read them, for a forensic export). The HTML page is for a person to read: one
self-contained file (no script, no network), every text escaped, every secret a detector
recognizes masked.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sealog import __version__
from sealog.traces.analysis import Analysis
from sealog.traces.events import Event
from sealog.traces.findings import SEVERITIES, Finding, mask_secrets
from sealog.traces.guard import Violation

__all__ = [
    "event_json",
    "github",
    "html_report",
    "inspect_json",
    "inspect_text",
    "sarif",
    "verdict_text",
]

_SHOWN = 50
"""Violations a terminal lists one by one (all are counted, JSON and SARIF list up to 10,000)."""
_COLOUR = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
_SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note",
                "info": "note"}  # fmt: skip
_CATEGORIES = (
    ("read files", "file_reads"),
    ("wrote files", "file_writes"),
    ("ran shell commands", "shell_commands"),
    ("fetched from the network", "network_fetches"),
    ("took git/GitHub actions", "git_actions"),
)


def _run(analysis: Analysis) -> dict[str, Any]:
    run = analysis.trace.run
    return {
        "format": run.format,
        "file": str(analysis.trace.path),
        "agent": run.agent,
        "run_id": run.run_id,
        "tool_version": run.tool_version,
        "model": run.model,
        "started": run.started or analysis.summary.first,
        "ended": run.ended or analysis.summary.last,
        "sandbox": run.sandbox,
        "approval": run.approval,
        "recorded_cost_usd": None if run.cost is None else str(run.cost),
    }


def _input(analysis: Analysis) -> dict[str, Any]:
    trace = analysis.trace
    return {
        "malformed_lines": trace.malformed,
        "problems": [str(p) for p in trace.problems],
        "unknown_records": sum(trace.unknown.values()),
        "unknown_by_type": dict(trace.unknown.most_common()),
    }


def inspect_json(analysis: Analysis, *, include_raw: bool = False) -> dict[str, Any]:
    """The inspection as JSON: run, figures, findings (sanitized unless ``include_raw``)."""
    figures = analysis.summary.to_dict(analysis.trace.run)
    counts = Counter(f.severity for f in analysis.findings)
    out: dict[str, Any] = {
        "run": _run(analysis),
        "figures": figures,
        "access": [label for label, key in _CATEGORIES if figures[key]],
        "findings": [f.to_dict(include_evidence=include_raw) for f in analysis.findings],
        "findings_by_severity": {s: counts[s] for s in SEVERITIES},
        "findings_not_listed": analysis.findings.dropped,
        "input": _input(analysis),
    }
    if analysis.guard is not None:
        out["guard"] = _guard_json(analysis)
    if include_raw:
        out["events"] = [event_json(e) for e in analysis.timeline]
    return out


def _guard_json(analysis: Analysis) -> dict[str, Any]:
    guard = analysis.guard
    assert guard is not None
    return {
        "passed": analysis.passed,
        "policy_hash": guard.policy.policy_hash,
        "checked_events": guard.checked,
        "blocked_attempts": guard.blocked_attempts,
        "killed_at_event": guard.killed_at,
        "violation_count": guard.total,
        "violations_by_rule": dict(guard.by_rule.most_common()),
        "violations": [v.to_dict() for v in analysis.violations],
    }


def event_json(event: Event) -> dict[str, Any]:
    """One event as ``sealog import --out`` writes it (every field it has)."""
    out: dict[str, Any] = {"index": event.index, "kind": event.kind}
    for name in ("time", "actor", "role", "tool", "call_id", "status", "exit_code", "command",
                 "url", "model", "decision", "reason", "text", "result"):  # fmt: skip
        value = getattr(event, name)
        if value is not None:
            out[name] = value
    if event.paths:
        out["paths"] = list(event.paths)
    if event.args is not None:
        out["args"] = event.args
    if event.usage is not None:
        u = event.usage
        out["usage"] = {"provider": u.provider, "model": u.model, "input_tokens": u.input_tokens,
                        "output_tokens": u.output_tokens, "cache_read_tokens": u.cache_read_tokens,
                        "cache_write_tokens": u.cache_write_tokens}  # fmt: skip
    if event.cost is not None:
        out["cost"] = str(event.cost)
    if event.source is not None:
        out["source"] = {"line": event.source.line, "record": event.source.record}
    if event.raw is not None:
        out["raw"] = event.raw
    return out


# -- text -------------------------------------------------------------------------------------


def inspect_text(analysis: Analysis, console: Console) -> None:
    """The inspection for a terminal."""
    run, fig = _run(analysis), analysis.summary.to_dict(analysis.trace.run)
    console.print(f"[bold]{escape(run['file'])}[/bold]  ({run['format']})")
    for label in ("agent", "run_id", "tool_version", "model", "sandbox", "approval"):
        if run[label]:
            console.print(f"  {label.replace('_', ' ')}: {escape(str(run[label]))}")
    duration = fig["duration_seconds"]
    when = f"{run['started']} → {run['ended']}" if run["started"] else "no timestamps"
    took = f" ({duration:.1f} s)" if duration is not None else ""
    console.print(f"  time: {when}{took}")
    table = Table(show_header=False, box=None, padding=(0, 2))
    for label, key in (("events", "events"), ("shell commands", "shell_commands"),
                       ("file reads", "file_reads"), ("file writes/edits", "file_writes"),
                       ("network fetches", "network_fetches"), ("git/GitHub actions",
                       "git_actions"), ("tool calls", "tool_calls"),
                       ("model calls", "model_calls")):  # fmt: skip
        table.add_row(label, str(fig[key]))
    cost = fig["cost_usd"]
    table.add_row("cost", f"${cost} ({fig['cost_basis']})" if cost else fig["cost_basis"])
    tokens = fig["tokens"]
    table.add_row("tokens", f"{tokens['input']:,} in, {tokens['output']:,} out, "
                            f"{tokens['cache_read']:,} cache read")  # fmt: skip
    console.print(table)
    access = [label for label, key in _CATEGORIES if fig[key]]
    console.print(f"  observed access: {', '.join(access) if access else 'none'}")
    if fig["tools"]:
        tools = ", ".join(f"{escape(k)} ×{v}" for k, v in list(fig["tools"].items())[:12])
        console.print(f"  tools: {tools}")
    touched = fig["files_written"] + [p for p in fig["files_read"] if p not in fig["files_written"]]
    if touched:
        shown = ", ".join(escape(p) for p in touched[:10])
        more = f" (+{len(touched) - 10} more)" if len(touched) > 10 else ""  # noqa: PLR2004
        console.print(f"  files touched: {shown}{more}")
    _input_text(analysis, console)
    _findings_text(list(analysis.findings), console, analysis.findings.dropped)


def _input_text(analysis: Analysis, console: Console) -> None:
    trace = analysis.trace
    if trace.malformed:
        console.print(f"[yellow]  {trace.malformed} malformed line(s) skipped[/yellow]")
        for problem in trace.problems[:5]:
            console.print(f"    {escape(str(problem))}")
    unknown = sum(trace.unknown.values())
    if unknown:
        kinds = ", ".join(f"{escape(k)} ×{v}" for k, v in trace.unknown.most_common(5))
        console.print(f"  {unknown} record(s) not classified: {kinds}")


def _findings_text(findings: list[Finding], console: Console, dropped: int) -> None:
    if not findings:
        console.print("[green]  no findings[/green]")
        return
    console.print(f"[bold]  findings ({len(findings) + dropped})[/bold]")
    order = {s: i for i, s in enumerate(SEVERITIES)}
    for f in sorted(findings, key=lambda f: (order[f.severity], f.index)):
        colour = _COLOUR[f.severity]
        where = f"event {f.index}" + (f", line {f.line}" if f.line else "")
        console.print(
            f"  [{colour}]{f.severity:<8}[/{colour}] {escape(f.title)}  [dim]({where})[/dim]"
        )
        console.print(f"           [dim]{escape(mask_secrets(f.evidence))}[/dim]")


def verdict_text(analysis: Analysis, console: Console) -> None:
    """The guard's verdict for a terminal: PASS or FAIL with every violation located."""
    guard = analysis.guard
    assert guard is not None
    if analysis.passed:
        console.print(f"[bold green]PASS[/bold green]  {guard.checked} events checked, "
                      "no violation")  # fmt: skip
    else:
        console.print(f"[bold red]FAIL[/bold red]  {guard.total} violation(s) in "
                      f"{guard.checked} events checked")  # fmt: skip
        for v in analysis.violations[:_SHOWN]:
            where = (
                "the run"
                if v.index < 0
                else f"event {v.index}" + (f", line {v.line}" if v.line else "")
            )
            console.print(f"  [red]{v.outcome}[/red] {escape(v.rule_id)}: {escape(v.detail)}  "
                          f"[dim]({escape(v.action)}, {where})[/dim]")  # fmt: skip
    if guard.total > _SHOWN:
        rules = ", ".join(f"{escape(r)} ×{n}" for r, n in guard.by_rule.most_common())
        console.print(f"  … {guard.total - _SHOWN} more; by rule: {rules}")
    if guard.killed_at is not None:
        console.print(f"  the live gate would have killed the run at event {guard.killed_at}")
    if guard.blocked_attempts:
        console.print(f"  {guard.blocked_attempts} attempt(s) refused by the run's own harness")


# -- CI formats -------------------------------------------------------------------------------


def sarif(analysis: Analysis) -> dict[str, Any]:
    """SARIF 2.1.0: the policy's violations as errors, the findings by severity."""
    uri = str(analysis.trace.path)
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []

    def location(line: int | None) -> list[dict[str, Any]]:
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
        if line:
            physical["region"] = {"startLine": line}
        return [{"physicalLocation": physical}]

    for v in analysis.violations:
        rid = f"policy/{v.rule_id}"
        rules.setdefault(rid, {"id": rid, "name": v.rule_id,
                               "shortDescription": {"text": f"policy rule {v.rule_id}"},
                               "defaultConfiguration": {"level": "error"}})  # fmt: skip
        results.append({"ruleId": rid, "level": "error",
                        "message": {"text": f"{v.outcome}: {v.detail} ({v.action})"},
                        "locations": location(v.line),
                        "properties": {"event": v.index}})  # fmt: skip
    for f in analysis.findings:
        rid = f"finding/{f.rule}"
        level = _SARIF_LEVEL[f.severity]
        rules.setdefault(rid, {"id": rid, "name": f.rule,
                               "shortDescription": {"text": f.rule.replace("-", " ")},
                               "defaultConfiguration": {"level": level}})  # fmt: skip
        results.append({"ruleId": rid, "level": _SARIF_LEVEL[f.severity],
                        "message": {"text": f.title},
                        "locations": location(f.line),
                        "properties": {"event": f.index, "severity": f.severity}})  # fmt: skip
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "sealog", "version": __version__,
                                "informationUri": "https://sealog.dev/",
                                "rules": list(rules.values())}},
            "results": results,
            "invocations": [{"executionSuccessful": True}],
        }],
    }  # fmt: skip


def _gh(text: str, *, prop: bool = False) -> str:
    out = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        out = out.replace(":", "%3A").replace(",", "%2C")
    return out


def github(analysis: Analysis) -> list[str]:
    """GitHub Actions workflow commands, one per line.

    An ``::error`` per violation, a ``::warning`` per high or critical finding, a ``::notice``
    for the others.
    """
    path = _gh(str(analysis.trace.path), prop=True)
    lines = []
    for v in analysis.violations:
        where = f"file={path}" + (f",line={v.line}" if v.line else "")
        title = _gh(f"sealog policy: {v.rule_id}", prop=True)
        lines.append(f"::error {where},title={title}::{_gh(f'{v.outcome}: {v.detail}')}")
    for f in analysis.findings:
        level = {"error": "warning", "warning": "warning", "note": "notice"}[
            _SARIF_LEVEL[f.severity]
        ]
        where = f"file={path}" + (f",line={f.line}" if f.line else "")
        title = _gh(f"sealog {f.severity}: {f.rule}", prop=True)
        lines.append(f"::{level} {where},title={title}::{_gh(f.title)}")
    return lines


# -- HTML -------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d2330;
background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:20px 32px}header h1{margin:0 0 4px;font-size:20px}
header .meta{opacity:.8;font-size:13px}main{padding:20px 32px;max-width:1200px}
.verdict{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:700;margin-top:8px}
.pass{background:#1f8a4c}.fail{background:#c0392b}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e7}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{background:#eef0f3;font-weight:600}
code{font:12px ui-monospace,Menlo,monospace;word-break:break-all}
.sev{font-weight:700;text-transform:uppercase;font-size:11px}
.critical,.high{color:#c0392b}.medium{color:#b9770e}.low{color:#2874a6}.info{color:#777}
.k-shell{color:#8e44ad}.k-network_fetch{color:#c0392b}.k-file_write,.k-file_edit{color:#b9770e}
.denied{color:#c0392b}.muted{color:#777}
"""


def _e(value: object) -> str:
    return html.escape(mask_secrets(str(value)))


def _what(event: Event) -> str:  # noqa: PLR0911 - one line per kind
    if event.kind == "shell":
        return event.command or ""
    if event.kind == "network_fetch":
        return event.url or ""
    if event.paths:
        return ", ".join(event.paths)
    if event.kind == "model_call":
        tokens = (
            ""
            if event.usage is None
            else (f" {event.usage.input_tokens} in / {event.usage.output_tokens} out")
        )
        return f"{event.model or ''}{tokens}"
    if event.kind == "message":
        return f"{event.role or ''}: {event.text or ''}"
    if event.kind in {"permission", "hook"}:
        return f"{event.decision or ''} {event.tool or ''} {event.reason or ''}"
    return event.text or ""


def html_report(analysis: Analysis) -> str:
    """One self-contained HTML page: verdict, figures, findings, violations, timeline."""
    run, fig = _run(analysis), analysis.summary.to_dict(analysis.trace.run)
    head = (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>sealog report — {_e(run['agent'] or run['file'])}</title>"
            f"<style>{_CSS}</style></head><body><header>"
            f"<h1>Run report: {_e(run['agent'] or run['format'])}</h1>"
            f"<div class=meta>{_e(run['file'])} · {_e(run['format'])}"
            f"{' · ' + _e(run['tool_version']) if run['tool_version'] else ''}"
            f"{' · run ' + _e(run['run_id']) if run['run_id'] else ''}</div>")  # fmt: skip
    parts = [head]
    if analysis.guard is not None:
        ok = analysis.passed
        word, n = ("PASS" if ok else "FAIL"), analysis.guard.total
        parts.append(f"<div class='verdict {'pass' if ok else 'fail'}' id=verdict>"
                     f"{word} — {n} violation(s)</div>")  # fmt: skip
    parts.append("</header><main><div class=cards>")
    cost = f"${fig['cost_usd']}" if fig["cost_usd"] else "unknown"
    for label, value in (("events", fig["events"]), ("shell commands", fig["shell_commands"]),
                         ("file reads", fig["file_reads"]), ("file writes", fig["file_writes"]),
                         ("network fetches", fig["network_fetches"]),
                         ("git actions", fig["git_actions"]), ("model calls", fig["model_calls"]),
                         ("cost", f"{cost} ({fig['cost_basis']})"),
                         ("findings", len(analysis.findings.found))):  # fmt: skip
        parts.append(f"<div class=card><b>{_e(value)}</b>{_e(label)}</div>")
    parts.append("</div>")
    if analysis.guard is not None:
        parts.append(_violations_html(analysis.violations))
    parts.append(_findings_html(list(analysis.findings)))
    parts.append(_timeline_html(analysis))
    parts.append(
        f"<p class=muted>Made by sealog {__version__}. Times are UTC.</p></main></body></html>"
    )
    return "".join(parts)


def _violations_html(violations: list[Violation]) -> str:
    if not violations:
        return "<h2>Policy violations</h2><p id=violations>None.</p>"
    rows = "".join(
        f"<tr><td>{'run' if v.index < 0 else v.index}</td><td class=denied>{_e(v.outcome)}</td>"
        f"<td><code>{_e(v.rule_id)}</code></td><td>{_e(v.action)}</td><td>{_e(v.detail)}</td></tr>"
        for v in violations
    )
    return (f"<h2>Policy violations</h2><table id=violations><tr><th>event</th><th>outcome</th>"
            f"<th>rule</th><th>action</th><th>detail</th></tr>{rows}</table>")  # fmt: skip


def _findings_html(findings: list[Finding]) -> str:
    if not findings:
        return "<h2>Findings</h2><p id=findings>None.</p>"
    order = {s: i for i, s in enumerate(SEVERITIES)}
    rows = "".join(
        f"<tr><td>{f.index}</td><td class='sev {f.severity}'>{f.severity}</td>"
        f"<td>{_e(f.title)}{'' if f.source is None else f' (from event {f.source})'}</td>"
        f"<td><code>{_e(f.evidence)}</code></td></tr>"
        for f in sorted(findings, key=lambda f: (order[f.severity], f.index))
    )
    return (f"<h2>Findings</h2><table id=findings><tr><th>event</th><th>severity</th>"
            f"<th>what</th><th>evidence</th></tr>{rows}</table>")  # fmt: skip


def _timeline_html(analysis: Analysis) -> str:
    flagged = {f.index for f in analysis.findings} | {v.index for v in analysis.violations}
    rows = []
    for e in analysis.timeline:
        mark = " ⚑" if e.index in flagged else ""
        status = (
            f" <span class=denied>{_e(e.status)}</span>"
            if e.status == "denied"
            else (f" <span class=muted>{_e(e.status)}</span>" if e.status else "")
        )
        rows.append(
            f"<tr><td>{e.index}{mark}</td><td class=muted>{_e((e.time or '')[11:23])}</td>"
            f"<td class='k-{e.kind}'>{_e(e.kind)}</td><td>{_e(e.tool or '')}{status}</td>"
            f"<td><code>{_e(_what(e)[:300])}</code></td></tr>"
        )
    more = analysis.summary.events - len(analysis.timeline)
    tail = f"<p class=muted>{more} later events not shown.</p>" if more > 0 else ""
    return (f"<h2>Timeline</h2><table id=timeline><tr><th>#</th><th>time</th><th>kind</th>"
            f"<th>tool</th><th>what</th></tr>{''.join(rows)}</table>{tail}")  # fmt: skip
