"""Private reads, per tenant: entry listings with filters, an agent's logs, sessions, the app.

Every route here needs an app's API key (:mod:`sealog.server._tenancy`) and answers only
from the tenant's own authors: its bound owners and their agents. An address or a session of
another tenant is answered exactly like one that does not exist — ``404 not-found``, never
``403`` — so a key cannot be used to learn what other tenants hold.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query
from fastapi import Path as PathParam
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sealog.errors import NotFound
from sealog.server._deps import Address, ServiceDep
from sealog.server._listing import Filters, decode_cursor, entry_json, read_page
from sealog.server._tenancy import Tenant, TenantDep, install_tenancy
from sealog.server._wire import TraceIn
from sealog.service import Service

__all__ = ["install", "router"]

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
router = APIRouter(
    responses={
        401: {"description": "No API key, or an unknown or revoked one.", "content": _PROBLEM},
        404: {"description": "Unknown, or another tenant's.", "content": _PROBLEM},
    }
)
_ADDRESS = r"^sl1[0-9a-f]{40}$"


def install(app: FastAPI) -> None:
    """Serve the private routes, with the tenants store opened alongside the ledger."""
    install_tenancy(app)
    app.include_router(router)


class LogQuery(BaseModel):
    """Filters and paging of a listing (every filter given must hold)."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(default=None, min_length=1, max_length=32, description="entry kind")
    action: str | None = Field(default=None, min_length=1, max_length=256)
    target_prefix: str | None = Field(default=None, min_length=1, max_length=2048)
    policy_match: Literal["allowed", "denied", "pending_approval", "killed"] | None = Field(
        default=None,
        description="a decision's outcome; for an action, that of the decision it cites",
    )
    status: str | None = Field(
        default=None, min_length=1, max_length=64, description="metadata.status of actions"
    )
    run: str | None = Field(default=None, min_length=1, max_length=256, description="run_id")
    session: str | None = Field(default=None, min_length=1, max_length=256)
    since: AwareDatetime | None = Field(default=None, description="entry time ≥ (RFC 3339)")
    until: AwareDatetime | None = Field(default=None, description="entry time < (RFC 3339)")
    limit: int = Field(default=100, ge=1, le=1000)
    cursor: str | None = Field(
        default=None, max_length=128, description="next_cursor of the previous page"
    )

    def filters(self) -> Filters:
        """The filters alone."""
        return Filters(
            kind=self.kind, action=self.action, target_prefix=self.target_prefix,
            policy_match=self.policy_match, status=self.status, run=self.run,
            session=self.session, since=self.since, until=self.until,
        )  # fmt: skip


class EntryQuery(LogQuery):
    """A listing's filters, one author's entries optionally."""

    agent: str | None = Field(default=None, pattern=_ADDRESS, description="author address")


class EntryOut(BaseModel):
    """An entry as listed: its place, decoded fields, policy match, and the signed bytes."""

    index: int
    id: str
    kind: str
    author: str
    seq: int
    time: str
    policy_match: str | None
    fields: dict[str, Any] = Field(description="E decoded (all of it)")
    entry: str = Field(description="base64 of E, the canonical JSON the author signed")
    sig: str = Field(description="base64 of S, the Ed25519 signature")


class EntriesOut(BaseModel):
    """A page: entries in log order, and the cursor of the next (null: the end, for now)."""

    entries: list[EntryOut]
    next_cursor: str | None


class MemberOut(BaseModel):
    """An owner or agent of the app."""

    address: str
    role: str
    owner: str | None
    name: str | None
    registered_at: str


class AppOut(BaseModel):
    """The tenant: its app, the key in use, its owners and agents."""

    id: str
    name: str
    created: str
    key_id: str
    owners: list[str]
    members: list[MemberOut]


def _listing(svc: Service, authors: frozenset[str], query: LogQuery) -> EntriesOut:
    after = None if query.cursor is None else decode_cursor(query.cursor)
    page = read_page(svc.ledger, authors, query.filters(), after=after, limit=query.limit)
    entries = [EntryOut(**entry_json(s, m)) for s, m in page.items]
    return EntriesOut(entries=entries, next_cursor=page.next_cursor)


