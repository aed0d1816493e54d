"""Operations: liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sealog.server._deps import ServiceDep

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz", tags=["operations"])
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", tags=["operations"])
def readyz(svc: ServiceDep) -> dict[str, Any]:
    """Readiness: the ledger answers."""
    return {"status": "ready", "size": svc.ledger.size()}
