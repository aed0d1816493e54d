"""What every story shares: a check mark printed for each claim it verifies."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

__all__ = ["check"]


def check(console: Console, ok: bool, text: str) -> bool:
    """Print ✓ or ✗ before ``text`` (escaped: it may hold user data) and return ``ok``."""
    mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
    console.print(f"  {mark} {escape(text)}", markup=True)
    return ok
