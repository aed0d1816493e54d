"""``sealog demo``: the seed stories, end to end, on a fresh embedded ledger.

Each story is a function that narrates to a console and returns whether every check it makes
held; the demo fails (exit 1) if any did not. Later features add their stories to ``STORIES``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from sealog.demo.daily_limit import daily_limit
from sealog.demo.forum import forum_agent
from sealog.demo.pii import pii_kill
from sealog.demo.pipeline import content_pipeline
from sealog.demo.platform import platform_check
from sealog.demo.trading import trading_dispute

__all__ = ["STORIES", "run_demo"]

Story = Callable[[Console, Path], bool]

STORIES: dict[str, Story] = {
    "trading-dispute": trading_dispute,
    "pii-kill": pii_kill,
    "daily-limit": daily_limit,
    "platform-check": platform_check,
    "forum-agent": forum_agent,
    "content-pipeline": content_pipeline,
}


def run_demo(console: Console, workdir: Path, only: str | None = None) -> bool:
    """Run every story (or the one named) in its own folder under ``workdir``."""
    ok = True
    for name, story in STORIES.items():
        if only is not None and name != only:
            continue
        folder = workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        ok = story(console, folder) and ok
    return ok