@router.get("/entries", tags=["entries"])
def entries(
    query: Annotated[EntryQuery, Query()], svc: ServiceDep, tenant: TenantDep
) -> EntriesOut:
    """The tenant's entries in log order, filtered, a page at a time (see ``next_cursor``)."""
    authors = tenant.authors
    if query.agent is not None:
        tenant.require(query.agent)
        authors = frozenset({query.agent})
    return _listing(svc, authors, query)


@router.get("/agents/{address}/logs", tags=["agents"])
def agent_logs(
    address: Address, query: Annotated[LogQuery, Query()], svc: ServiceDep, tenant: TenantDep
) -> EntriesOut:
    """One of the tenant's agents' entries, filtered (``?policy_match=denied`` …), paged."""
    tenant.require(address)
    return _listing(svc, frozenset({address}), query)


@router.get("/sessions/{session_id}", tags=["gate"])
def session(
    session_id: Annotated[str, PathParam(min_length=1, max_length=256)],
    svc: ServiceDep,
    tenant: TenantDep,
) -> dict[str, Any]:
    """A session of one of the tenant's agents, as the log has it."""
    info = svc.session_info(session_id)
    if info["agent"] not in tenant.authors:
        raise NotFound(f"no session {session_id!r}")
    return info


@router.get("/apps/me", tags=["apps"])
def me(tenant: TenantDep) -> AppOut:
    """The app this API key belongs to: its owners and their agents."""
    members = [
        MemberOut(address=r.address, role=r.role, owner=r.owner, name=r.name,
                  registered_at=r.time)
        for r in sorted(tenant.members, key=lambda r: r.index)
    ]  # fmt: skip
    return AppOut(
        id=tenant.app.id, name=tenant.app.name, created=tenant.app.created,
        key_id=tenant.key.id, owners=list(tenant.owners),
        members=members,
    )  # fmt: skip


_APP = r"^[0-9a-f]{16}$"
_HASH = r"^[0-9a-f]{64}$"


def _own_app(tenant: Tenant, app_id: str) -> None:
    """Another app's id is answered as if it did not exist."""
    if app_id != tenant.app.id:
        raise NotFound(f"no app {app_id}")


@router.post("/apps/{app_id}/traces", tags=["traces"], status_code=201)
def post_trace(
    app_id: Annotated[str, PathParam(pattern=_APP)],
    body: TraceIn,
    svc: ServiceDep,
    tenant: TenantDep,
) -> dict[str, Any]:
    """Seal a governance trace of one of the app's agents (an agent-signed ``trace`` entry).

    Its reasoning text is kept only when it is sent.
    """
    _own_app(tenant, app_id)
    entry = body.parse()
    tenant.require(entry.author)
    return svc.seal_trace(entry, body.reasoning)


@router.get("/apps/{app_id}/traces", tags=["traces"])
def list_traces(
    app_id: Annotated[str, PathParam(pattern=_APP)],
    svc: ServiceDep,
    tenant: TenantDep,
    status: Annotated[str | None, Query(pattern=r"^(executed|blocked|pending_approval)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """The app's traces, newest first (``?status=blocked&limit=50``); reasoning text left out."""
    _own_app(tenant, app_id)
    return {"traces": svc.list_traces(tenant.authors, status=status, limit=limit)}


@router.get("/apps/{app_id}/traces/{trace_hash}", tags=["traces"])
def get_trace(
    app_id: Annotated[str, PathParam(pattern=_APP)],
    trace_hash: Annotated[str, PathParam(pattern=_HASH)],
    svc: ServiceDep,
    tenant: TenantDep,
) -> dict[str, Any]:
    """One of the app's traces, with its reasoning text if it was kept and not erased."""
    _own_app(tenant, app_id)
    found = svc.trace(trace_hash)
    if found["agentId"] not in tenant.authors:
        raise NotFound(f"no trace {trace_hash}")
    return found


@router.delete("/apps/{app_id}/traces/{trace_hash}/reasoning", tags=["traces"], status_code=204)
def erase_reasoning(
    app_id: Annotated[str, PathParam(pattern=_APP)],
    trace_hash: Annotated[str, PathParam(pattern=_HASH)],
    svc: ServiceDep,
    tenant: TenantDep,
) -> None:
    """Erase a trace's kept reasoning text (a privacy request); the log and its hash stay."""
    get_trace(app_id, trace_hash, svc, tenant)
    svc.erase_reasoning(trace_hash)
