"""The tenant of a request: its API key, what of the log it may see, and write binding.

A private route depends on :func:`tenant`: ``Authorization: Bearer slk_…`` must name a known,
unrevoked key, or the answer is ``401 unauthorized`` with ``WWW-Authenticate: Bearer``. What a
tenant sees is its **authors**: the owners bound to its app and the agents registered under
them (read from the ledger's registry on each request, so a registration shows at once).

Signed writes stay open to anyone with a registered key; :func:`bind_writer` only adds, when
the request also carries an API key, that the author's owner is this app's: an owner not yet
bound is bound to it when the owner itself signed the request (its signature is its consent;
an agent cannot move its owner), and an owner bound to another app is refused with ``403
wrong-tenant``. The bind is claimed before the entries are submitted, atomically, so two
concurrent first writes with two apps' keys cannot both win.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from sealog.errors import NotFound, UsageError, VerificationError
from sealog.home import Home
from sealog.ledger.storage import Registration
from sealog.server._deps import Author, ServiceDep
from sealog.server._problems import ApiError, problem
from sealog.service import Service
from sealog.tenancy import TENANTS_FILE, ApiKey, App, Tenants

__all__ = ["Tenant", "TenantDep", "Unauthorized", "bind_writer", "install_tenancy", "tenant"]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An app's API key: `Authorization: Bearer slk_<id>_<secret>`.",
)


class Unauthorized(ApiError):
    """No usable API key: 401 ``unauthorized`` with a ``Bearer`` challenge."""

    def __init__(self, detail: str) -> None:
        """Refuse with ``detail``."""
        super().__init__(401, "unauthorized", detail)


@dataclass(frozen=True, slots=True)
class Tenant:
    """The app a request's API key belongs to, and the authors whose entries it may read."""

    app: App
    key: ApiKey
    owners: tuple[str, ...]
    members: tuple[Registration, ...]
    """The registrations of its owners and of the agents registered under them."""

    @property
    def authors(self) -> frozenset[str]:
        """Every address whose entries the tenant may read (bound owners, even unregistered)."""
        return frozenset(self.owners) | {r.address for r in self.members}

    def require(self, address: str, what: str = "agent") -> None:
        """Refuse an address outside the tenant as if it did not exist (404, never 403).

        Raises:
            NotFound: ``address`` is not one of the tenant's authors.
        """
        if address not in self.authors:
            raise NotFound(f"no {what} {address} in this app")


def store(request: Request) -> Tenants:
    """The app's tenants store."""
    found: Tenants = request.app.state.tenants
    return found


def tenant(
    request: Request,
    svc: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Tenant:
    """Authenticate the request's API key; its tenant (a dependency).

    Raises:
        Unauthorized: no bearer key, or an unknown, malformed or revoked one.
    """
    if credentials is None:
        raise Unauthorized("this route needs an API key: Authorization: Bearer slk_…")
    tenants = store(request)
    try:
        app, key = tenants.authenticate(credentials.credentials)
    except VerificationError as exc:
        raise Unauthorized(exc.message) from exc
    owners = tuple(tenants.owners(app.id))
    bound = set(owners)
    members = tuple(r for r in svc.ledger.registrations() if r.address in bound or r.owner in bound)
    return Tenant(app, key, owners, members)


TenantDep = Annotated[Tenant, Depends(tenant)]


async def bind_writer(request: Request, author: Author, svc: ServiceDep) -> None:
    """Hold a signed write that carries an API key to that key's app (a router dependency).

    Without a bearer key it returns at once, on the event loop; with one, the tenancy store is
    read and written on a worker thread.

    Raises:
        Unauthorized: the request carries a bearer key that is unknown or revoked.
        ApiError: 403 ``wrong-tenant``, the author's owner is bound to another app.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return
    await run_in_threadpool(_bind, request, author, svc, token)


def _bind(request: Request, author: str, svc: Service, token: str) -> None:
    tenants = store(request)
    try:
        app, _ = tenants.authenticate(token.strip())
    except VerificationError as exc:
        raise Unauthorized(exc.message) from exc
    try:
        registration: Registration | None = svc.ledger.agent(author)
    except NotFound:  # only an owner registering itself is let in unregistered
        registration = None
    owner = author if registration is None or registration.owner is None else registration.owner
    signed_by_owner = owner == author
    try:
        if signed_by_owner:
            tenants.bind(app.id, owner)
            return
        bound = tenants.app_of(owner)
        if bound is not None and bound.id != app.id:
            raise UsageError(f"owner {owner} belongs to another app", code="wrong-tenant")
    except UsageError as exc:
        detail = f"{exc.message}; this API key is app {app.name!r}'s"
        raise ApiError(403, "wrong-tenant", detail) from exc


def tenants_path(settings: Any) -> Path | str:
    """Where the settings put the store: as given, the home's file, or in memory.

    In memory only for a ledger handed over without a home (tests, embedding): nothing to
    persist next to, and no key can authenticate until one is made on ``app.state.tenants``.
    """
    given: Path | None = settings.tenants
    return given if given is not None else beside_home(settings, TENANTS_FILE)


def beside_home(settings: Any, name: str) -> Path | str:
    """The file ``name`` in the settings' home; in memory for a ledger handed over without one."""
    if settings.ledger is not None and settings.home is None:
        return ":memory:"
    return Home.find(settings.home).path / name


def install_tenancy(app: FastAPI) -> None:
    """Open the tenants store with the app (closed when it stops) and answer 401 with Bearer."""
    inner: Callable[[FastAPI], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: FastAPI) -> AsyncIterator[Any]:
        tenants = Tenants(tenants_path(served.state.settings))
        served.state.tenants = tenants
        try:
            async with inner(served) as state:
                yield state
        finally:
            tenants.close()

    app.router.lifespan_context = lifespan

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        response = problem(exc.status, exc.code, exc.detail)
        response.headers["WWW-Authenticate"] = 'Bearer realm="sealog"'
        return response
