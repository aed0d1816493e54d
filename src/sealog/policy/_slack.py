"""Slack Block Kit rendering of a notification: limits, escaping and safe truncation.

Slack rejects a whole message when one block breaks a limit, so every user-controlled string is
cut to fit *before* it is sent, never after. The limits are Slack's published Block Kit limits:
a header's ``plain_text`` holds at most 150 characters, a section at most 10 fields of at most
2,000 characters each, a section's text at most 3,000, a context block at most 10 elements.
Lengths are counted in UTF-16 code units (an emoji counts two), which is never less than what Slack
counts, so a cut string always fits. ``mrkdwn`` text escapes ``&``, ``<`` and ``>`` as Slack asks,
which also stops a reason such as ``<!channel>`` from pinging a whole channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CONTEXT_ELEMENTS_MAX",
    "FALLBACK_TEXT_MAX",
    "FIELDS_MAX",
    "FIELD_TEXT_MAX",
    "HEADER_TEXT_MAX",
    "SECTION_TEXT_MAX",
    "blocks_message",
    "clip",
    "mrkdwn",
]

HEADER_TEXT_MAX = 150
"""Slack: a header block's plain_text is at most 150 characters."""
FIELDS_MAX = 10
"""Slack: a section block holds at most 10 fields."""
FIELD_TEXT_MAX = 2000
"""Slack: each section field's text is at most 2,000 characters."""
SECTION_TEXT_MAX = 3000
"""Slack: a section block's text is at most 3,000 characters."""
CONTEXT_ELEMENTS_MAX = 10
"""Slack: a context block holds at most 10 elements."""
FALLBACK_TEXT_MAX = 3000
"""The top-level ``text`` fallback (notifications, screen readers); Slack advises staying short."""

_ELLIPSIS = "…"
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _units(char: str) -> int:
    """UTF-16 code units of one code point: what the strictest counter of length sees."""
    return 2 if ord(char) > 0xFFFF else 1  # noqa: PLR2004 - the BMP boundary


def _clean(char: str) -> str:
    """Replace control characters (other than newline) so they cannot garble a message."""
    if char == "\n":
        return char
    if ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:  # noqa: PLR2004 - C0 and C1 controls
        return " "
    return char


def _fit(text: str, limit: int, *, escape: bool) -> str:
    """Clean, optionally escape, and cut ``text`` to ``limit`` units, never inside an entity."""
    pieces = [_clean(c) for c in text]
    if escape:
        pieces = [_ESCAPES.get(p, p) for p in pieces]
    costs = [sum(_units(c) for c in p) for p in pieces]
    if sum(costs) <= limit:
        return "".join(pieces)
    budget = limit - _units(_ELLIPSIS)
    kept: list[str] = []
    for piece, cost in zip(pieces, costs, strict=True):
        if cost > budget:
            break
        kept.append(piece)
        budget -= cost
    return "".join(kept) + _ELLIPSIS


def clip(text: str, limit: int) -> str:
    """Plain text cut to ``limit`` (with an ellipsis when cut); for ``plain_text`` objects."""
    return _fit(text, limit, escape=False)


def mrkdwn(text: str, limit: int) -> str:
    """Text escaped for Slack ``mrkdwn`` and cut to ``limit`` after escaping."""
    return _fit(text, limit, escape=True)


def _field(label: str, value: str) -> dict[str, str]:
    """One section field: a bold label over its value, both escaped, within the field limit."""
    head = f"*{mrkdwn(label, 100)}*\n"
    return {"type": "mrkdwn", "text": head + mrkdwn(value, FIELD_TEXT_MAX - len(head))}


def blocks_message(
    *,
    title: str,
    summary: str,
    fields: Sequence[tuple[str, str]],
    context: Sequence[str],
) -> dict[str, Any]:
    """A Slack message: ``text`` fallback, then header, summary, fields and context blocks.

    Args:
        title: The header line (plain text; cut to 150 characters).
        summary: The reason in words (escaped mrkdwn; cut to 3,000 characters).
        fields: Label/value pairs. Past 10, the last slot says how many were left out, so
            the message stays valid; the full list travels in the machine-readable copy.
        context: Small print under the message (at most 10 elements).
    """
    shown = list(fields)
    if len(shown) > FIELDS_MAX:
        hidden = len(shown) - (FIELDS_MAX - 1)
        shown = [*shown[: FIELDS_MAX - 1], ("More", f"{hidden} more in the sealog payload")]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, HEADER_TEXT_MAX)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(summary, SECTION_TEXT_MAX)}},
    ]
    if shown:
        blocks.append({"type": "section", "fields": [_field(k, v) for k, v in shown]})
    if context:
        elements = [
            {"type": "mrkdwn", "text": mrkdwn(item, SECTION_TEXT_MAX)}
            for item in context[:CONTEXT_ELEMENTS_MAX]
        ]
        blocks.append({"type": "context", "elements": elements})
    return {"text": mrkdwn(f"{title}: {summary}", FALLBACK_TEXT_MAX), "blocks": blocks}
