"""``create_app(settings)``: the HTTP API over one :class:`~sealog.service.Service`.

No module-level state: everything a request needs hangs off ``app.state`` (the service, the
nonce cache, the settings), built by the factory and opened in its lifespan. Routes are thin:
they parse, authenticate and call the service.

Public by design: agent lookups, verification, checkpoints and proofs. Writes are signed
requests (:mod:`sealog.signed_request`) carrying author-signed entries.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from starlette.responses import PlainTextResponse

from sealog import __version__
from sealog.crypto import PublicKey
from sealog.errors import EntryRejected, FormatError, NotFound, UsageError
from sealog.ledger import Ledger, SignedEntry
from sealog.policy.store import current_policy, policy_history
from sealog.server._problems import ApiError, install_problem_handlers, problem
from sealog.server._wire import (
    AgentOut,
    Batch,
    ChainOut,
    DraftIn,
    DraftOut,
    HeadOut,
    PolicyAtTime,
    Results,
    SubmittedOut,
    VerifyOut,
    WireEntry,
)
from sealog.service import Service
from sealog.signed_request import NonceCache, SignedHeaders, verify_request

__all__ = ["Settings", "create_app"]

MAX_BODY = 32 * 1024 * 1024
"""Largest request body accepted, in bytes (a full batch of large entries fits)."""


@dataclass(slots=True)
class Settings:
    """How to build the app: where the ledger lives and the request limits."""

    home: Path | None = None
    """The ledger home (its log key, and the SQLite ledger unless ``db`` is given)."""
    db: str | None = None
    """A storage URL (``postgresql://…``) overriding the home's SQLite file."""
    max_body: int = MAX_BODY
    ledger: Ledger | None = field(default=None, repr=False)
    """An open ledger to serve instead (tests, embedding); the app does not close it."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; the ledger is opened when the app starts and closed when it stops."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = settings.ledger is None
        ledger = settings.ledger or _open(settings)
        app.state.service = Service(ledger)
        app.state.nonces = NonceCache()
        try:
            yield
        finally:
            if owned:
                ledger.close()

    app = FastAPI(
        title="sealog",
        version=__version__,
        summary="The flight recorder and circuit breaker for AI agents.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    _limit_body(app, settings.max_body)
    _routes(app)
    return app


def _open(settings: Settings) -> Ledger:
    return Ledger.open(settings.home, db=settings.db)


def _limit_body(app: FastAPI, limit: int) -> None:
    @app.middleware("http")
    async def refuse_large(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdecimal() or int(declared) > limit):
            return problem(413, "too-large", f"request bodies are limited to {limit} bytes")
        return await call_next(request)


def service(request: Request) -> Service:
    """The app's service (a dependency)."""
    found: Service = request.app.state.service
    return found


ServiceDep = Annotated[Service, Depends(service)]
Address = Annotated[str, PathParam(pattern=r"^sl1[0-9a-f]{40}$", description="an address")]


async def signed_author(request: Request) -> str:
    """Authenticate a signed request; its author's address.

    The key is the author's registered key or, for an owner registering itself, the key its
    own self-registration in the body carries.
    """
    body = await request.body()
    try:
        headers = SignedHeaders.parse(request.headers)
    except FormatError as exc:
        raise ApiError(401, "unauthorized", exc.message) from exc
    svc: Service = request.app.state.service
    key = _key_of(svc, headers.author, body)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    verify_request(headers, key, (request.method, target, body), request.app.state.nonces)
    return headers.author


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


def _submit(svc: Service, author: str, items: list[WireEntry]) -> list[SubmittedOut]:
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


def _routes(app: FastAPI) -> None:  # noqa: C901 - one place lists every route
    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz(svc: ServiceDep) -> dict[str, Any]:
        """Readiness: the ledger answers."""
        return {"status": "ready", "size": svc.ledger.size()}

    @app.post("/entries", tags=["entries"], status_code=201)
    def submit(batch: Batch, svc: ServiceDep, author: Author) -> Results:
        """Append a batch of signed entries, all or nothing; a receipt per entry."""
        return Results(results=_submit(svc, author, batch.entries))

    @app.post("/logs", tags=["entries"], status_code=201)
    def log(entry: WireEntry, svc: ServiceDep, author: Author) -> SubmittedOut:
        """Append one signed entry (an action, often citing its decision)."""
        return _submit(svc, author, [entry])[0]

    @app.post("/agents", tags=["agents"], status_code=201)
    def register(batch: Batch, svc: ServiceDep, author: Author) -> Results:
        """Register: an owner's self-registration and/or its agents' registrations."""
        if any(item.parse(i).kind != "register" for i, item in enumerate(batch.entries, 1)):
            raise UsageError("POST /agents takes register entries only")
        return Results(results=_submit(svc, author, batch.entries))

    @app.post("/policies", tags=["policies"], status_code=201)
    def set_policy(entry: WireEntry, svc: ServiceDep, author: Author) -> SubmittedOut:
        """Seal an owner-signed policy version for one of its agents."""
        if entry.parse().kind != "policy":
            raise UsageError("POST /policies takes one policy entry")
        return _submit(svc, author, [entry])[0]

    @app.get("/agents/{address}", tags=["agents"])
    def agent(address: Address, svc: ServiceDep) -> AgentOut:
        """An agent or owner: registration, policy version in force, track (404 if unknown)."""
        return AgentOut(**svc.agent_info(address).to_dict())

    @app.get("/agents/{address}/head", tags=["agents"])
    def head(address: Address, svc: ServiceDep) -> HeadOut:
        """The author's latest entry, which its next entry must follow."""
        svc.ledger.agent(address)
        found = svc.ledger.head(address)
        if found is None:
            return HeadOut(address=address, seq=None, id=None, time=None)
        return HeadOut(address=address, seq=found.seq, id=found.leaf.hex(), time=found.time)

    @app.get("/agents/{address}/policy", tags=["policies"])
    def policy(
        address: Address, svc: ServiceDep, version: Annotated[int | None, Query(ge=1)] = None
    ) -> dict[str, Any]:
        """The agent's policy in force, or the version asked for, as sealed."""
        return current_policy(svc.ledger, address, version).to_dict()

    @app.get("/agents/{address}/policies", tags=["policies"])
    def policies(address: Address, svc: ServiceDep) -> list[dict[str, Any]]:
        """Every sealed version of the agent's policy, oldest first (documents left out)."""
        return [v.to_dict(with_document=False) for v in policy_history(svc.ledger, address)]

    @app.post("/sessions/{session_id}/draft", tags=["gate"])
    def draft(
        session_id: Annotated[str, PathParam(min_length=1, max_length=256)],
        proposed: DraftIn,
        svc: ServiceDep,
        author: Author,
    ) -> DraftOut:
        """The decision the gate makes now on the agent's proposed action, for it to sign."""
        made = svc.draft_decision(
            author, session_id, proposed.action, target=proposed.target, tool=proposed.tool,
            args=proposed.args, paths=proposed.paths, sources=proposed.sources,
            estimate=Decimal(proposed.estimate), tool_call_id=proposed.tool_call_id,
        )  # fmt: skip
        return DraftOut(**made.to_dict())

    @app.get("/sessions/{session_id}", tags=["gate"])
    def session(
        session_id: Annotated[str, PathParam(min_length=1, max_length=256)], svc: ServiceDep
    ) -> dict[str, Any]:
        """A session's state as the log has it."""
        return svc.session_info(session_id)

    @app.get("/verify/chain/{address}", tags=["verify"])
    def verify_chain(address: Address, svc: ServiceDep) -> ChainOut:
        """An agent's chain audited with the whole tree: intact, complete, gaps located."""
        report = svc.verify_chain(address)
        return ChainOut(
            address=address,
            total_entries=svc.agent_info(address).entries,
            chain_intact=report.chain_intact,
            complete=report.complete,
            ok=report.ok,
            gaps=[g.to_dict() for g in report.gaps],  # type: ignore[misc]
        )

    @app.get("/verify/{entry_id}", tags=["verify"])
    def verify_entry(
        entry_id: Annotated[str, PathParam(pattern=r"^([0-9a-f]{64}|[0-9]{1,15})$")],
        svc: ServiceDep,
    ) -> VerifyOut:
        """One entry: signature, chain links, inclusion with proof, the policy at the time."""
        ref: int | str = int(entry_id) if entry_id.isdecimal() else entry_id
        checked = svc.ledger.verify_entry(ref)
        stored = svc.ledger.get(ref)
        at = PolicyAtTime(**svc.policy_at(stored))
        return VerifyOut(**checked.to_dict(), policy_at_time=at)

    @app.get("/checkpoint", tags=["transparency"], response_class=PlainTextResponse)
    def checkpoint(svc: ServiceDep) -> str:
        """The latest log-signed checkpoint (C2SP signed note)."""
        return svc.ledger.checkpoint()

    @app.get("/proofs/inclusion/{index}", tags=["transparency"])
    def inclusion(
        index: Annotated[int, PathParam(ge=0)],
        svc: ServiceDep,
        size: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        """RFC 9162 inclusion proof of entry ``index`` in the tree of ``size`` (the latest)."""
        return svc.ledger.prove_inclusion(index, size).to_dict()

    @app.get("/proofs/consistency", tags=["transparency"])
    def consistency(
        svc: ServiceDep,
        old: Annotated[int, Query(ge=0)],
        new: Annotated[int | None, Query(ge=0)] = None,
    ) -> dict[str, Any]:
        """RFC 9162 consistency proof from tree size ``old`` to ``new`` (the latest)."""
        return svc.ledger.prove_consistency(old, new).to_dict()
