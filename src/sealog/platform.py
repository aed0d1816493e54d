"""For platforms: let an agent act only if the log knows it and its record is good enough.

:func:`admit` (and :func:`aadmit`) ask sealog — embedded or remote, through the one client
interface — for the agent's track record and answer an :class:`Admission`: refused when the
address is not registered, is an owner rather than an agent, or scores below ``min_score``
(:func:`sealog.reports.reputation`). :class:`AgentGate` is the same check as ASGI middleware: it
reads the agent's address from a request header and answers ``401`` without one and ``403`` for
a refused agent, as RFC 9457 problem details, before the app sees the request.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from sealog.client import AsyncSealogClient, SealogClient
from sealog.crypto import is_address
from sealog.errors import NotFound
from sealog.service import AgentInfo

__all__ = ["DEFAULT_MIN_SCORE", "Admission", "AgentGate", "aadmit", "admit"]

DEFAULT_MIN_SCORE = 50
"""The reputation below which an agent is refused unless the platform says otherwise."""
_PROBLEMS = "https://sealog.dev/problems/"


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether an agent may act here, why, and its record when the log knows it."""

    allowed: bool
    address: str
    reason: str
    info: AgentInfo | None = None


def _refused(address: str, reason: str, info: AgentInfo | None = None) -> Admission:
    return Admission(allowed=False, address=address, reason=reason, info=info)


def _judge(address: str, info: AgentInfo | None, min_score: int) -> Admission:
    if info is None:
        return _refused(address, "not registered with sealog")
    if info.role != "agent":
        return _refused(address, "an owner key, not an agent", info)
    if info.reputation < min_score:
        return _refused(address, f"reputation {info.reputation} is below {min_score}", info)
    return Admission(
        allowed=True, address=address, reason=f"registered, reputation {info.reputation}",
        info=info,
    )  # fmt: skip


def admit(client: SealogClient, address: str, *, min_score: int = DEFAULT_MIN_SCORE) -> Admission:
    """Whether the agent at ``address`` may act (the client may be embedded or remote)."""
    if not is_address(address):
        return _refused(address, "not a sealog address")
    try:
        info = client.agent(address)
    except NotFound:
        info = None
    return _judge(address, info, min_score)


async def aadmit(
    client: AsyncSealogClient, address: str, *, min_score: int = DEFAULT_MIN_SCORE
) -> Admission:
    """See :func:`admit`."""
    if not is_address(address):
        return _refused(address, "not a sealog address")
    try:
        info = await client.agent(address)
    except NotFound:
        info = None
    return _judge(address, info, min_score)


class AgentGate:
    """ASGI middleware: only registered agents with a good enough record reach the app.

    The admitted agent's :class:`Admission` is put in ``scope["state"]["sealog_agent"]``. A
    decision is remembered for ``ttl`` seconds per address, so a busy platform does not ask
    sealog on every request.
    """

    def __init__(
        self,
        app: ASGIApp,
        client: AsyncSealogClient,
        *,
        min_score: int = DEFAULT_MIN_SCORE,
        header: str = "x-agent-address",
        ttl: float = 30.0,
    ) -> None:
        """Guard ``app``, asking ``client`` about the agent named in ``header``."""
        self.app, self.client, self.min_score = app, client, min_score
        self.header, self.ttl = header.lower().encode("latin-1"), ttl
        self._seen: dict[str, tuple[float, Admission]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse, or pass the request on with the admission in its state."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        address = dict(scope.get("headers", ())).get(self.header, b"").decode("latin-1")
        if not address:
            name = self.header.decode("latin-1")
            await _problem(send, 401, "agent-address-required",
                           f"say which agent acts in the {name} header")  # fmt: skip
            return
        admission = await self._admission(address.strip())
        if not admission.allowed:
            await _problem(send, 403, "agent-refused", f"{address}: {admission.reason}")
            return
        scope.setdefault("state", {})["sealog_agent"] = admission
        await self.app(scope, receive, send)

    async def _admission(self, address: str) -> Admission:
        now = time.monotonic()
        cached = self._seen.get(address)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        found = await aadmit(self.client, address, min_score=self.min_score)
        if len(self._seen) > 10_000:  # noqa: PLR2004 - a bound, not a tuning knob
            self._seen.clear()
        self._seen[address] = (now, found)
        return found


async def _problem(send: Send, status: int, code: str, detail: str) -> None:
    body: dict[str, Any] = {"type": _PROBLEMS + code, "title": code.replace("-", " ").capitalize(),
                            "status": status, "detail": detail}  # fmt: skip
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/problem+json"),
               (b"content-length", str(len(data)).encode())]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
