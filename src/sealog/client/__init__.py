"""The client SDK: one interface to sealog, embedded (in process) or remote (over HTTP).

* :class:`SealogClient` — the interface (a :class:`typing.Protocol`): ``register``,
  ``set_policy``, ``log_action`` (the seed call: ``policy_match``, ``policy_version``),
  ``session`` (``pre_action``/``post_action``/``record_violation``/``kill``/``end``),
  ``agent``, ``verify``, ``verify_chain``, and ``content_hash`` as a static method.
* :class:`Client` — ``Client(url, key=agent_key)``: ``sealog serve`` over HTTP, signed
  requests, retries with idempotency keys, timeouts, typed errors.
* :class:`EmbeddedClient` — ``Client.embedded(ledger, agent_key)``: the same, in process.
* :class:`AsyncClient`, :class:`AsyncEmbeddedClient` — the asyncio twins
  (:class:`AsyncSealogClient`).

See ``docs/client.md``.
"""

from __future__ import annotations

from sealog.client._api import (
    AsyncClientSessionAPI,
    AsyncSealogClient,
    ClientSessionAPI,
    Decided,
    Logged,
    PolicyMatch,
    SealogClient,
)
from sealog.client._client import (
    AsyncClient,
    AsyncClientSession,
    AsyncEmbeddedClient,
    Client,
    ClientSession,
    EmbeddedClient,
)

__all__ = [
    "AsyncClient",
    "AsyncClientSession",
    "AsyncClientSessionAPI",
    "AsyncEmbeddedClient",
    "AsyncSealogClient",
    "Client",
    "ClientSession",
    "ClientSessionAPI",
    "Decided",
    "EmbeddedClient",
    "Logged",
    "PolicyMatch",
    "SealogClient",
]
