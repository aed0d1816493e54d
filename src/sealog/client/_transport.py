"""How a client reaches the service: in process, or over HTTP. One small interface, two ways.

Both answer in the API's JSON shapes (``docs/api.md``), so the client above them is one code
path. The HTTP way signs every write (:mod:`sealog.signed_request`), retries what is safe to
retry, and turns problem+json answers back into the sealog exception tree.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

import httpx

from sealog.crypto import SigningKey
from sealog.errors import (
    EntryRejected,
    Error,
    InputError,
    NotFound,
    PolicyViolation,
    StorageError,
    UsageError,
    VerificationError,
)
from sealog.ledger import SignedEntry
from sealog.ledger.storage import Head
from sealog.service import Service
from sealog.signed_request import sign_request

__all__ = ["HttpTransport", "InProcess", "Transport"]


class Transport(Protocol):
    """What a client needs of the service."""

    def head(self, address: str) -> Head | None:
        """The author's latest stored entry."""
        ...

    def submit(self, key: SigningKey, entries: list[SignedEntry]) -> list[dict[str, Any]]:
        """Append entries (a signed request by ``key``); a receipt per entry."""
        ...

    def draft(self, key: SigningKey, session_id: str, proposed: dict[str, Any]) -> dict[str, Any]:
        """The decision the gate makes on the agent's proposed action, to sign."""
        ...

    def get(self, path: str) -> dict[str, Any]:
        """A public read (``/agents/…``, ``/verify/…``)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class InProcess:
    """The service in this process (the embedded ledger)."""

    def __init__(self, service: Service) -> None:
        """Call ``service`` directly."""
        self.service = service

    def head(self, address: str) -> Head | None:
        """The author's latest stored entry."""
        return self.service.ledger.head(address)

    def submit(self, key: SigningKey, entries: list[SignedEntry]) -> list[dict[str, Any]]:
        """Append through the service (its gate checks included)."""
        del key  # in process the caller is trusted with its own entries
        return [s.to_dict() for s in self.service.submit(entries)]

    def draft(self, key: SigningKey, session_id: str, proposed: dict[str, Any]) -> dict[str, Any]:
        """Ask the service for the decision to sign."""
        args = dict(proposed)
        action = str(args.pop("action"))
        estimate = Decimal(str(args.pop("estimate", "0")))
        made = self.service.draft_decision(key.address, session_id, action, estimate=estimate,
                                           **args)  # fmt: skip
        return made.to_dict()

    def get(self, path: str) -> dict[str, Any]:
        """Answer the public reads the client uses, as the HTTP API does."""
        parts = path.strip("/").split("/")
        svc = self.service
        if parts[0] == "agents" and len(parts) == 2:  # noqa: PLR2004
            return svc.agent_info(parts[1]).to_dict()
        if parts[:2] == ["verify", "chain"]:
            report = svc.verify_chain(parts[2])
            return {"address": parts[2], "total_entries": svc.agent_info(parts[2]).entries,
                    "chain_intact": report.chain_intact, "complete": report.complete,
                    "ok": report.ok, "gaps": [g.to_dict() for g in report.gaps]}  # fmt: skip
        if parts[0] == "verify":
            ref: int | str = int(parts[1]) if parts[1].isdecimal() else parts[1]
            checked = svc.ledger.verify_entry(ref).to_dict()
            return {**checked, "policy_at_time": svc.policy_at(svc.ledger.get(ref))}
        raise UsageError(f"no such read: {path}")

    def close(self) -> None:
        """Nothing to release: the ledger is the caller's."""


_RETRY_STATUS = frozenset({429, 502, 503, 504})


