"""What routes share: the service, path types and the signed-request author."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, Request
from fastapi import Path as PathParam

from sealog.crypto import PublicKey
from sealog.errors import EntryRejected, Error, FormatError, NotFound
from sealog.ledger import SignedEntry
from sealog.server._limits import throttle
from sealog.server._problems import ApiError
from sealog.server._wire import (
    SubmittedOut,
    WireEntry,
)
from sealog.service import Service
from sealog.signed_request import SignedHeaders, verify_request

__all__ = ["Address", "Author", "ServiceDep", "submit_entries"]


async def service(request: Request) -> Service:
    """The app's service (a dependency)."""
    found: Service = request.app.state.service
    return found


ServiceDep = Annotated[Service, Depends(service)]
Address = Annotated[str, PathParam(pattern=r"^sl1[0-9a-f]{40}$", description="an address")]


async def signed_author(request: Request) -> str:
    """Authenticate a signed request; its author's address.

    The key is the author's registered key or, for an owner registering itself, the key its
    own self-registration in the body carries. The request is charged to the author's rate
    limit once authenticated, to its client IP's when it is not.
    """
    try:
        author = await _authenticate(request)
    except (ApiError, Error):
        throttle(request, None)
        raise
    throttle(request, author)
    return author


async def _authenticate(request: Request) -> str:
    body = await request.body()
    try:
        headers = SignedHeaders.parse(request.headers)
    except FormatError as exc:
        raise ApiError(401, "unauthorized", exc.message) from exc
    svc: Service = request.app.state.service
    key = _key_of(svc, headers.author, body)
    target = _target(request)
    verify_request(headers, key, (request.method, target, body), request.app.state.nonces)
    return headers.author


def _target(request: Request) -> str:
    """The request target as sent (spec §12): the raw path, percent-encoding kept, and query."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return path + (f"?{query}" if query else "")


def _key_of(svc: Service, author: str, body: bytes) -> PublicKey:
    try:
        return PublicKey(svc.ledger.agent(author).public_key)
    except NotFound:
        pass
    for item in _body_entries(body):
        f = item.fields
        if (item.kind, f.get("subject"), f.get("role")) == ("register", author, "owner"):
            return PublicKey.from_b64(str(f.get("public_key")))
    raise ApiError(401, "unauthorized", f"{author} is not registered with this ledger")


def _body_entries(body: bytes) -> list[SignedEntry]:
    try:
        data = json.loads(body)
        items = data.get("entries", [data]) if isinstance(data, dict) else []
        return [WireEntry.model_validate(i).parse() for i in items]
    except (ValueError, TypeError, EntryRejected):
        return []


Author = Annotated[str, Depends(signed_author)]


def submit_entries(svc: Service, author: str, items: list[WireEntry]) -> list[SubmittedOut]:
    entries = [item.parse(i) for i, item in enumerate(items, 1)]
    for position, entry in enumerate(entries, 1):
        if entry.author != author and _owner(svc, entry.author) != author:
            raise ApiError(
                403,
                "not-your-entry",
                f"entry {position} is signed by {entry.author}; a request may carry only its "
                "author's entries or those of the agents it owns",
            )
    return [SubmittedOut(**s.to_dict()) for s in svc.submit(entries)]


def _owner(svc: Service, address: str) -> str | None:
    try:
        return svc.ledger.agent(address).owner
    except NotFound:
        return None
