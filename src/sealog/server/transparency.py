"""Transparency reads, public by design: checkpoints, proofs, tiles and evidence bundles.

``/checkpoint`` and ``/tile/…`` are the C2SP tlog-tiles read API, so any tlog-tiles client
(a witness, a monitor) can follow the log; tiles are immutable and cached for a year.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from sealog.ledger import build_bundle
from sealog.ledger.tiles import parse_tile_path
from sealog.server._deps import ServiceDep

__all__ = ["router"]

router = APIRouter(tags=["transparency"])

_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$"
_TILE = r"^(entries|[0-9]{1,2})/(x[0-9]{3}/)*[0-9]{3}(\.p/[0-9]{1,3})?$"
_IMMUTABLE = "public, max-age=31536000, immutable"
_OCTETS = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


@router.get(
    "/checkpoint",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    response_class=Response,
)
async def checkpoint(svc: ServiceDep) -> Response:
    """The latest log-signed checkpoint (C2SP signed note); cached for a second at most."""
    return Response(
        svc.ledger.checkpoint(),
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "public, max-age=1"},
    )


@router.get("/tile/{path:path}", responses={200: {"content": _OCTETS}}, response_class=Response)
def tile(
    path: Annotated[str, PathParam(pattern=_TILE, description="<L>/<N>[.p/<W>] (C2SP)")],
    svc: ServiceDep,
) -> Response:
    """A C2SP tlog-tiles hash tile or entry bundle (``/tile/entries/…``).

    404 until the log holds it to the width asked for.
    """
    data = svc.ledger.tile(parse_tile_path(path))
    return Response(
        data, media_type="application/octet-stream", headers={"Cache-Control": _IMMUTABLE}
    )


@router.get("/proofs/inclusion/{index}")
def inclusion(
    index: Annotated[int, PathParam(ge=0)],
    svc: ServiceDep,
    size: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """RFC 9162 inclusion proof of entry ``index`` in the tree of ``size`` (the latest)."""
    return svc.ledger.prove_inclusion(index, size).to_dict()


@router.get("/proofs/consistency")
def consistency(
    svc: ServiceDep,
    old: Annotated[int, Query(ge=0)],
    new: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    """RFC 9162 consistency proof from tree size ``old`` to ``new`` (the latest)."""
    return svc.ledger.prove_consistency(old, new).to_dict()


@router.get("/bundle")
def bundle(
    request: Request,
    svc: ServiceDep,
    agent: Annotated[str | None, Query(pattern=r"^sl1[0-9a-f]{40}$")] = None,
    since: Annotated[str | None, Query(pattern=_TIME)] = None,
    until: Annotated[str | None, Query(pattern=_TIME)] = None,
) -> dict[str, Any]:
    """An evidence bundle (spec §7): the whole log, or an author's or a time range's part.

    A partial bundle carries inclusion proofs; ``sealog verify FILE`` checks either offline.
    """
    limit = request.app.state.settings.max_bundle_entries
    return build_bundle(svc.ledger, agent=agent, since=since, until=until, limit=limit)
