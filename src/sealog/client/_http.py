"""The remote backend: a client's calls answered by ``sealog serve`` over HTTP (sync and async).

* The agent's key never leaves the client: entries are signed here, on the author's chain as
  the service reported it (``GET /agents/{address}/head``), kept locally after each accepted
  write and re-read after any refused one.
* Every write is a signed request (:mod:`sealog.signed_request`) over the exact bytes sent.
* Connection errors, timeouts, 429 and 5xx are retried with backoff; each retry is signed again
  (nonces are single-use) and a submission carries the same ``Idempotency-Key`` on every retry,
  so a write whose answer was lost is stored once and answered with its first receipts.
* A problem+json answer becomes the sealog error its ``type`` names, with the server's words;
  nothing of httpx escapes (an unreachable service is :class:`~sealog.errors.UnavailableError`).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from sealog.client._core import (
    Call,
    Draft,
    JoinReceipt,
    KeepReasoning,
    ReadAgent,
    ReadApprovals,
    ReadChain,
    ReadEntry,
    ReadProvenance,
    ReadReceipts,
    ReadReport,
    ReadReports,
    Release,
    Sign,
    Submit,
    sign_next,
)
from sealog.crypto import SigningKey
from sealog.errors import (
    CanonicalError,
    EntryRejected,
    Error,
    FormatError,
    InputError,
    NotFound,
    PolicyError,
    StorageError,
    UnavailableError,
    UsageError,
    VerificationError,
)
from sealog.ledger import SignedEntry, wire_entry
from sealog.ledger.storage import Head
from sealog.service import policy_match
from sealog.signed_request import sign_request

__all__ = ["AsyncRemote", "Remote", "error_for"]

IDEMPOTENCY_KEY = "Idempotency-Key"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_MAX_WAIT = 5.0
_IN_FLIGHT = "/idempotency-key-in-flight"
_STORED_ALREADY = frozenset({"replayed-seq", "bad-chain"})


@dataclass(frozen=True, slots=True)
class _Request:
    """One API request, the same bytes on every attempt."""

    method: str
    path: str
    key: SigningKey | None = None
    body: bytes | None = None
    once: str | None = None


class _Wire:
    """What the sync and async remotes share: requests, heads, answers, errors (no I/O)."""

    def __init__(self, retries: int, backoff: float) -> None:
        if retries < 0 or backoff < 0:
            raise UsageError("retries and backoff must be ≥ 0")
        self.retries, self.backoff = retries, backoff
        self.heads: dict[str, Head | None] = {}
        self.unknown: set[str] = set()
        """Authors the service did not know when their head was read."""

    @staticmethod
    def request(call: Call) -> _Request:  # noqa: PLR0911 - one request per call
        match call:
            case Submit(key, entries):
                body = _json({"entries": [wire_entry(e) for e in entries]})
                return _Request("POST", "/entries", key, body, uuid.uuid4().hex)
            case Draft(key, session_id, proposed):
                path = f"/sessions/{quote(session_id, safe='')}/draft"
                return _Request("POST", path, key, _json(proposed))
            case ReadAgent(address):
                return _Request("GET", f"/agents/{quote(address, safe='')}")
            case ReadEntry(entry_id):
                return _Request("GET", f"/verify/{quote(entry_id, safe='')}")
            case ReadChain(address):
                return _Request("GET", f"/verify/chain/{quote(address, safe='')}")
            case ReadReports(address):
                return _Request("GET", f"/agents/{quote(address, safe='')}/reports")
            case ReadReport(report_id):
                return _Request("GET", f"/reports/{quote(report_id, safe='')}")
            case ReadReceipts(run_id):
                return _Request("GET", f"/runs/{quote(run_id, safe='')}/receipts")
            case JoinReceipt(run_id, artifact):
                path = f"/runs/{quote(run_id, safe='')}/receipts/join"
                return _Request("POST", path, None, _json(dict(artifact)))
            case KeepReasoning():
                raise UsageError(
                    "a remote client seals reasoning by hash only; an app keeps the text with "
                    'its API key: POST /apps/{app_id}/traces with "reasoning"'
                )
            case ReadApprovals(agent, status):
                query = urlencode({k: v for k, v in (("agent", agent), ("status", status)) if v})
                return _Request("GET", "/approvals" + (f"?{query}" if query else ""))
            case ReadProvenance(digest):
                return _Request("GET", f"/provenance/{quote(digest, safe=':')}")
        raise AssertionError(call)  # pragma: no cover

    def sign(self, call: Sign) -> SignedEntry:
        entry = sign_next(call.key, call.kind, call.fields, call.time, self.heads[call.key.address])
        self.heads[entry.author] = Head(entry.seq, entry.leaf, entry.time)
        return entry

    def unknown_author(self, call: Submit, exc: VerificationError) -> Error:
        """A write refused because its signer is not registered is the ledger's refusal.

        The server refuses the request (401) before it looks at the entries; in process the
        ledger refuses the entries (``unknown-author``). Both clients raise the latter.
        """
        author = call.key.address
        if exc.code == "unauthorized" and author in self.unknown:
            return EntryRejected(exc.message, code="unknown-author")
        return exc

    def forget(self, entries: tuple[SignedEntry, ...]) -> None:
        """Entries not (known to be) stored: re-read their authors' heads before signing again."""
        for entry in entries:
            self.heads.pop(entry.author, None)

    @staticmethod
    def head(data: Mapping[str, Any]) -> Head | None:
        if data.get("seq") is None:
            return None
        return Head(int(data["seq"]), bytes.fromhex(str(data["id"])), str(data["time"]))

    @staticmethod
    def stored(entries: tuple[SignedEntry, ...], found: list[dict[str, Any] | None]) -> bool:
        return all(f is not None and f["included"] for f in found) and len(found) == len(entries)

    @staticmethod
    def receipt(entry: SignedEntry, found: Mapping[str, Any]) -> dict[str, Any]:
        """A stored entry's receipt rebuilt from its verification (``SubmittedOut``'s shape)."""
        at = found["policy_at_time"]
        gate = entry.kind in {"decision", "action"} and at.get("outcome") is not None
        return {"index": found["index"], "id": entry.id, "kind": entry.kind,
                "tree_size": found["proof"]["tree_size"], "checkpoint": found["checkpoint"],
                "policy_match": policy_match(at["outcome"]) if gate else None,
                "policy_version": at.get("version") if gate else None}  # fmt: skip

    def wait(self, attempt: int, response: httpx.Response | None) -> float:
        after = "" if response is None else str(response.headers.get("retry-after", ""))
        if after.isdecimal():
            return min(float(int(after)), _MAX_WAIT)
        return min(self.backoff * float(2**attempt), _MAX_WAIT)

    @staticmethod
    def build(http: httpx.Client | httpx.AsyncClient, req: _Request) -> httpx.Request:
        """The request for one attempt, signed afresh over the exact target and body sent."""
        headers = {"content-type": "application/json"} if req.body is not None else {}
        if req.once is not None:
            headers[IDEMPOTENCY_KEY] = req.once
        request = http.build_request(req.method, req.path, content=req.body, headers=headers)
        if req.key is not None:
            target = request.url.raw_path.decode("ascii")
            request.headers.update(sign_request(req.key, req.method, target, req.body or b""))
        return request


