"""What the gate tests share: fixed keys, a clock that moves when told, a recording notifier."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sealog.crypto import SigningKey
from sealog.policy.notify import Notification, Notifier

OWNER = SigningKey(bytes([1]) * 32)
AGENT = SigningKey(bytes([3]) * 32)
HELPER = SigningKey(bytes([4]) * 32)
"""A second agent of the same owner: a sub-agent with its own key and policy."""
STRANGER = SigningKey(bytes([9]) * 32)
"""Never registered."""


class Clock:
    """A clock that moves only when told, so windows and times are deterministic."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Recorder(Notifier):
    """A notifier with no webhooks that keeps every notification it is handed, and where."""

    def __init__(self) -> None:
        super().__init__([])
        self.sent: list[Notification] = []
        self.threads: list[int] = []

    def notify(self, notification: Notification) -> None:
        self.sent.append(notification)
        self.threads.append(threading.get_ident())

    def events(self) -> list[tuple[str, str | None]]:
        """(event, rule_id) of each notification, in order."""
        return [(n.event, n.rule_id) for n in self.sent]
