"""The demo stories after the first: the PII kill, the daily limit, the forum, the pipeline."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from typer.testing import CliRunner

from sealog.cli import app
from sealog.demo import STORIES
from sealog.demo.daily_limit import daily_limit
from sealog.demo.forum import forum_agent
from sealog.demo.pii import pii_kill
from sealog.demo.pipeline import content_pipeline
from sealog.demo.platform import platform_check


def _console() -> tuple[Console, io.StringIO]:
    text = io.StringIO()
    return Console(file=text, width=200, color_system=None, highlight=False), text


def test_pii_kill_story_holds(tmp_path):
    """Three blocked PII leaks kill the session and a verified webhook names the rule and kill."""
    console, text = _console()
    assert pii_kill(console, tmp_path) is True
    out = text.getvalue()
    assert "(violation 3 of 3)" in out
    assert "the session is killed" in out
    assert "refused: post_reply refused, session killed (session.killed)" in out
    assert "Session killed: sl1" in out
    assert "rule violations.pii_blocked, session support-T-1042" in out
    assert "✗" not in out


def test_pii_kill_webhook_reaches_loopback_past_a_configured_proxy(tmp_path, monkeypatch):
    """A proxy in the environment never catches a webhook to a loopback receiver."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert pii_kill(_console()[0], tmp_path) is True


def test_daily_limit_story_holds(tmp_path):
    """Transfers pass up to $1,000 a day, one over it is denied, and a day on one passes again."""
    console, text = _console()
    assert daily_limit(console, tmp_path) is True
    out = text.getvalue()
    assert "transfer $500: allowed — Amount $500 within $1,000 daily limit" in out
    assert (
        "transfer $400: deny by aggregates[0] — Amount $400 over $1,000 daily limit"
        " ($800 already used)" in out
    )
    assert "transfer $200: allowed — Amount $200 within $1,000 daily limit" in out
    assert "Tue 10:00  transfer $450: allowed" in out
    assert "✗" not in out


def test_forum_agent_story_holds(tmp_path):
    """The refusal is sealed; the unlogged reply is corroborated by the gap; the owner owns up."""
    console, text = _console()
    assert forum_agent(console, tmp_path) is True
    out = text.getvalue()
    assert "share_pricing → deny by actions.denied" in out
    assert "the agent's chain says: not-logged" in out
    assert "track record: 1 report, 1 denied action, reputation 82" in out
    assert "✗" not in out


def test_content_pipeline_story_holds(tmp_path):
    """The article's lineage runs back to the research; the 73% is traced to the draft."""
    console, text = _console()
    assert content_pipeline(console, tmp_path) is True
    out = text.getvalue()
    assert "diverged at draft: 73% in none of its sources" in out
    assert "✗" not in out


def test_new_stories_are_registered_after_trading():
    """`sealog demo` runs the PII kill and the daily limit after the trading dispute."""
    assert list(STORIES)[:3] == ["trading-dispute", "pii-kill", "daily-limit"]


@pytest.mark.parametrize("story", ["pii-kill", "daily-limit"])
def test_demo_cli_runs_one_story(story, tmp_path):
    """`sealog demo --story NAME` exits 0 with every check held."""
    result = CliRunner().invoke(app, ["demo", "--story", story, "--keep", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "every check held" in result.output
    assert (tmp_path / story / ".sealog").is_dir()


def test_platform_story_holds(tmp_path):
    """Over real HTTP, an unregistered agent is refused (404) and a registered one verifies."""
    console, text = _console()
    assert platform_check(console, tmp_path) is True
    out = text.getvalue()
    assert "→ 404" in out
    assert "its chain verifies: 5 entries, intact and complete" in out
    assert "✗" not in out