def _unavailable(req: _Request, exc: Exception) -> UnavailableError:
    what = type(exc).__name__
    return UnavailableError(
        f"the sealog service did not answer {req.method} {req.path} ({what}: {exc})",
        hint="check the URL and that 'sealog serve' is running; a write may have been stored",
    )


class Remote(_Wire):
    """Answers a client's calls over HTTP, blocking."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.1,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Talk to the API at ``url`` (through ``transport`` if given)."""
        super().__init__(retries, backoff)
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=url, timeout=timeout, headers=headers,
                                 transport=transport)  # fmt: skip

    def answer(self, call: Call) -> Any:
        """The answer to one call."""
        match call:
            case Sign(key):
                if key.address not in self.heads:
                    self.heads[key.address] = self._head(key.address)
                return self.sign(call)
            case Release(entries):
                self.forget(entries)
                return None
            case Submit(_, entries):
                try:
                    return self.send(self.request(call))["results"]
                except VerificationError as exc:
                    self.forget(entries)
                    raise self.unknown_author(call, exc) from exc
                except EntryRejected as exc:
                    if exc.code in _STORED_ALREADY and self._stored(entries):
                        return [self.receipt(e, self.send(_Request("GET", f"/verify/{e.id}")))
                                for e in entries]  # fmt: skip
                    self.forget(entries)
                    raise
                except Error:
                    self.forget(entries)
                    raise
        return self.send(self.request(call))

    def _head(self, address: str) -> Head | None:
        try:
            found = self.head(self.send(_Request("GET", f"/agents/{address}/head")))
        except NotFound:  # not registered yet: no chain to continue
            self.unknown.add(address)
            return None
        self.unknown.discard(address)
        return found

    def _stored(self, entries: tuple[SignedEntry, ...]) -> bool:
        """Whether a refused repeat was stored before (its first answer lost, its key forgotten)."""
        found: list[dict[str, Any] | None] = []
        for entry in entries:
            try:
                found.append(self.send(_Request("GET", f"/verify/{entry.id}")))
            except NotFound:
                return False
        return self.stored(entries, found)

    def send(self, req: _Request) -> dict[str, Any]:
        """Send with retries; the JSON answer, or the typed error."""
        for attempt in range(self.retries + 1):
            response: httpx.Response | None = None
            try:
                response = self.http.send(self.build(self.http, req))
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise _unavailable(req, exc) from exc
            except httpx.HTTPError as exc:
                raise _unavailable(req, exc) from exc
            if response is not None and (not retryable(response) or attempt == self.retries):
                return answer(response)
            time.sleep(self.wait(attempt, response))
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


