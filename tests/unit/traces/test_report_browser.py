"""The HTML report in a real headless browser: it renders, self-contained, as a person sees it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sealog.policy import compile_policy, load_policy
from sealog.traces import open_trace
from sealog.traces.analysis import TIMELINE, analyse
from sealog.traces.render import html_report

ASSETS = Path(__file__).parents[2] / "assets"
TRACE = ASSETS / "traces/claude_code/session_tools_denials_hooks.jsonl"
POLICY = ASSETS / "policies/tracegate/policy.yaml"
BROWSER = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)

pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium on this machine (apt-get install chromium) to render with"
)


def render(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    analysis = analyse(open_trace(TRACE), compile_policy(load_policy(POLICY)), timeline=TIMELINE)
    page = tmp_path / "report.html"
    page.write_text(html_report(analysis), encoding="utf-8")
    assert BROWSER is not None
    return subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", *args, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip


def test_the_browser_renders_the_verdict_violations_findings_and_timeline(tmp_path):
    """Chromium parses the page into the DOM we meant: verdict, violations, findings, timeline."""
    done = render(tmp_path, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert 'id="verdict"' in dom
    assert "FAIL — 1 violation(s)" in dom
    assert dom.count("<tr>") > 40  # header rows plus one per violation, finding and event
    assert "allow_network" in dom
    assert 'id="timeline"' in dom
    assert "<script" not in dom


def test_the_page_draws_without_the_network(tmp_path):
    """A screenshot is taken with networking off: nothing the page needs is fetched."""
    shot = tmp_path / "report.png"
    done = render(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600",
                  "--host-resolver-rules=MAP * ~NOTFOUND")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 20_000
