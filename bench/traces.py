"""Forensics at scale: inspect and guard a million-event trace in flat memory and linear time.

A Codex rollout is synthesized by repeating the real fixture's body (``tests/assets/traces/
codex/workspace_write.jsonl``) with fresh call ids and advancing times, until the adapter yields
the target number of events. ``sealog inspect --json`` and ``sealog guard`` (the tracegate policy
of the tests) then run on it in child processes, whose peak RSS is read from the kernel.

The limit, measured in the same run on the same file, is the unavoidable work: reading every line
and ``json.loads`` of it, in one process. The ratio says what classification, the findings and
the policy cost on top. Linearity: the same measurement at a quarter of the size.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench._common import OUT, Figure, Result, log

FIXTURE = Path(__file__).resolve().parents[1] / "tests/assets/traces/codex/workspace_write.jsonl"
POLICY = Path(__file__).resolve().parents[1] / "tests/assets/policies/tracegate/policy.yaml"
TARGET_EVENTS = 1_000_000
TARGET_RSS_MB = 300.0


def synthesize(path: Path, events: int) -> int:
    """Write a Codex rollout of at least ``events`` events; the number of lines written."""
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    head = [ln for ln in lines if json.loads(ln)["type"] == "session_meta"][:1]
    body = [ln for ln in lines if json.loads(ln)["type"] != "session_meta"]
    per = _events_per_body(body, head)
    rounds = -(-events // per)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for line in head:
            out.write(line + "\n")
            written += 1
        for r in range(rounds):
            day, hour, minute = 1 + (r // 1440) % 28, (r // 60) % 24, r % 60
            stamp = f"2026-11-{day:02d}T{hour:02d}:{minute:02d}"
            for line in body:
                text = line.replace('"call_', f'"c{r}_').replace("2026-11-21T20:04", stamp)
                out.write(text + "\n")
                written += 1
    return written


def _events_per_body(body: list[str], head: list[str]) -> int:
    probe = OUT / "tmp" / "trace-probe.jsonl"
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_text("\n".join(head + body) + "\n", encoding="utf-8")
    from sealog.traces import open_trace  # noqa: PLC0415 - only when the bench runs

    trace = open_trace(probe)
    count = sum(1 for _ in trace)
    probe.unlink()
    return count


def _child(code: str) -> tuple[float, float]:
    """Run ``code`` in a fresh interpreter: (seconds, its own peak RSS in MB)."""
    wrapped = (
        "import resource, sys\ntry:\n"
        + "".join(f"    {line}\n" for line in code.splitlines())
        + "finally:\n"
        + "    sys.stderr.write(f'RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}')\n"
    )
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", wrapped], check=False, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    rss = int(done.stderr.rsplit("RSS ", 1)[-1]) / 1024
    return elapsed, rss


def _measure(path: Path) -> dict[str, tuple[float, float]]:
    parse = (
        f"import json\nwith open({str(path)!r}, 'rb') as f:\n    for line in f: json.loads(line)\n"
    )
    inspect = f"from sealog.cli import main; main(['inspect', {str(path)!r}, '--json'])"
    guard = (
        f"from sealog.cli import main; main(['guard', {str(path)!r}, {str(POLICY)!r}, '--json'])"
    )
    return {
        name: _child(code)
        for name, code in (("parse", parse), ("inspect", inspect), ("guard", guard))
    }


def run(*, quick: bool = False, profile: bool = False, reps: int = 1) -> Result:  # noqa: ARG001
    """Inspect and guard at full and quarter size; time against bare parsing, peak RSS."""
    result = Result("traces")
    target = 50_000 if quick else TARGET_EVENTS
    folder = OUT / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    figures: dict[int, dict[str, tuple[float, float]]] = {}
    for size in (target // 4, target):
        path = folder / f"codex-{size}.jsonl"
        lines = synthesize(path, size)
        log(f"traces: {size:,} events in {lines:,} lines ({path.stat().st_size / 1e6:,.0f} MB)")
        figures[size] = _measure(path)
        for name, (secs, rss) in figures[size].items():
            log(f"traces: {size:,} {name}: {secs:.1f} s, peak RSS {rss:,.0f} MB")
        path.unlink()
    full, quarter = figures[target], figures[target // 4]
    for name in ("inspect", "guard"):
        secs, rss = full[name]
        result.figures.append(Figure(
            "traces", f"{name}, {target:,} events", target / secs, "events/s",
            limit=target / full["parse"][0], limit_unit="events/s (read + json.loads only)",
            ratio=secs / full["parse"][0],
        ))  # fmt: skip
        result.figures.append(Figure(
            "traces", f"{name} peak RSS, {target:,} events", rss, "MB",
            target=f"≤ {TARGET_RSS_MB:.0f} MB", passed=rss <= TARGET_RSS_MB,
        ))  # fmt: skip
        growth = secs / quarter[name][0]
        result.figures.append(Figure(
            "traces", f"{name} time, 4× the events", growth, "× (linear: 4)",
        ))  # fmt: skip
    return result