class AsyncRemote(_Wire):
    """Answers a client's calls over HTTP, awaiting (``httpx.AsyncClient``)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Talk to the API at ``url`` (through ``transport`` if given)."""
        super().__init__(retries, backoff)
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.AsyncClient(base_url=url, timeout=timeout, headers=headers,
                                      transport=transport)  # fmt: skip

    async def answer(self, call: Call) -> Any:
        """The answer to one call."""
        match call:
            case Sign(key):
                if key.address not in self.heads:
                    self.heads[key.address] = await self._head(key.address)
                return self.sign(call)
            case Release(entries):
                self.forget(entries)
                return None
            case Submit(_, entries):
                try:
                    return (await self.send(self.request(call)))["results"]
                except VerificationError as exc:
                    self.forget(entries)
                    raise self.unknown_author(call, exc) from exc
                except EntryRejected as exc:
                    if exc.code in _STORED_ALREADY and await self._stored(entries):
                        return [self.receipt(e, await self.send(_Request("GET", f"/verify/{e.id}")))
                                for e in entries]  # fmt: skip
                    self.forget(entries)
                    raise
                except Error:
                    self.forget(entries)
                    raise
        return await self.send(self.request(call))

    async def _head(self, address: str) -> Head | None:
        try:
            found = self.head(await self.send(_Request("GET", f"/agents/{address}/head")))
        except NotFound:
            self.unknown.add(address)
            return None
        self.unknown.discard(address)
        return found

    async def _stored(self, entries: tuple[SignedEntry, ...]) -> bool:
        found: list[dict[str, Any] | None] = []
        for entry in entries:
            try:
                found.append(await self.send(_Request("GET", f"/verify/{entry.id}")))
            except NotFound:
                return False
        return self.stored(entries, found)

    async def send(self, req: _Request) -> dict[str, Any]:
        """Send with retries; the JSON answer, or the typed error."""
        for attempt in range(self.retries + 1):
            response: httpx.Response | None = None
            try:
                response = await self.http.send(self.build(self.http, req))
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise _unavailable(req, exc) from exc
            except httpx.HTTPError as exc:
                raise _unavailable(req, exc) from exc
            if response is not None and (not retryable(response) or attempt == self.retries):
                return answer(response)
            await asyncio.sleep(self.wait(attempt, response))
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()


def _json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a success, or the typed error of a problem."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.is_success:
        if not isinstance(data, dict):
            raise UnavailableError(f"the service answered {response.status_code} without a JSON "
                                   "object; is the URL a sealog service?")  # fmt: skip
        return data
    raise error_for(response.status_code, data if isinstance(data, dict) else {})


_BAD_INPUT: Mapping[str, type[InputError]] = {
    "bad-policy": PolicyError,
    "not-canonical": CanonicalError,
    "bad-format": FormatError,
}
_NOT_YOURS = frozenset({"unknown-author", "not-your-entry"})


def retryable(response: httpx.Response) -> bool:
    """Whether an answer invites the same request again.

    Overload (429), a 5xx, or the request's own earlier attempt still being answered (409
    ``idempotency-key-in-flight``).
    """
    if response.status_code in RETRY_STATUS:
        return True
    if response.status_code != 409:  # noqa: PLR2004
        return False
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and str(data.get("type", "")).endswith(
        "/idempotency-key-in-flight"
    )


def error_for(status: int, problem: Mapping[str, Any]) -> Error:  # noqa: PLR0911 - a table
    """The sealog error a problem+json answer stands for, with the server's code and words."""
    code = str(problem.get("type") or "").rsplit("/", 1)[-1] or f"http-{status}"
    detail = str(problem.get("detail") or f"the service answered HTTP {status}")
    if code in {"usage", "invalid-request", "idempotency-key-reused"}:
        return UsageError(detail, code=code)
    if status == 404:  # noqa: PLR2004
        return NotFound(detail, code=code)
    if status == 401 or (status == 403 and code not in _NOT_YOURS):  # noqa: PLR2004
        return VerificationError(detail, code=code)
    if status in {403, 409, 422}:
        return EntryRejected(detail, code=code)
    if status == 503:  # noqa: PLR2004
        return StorageError(detail, code=code)
    if status == 429 or status >= 500:  # noqa: PLR2004
        return UnavailableError(detail, code=code)
    return _BAD_INPUT.get(code, InputError)(detail, code=code)
