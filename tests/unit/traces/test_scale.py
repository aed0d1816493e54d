"""Streaming holds: inspect's memory does not grow with the run (measured in a child process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

KINDS = (
    {"type": "tool_call", "tool": "Bash", "input": {"command": "ls -la src"}, "status": "ok"},
    {"type": "tool_call", "tool": "Read", "input": {"file_path": "README.md"}, "output": "# x"},
    {"type": "tool_call", "tool": "WebFetch", "input": {"url": "https://docs.example/p"},
     "output": "page text with a token-abcdefghijkl in it"},
    {"type": "tool_call", "tool": "Write", "input": {"file_path": "out.txt", "content": "y"}},
)  # fmt: skip


def write_trace(path: Path, events: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(events):
            event = dict(KINDS[i % len(KINDS)], timestamp=f"2026-11-21T09:{i // 60 % 60:02d}:"
                         f"{i % 60:02d}Z", id=f"e{i}")  # fmt: skip
            out.write(json.dumps(event) + "\n")


def peak_rss_kb(path: Path) -> int:
    code = (
        "import resource, sys\n"
        "from sealog.cli import main\n"
        f"code = main(['inspect', {str(path)!r}, '--json'])\n"
        "sys.stderr.write(f'RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}')\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stderr.rsplit("RSS ", 1)[-1])


def test_inspect_memory_stays_flat_as_the_run_grows(tmp_path):
    """Four times the events (15k → 60k) add under 8 MB of peak RSS: nothing is kept per event."""
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    write_trace(small, 15_000)
    write_trace(large, 60_000)
    growth_kb = peak_rss_kb(large) - peak_rss_kb(small)
    assert growth_kb < 8 * 1024, f"peak RSS grew {growth_kb} KB for 45,000 more events"