class HttpTransport:
    """The service over HTTP: signed writes, retries, problem+json → typed errors."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        http: httpx.Client | None = None,
    ) -> None:
        """Talk to the API at ``url``."""
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = http or httpx.Client(base_url=url, timeout=timeout, headers=headers)
        self.retries = retries

    def head(self, address: str) -> Head | None:
        """``GET /agents/{address}/head``."""
        try:
            data = self._send("GET", f"/agents/{address}/head", None, None)
        except NotFound:  # not registered yet: no chain to continue
            return None
        if data.get("seq") is None:
            return None
        return Head(int(data["seq"]), bytes.fromhex(str(data["id"])), str(data["time"]))

    def submit(self, key: SigningKey, entries: list[SignedEntry]) -> list[dict[str, Any]]:
        """``POST /entries``; on a retry whose first attempt was stored, the stored receipts.

        Every retry carries the same ``Idempotency-Key``, so the server answers a retry of a
        stored write with its first answer. Entries are content-addressed besides (their id is
        their leaf hash): a repeat the server refuses because it was stored (a server restarted
        in between forgets keys) is answered from ``GET /verify/{id}`` — stored once.
        """
        wire = [_wire(e) for e in entries]
        try:
            data = self._send("POST", "/entries", key, {"entries": wire}, once=uuid.uuid4().hex)
        except EntryRejected:
            if not self._stored(entries):  # a real refusal, not a retry of a stored write
                raise
            return [self._receipt(e) for e in entries]
        results: list[dict[str, Any]] = data["results"]
        return results

    def _stored(self, entries: list[SignedEntry]) -> bool:
        try:
            return all(self.get(f"/verify/{e.id}")["included"] for e in entries)
        except NotFound:
            return False

    def _receipt(self, entry: SignedEntry) -> dict[str, Any]:
        found = self.get(f"/verify/{entry.id}")
        at = found["policy_at_time"]
        outcome = at.get("outcome") if entry.kind in ("decision", "action") else None
        match = {"allow": "allowed", "deny": "denied", "ask": "pending_approval",
                 "kill": "killed"}.get(str(outcome))  # fmt: skip
        return {"index": found["index"], "id": entry.id, "kind": entry.kind,
                "tree_size": found["proof"]["tree_size"], "checkpoint": found["checkpoint"],
                "policy_match": match, "policy_version": at.get("version")}  # fmt: skip

    def draft(self, key: SigningKey, session_id: str, proposed: dict[str, Any]) -> dict[str, Any]:
        """``POST /sessions/{id}/draft``."""
        return self._send("POST", f"/sessions/{session_id}/draft", key, proposed)

    def get(self, path: str) -> dict[str, Any]:
        """A public read."""
        return self._send("GET", path, None, None)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _send(
        self,
        method: str,
        path: str,
        key: SigningKey | None,
        body: Mapping[str, Any] | None,
        *,
        once: str | None = None,
    ) -> dict[str, Any]:
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        for attempt in range(self.retries + 1):
            headers = {"content-type": "application/json"} if body is not None else {}
            if once is not None:  # the same key on every retry of this write
                headers["idempotency-key"] = once
            if key is not None:  # re-signed per attempt: nonces are single-use
                headers.update(sign_request(key, method, path, raw))
            try:
                response = self.http.request(method, path, content=raw or None, headers=headers)
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise StorageError(f"the sealog service did not answer: {exc}") from exc
            else:
                if response.status_code not in _RETRY_STATUS or attempt == self.retries:
                    return _answer(response)
            time.sleep(min(2.0, 0.1 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def _wire(entry: SignedEntry) -> dict[str, str]:
    """An entry as the API carries it (spec §7.1)."""
    return {
        "entry": base64.b64encode(entry.data).decode("ascii"),
        "sig": base64.b64encode(entry.signature).decode("ascii"),
    }


def _answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a success, or the typed error of a problem."""
    try:
        data = response.json()
    except ValueError as exc:
        if response.is_success:
            raise StorageError(f"the service answered {response.status_code} without JSON") from exc
        data = {}
    if response.is_success:
        if not isinstance(data, dict):
            raise StorageError("the service answered an unexpected shape")
        return data
    raise _error(response.status_code, data if isinstance(data, dict) else {})


_BY_STATUS: Mapping[int, type[Error]] = {
    404: NotFound,
    401: VerificationError,
    403: PolicyViolation,
    409: EntryRejected,
    422: EntryRejected,
}


def _error(status: int, problem: Mapping[str, Any]) -> Error:
    """The sealog error a problem+json answer stands for, with the server's words."""
    code = str(problem.get("type", "")).rsplit("/", 1)[-1] or f"http-{status}"
    detail = str(problem.get("detail") or f"the service answered {status}")
    if code == "unknown-author":
        return EntryRejected(detail, code=code)
    if status >= 500:  # noqa: PLR2004
        return StorageError(detail, code=code)
    return _BY_STATUS.get(status, InputError)(detail, code=code)
