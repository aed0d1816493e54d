"""The client SDK: one interface to sealog, embedded (in process) or remote (over HTTP).

* :class:`Client` — ``Client(url, key=agent_key)`` talks to ``sealog serve``;
  ``Client.embedded(ledger, agent_key)`` to a ledger in this process. Both: ``register``,
  ``set_policy``, ``log_action`` (the seed call: returns ``policy_match`` and
  ``policy_version``), ``session`` (``pre_action``/``post_action``/``record_violation``/
  ``kill``/``end``), ``agent``, ``verify``, ``verify_chain``, ``Client.content_hash``.
* :class:`AsyncClient` — the asyncio twin.

See ``docs/client.md``.
"""

from __future__ import annotations

from sealog.client._client import AsyncClient, Client, ClientSession, Decided, Logged

__all__ = ["AsyncClient", "Client", "ClientSession", "Decided", "Logged"]
