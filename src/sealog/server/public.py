"""Public reads: agents, policies and verification.

Sessions are private to their tenant (:mod:`sealog.server.private`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from sealog.policy.store import current_policy, policy_history
from sealog.server._deps import Address, ServiceDep
from sealog.server._wire import (
    AgentOut,
    ChainOut,
    HeadOut,
    PolicyAtTime,
    ReportOut,
    ReportsOut,
    VerifyOut,
)

__all__ = ["router"]

router = APIRouter()


@router.get("/agents/{address}", tags=["agents"])
async def agent(address: Address, svc: ServiceDep) -> AgentOut:
    """An agent or owner: registration, policy version in force, track (404 if unknown)."""
    return AgentOut(**svc.agent_info(address).to_dict())


@router.get("/agents/{address}/head", tags=["agents"])
async def head(address: Address, svc: ServiceDep) -> HeadOut:
    """The author's latest entry, which its next entry must follow."""
    svc.ledger.agent(address)
    found = svc.ledger.head(address)
    if found is None:
        return HeadOut(address=address, seq=None, id=None, time=None)
    return HeadOut(address=address, seq=found.seq, id=found.leaf.hex(), time=found.time)


@router.get("/agents/{address}/policy", tags=["policies"])
def policy(
    address: Address, svc: ServiceDep, version: Annotated[int | None, Query(ge=1)] = None
) -> dict[str, Any]:
    """The agent's policy in force, or the version asked for, as sealed."""
    return current_policy(svc.ledger, address, version).to_dict()


@router.get("/agents/{address}/policies", tags=["policies"])
def policies(address: Address, svc: ServiceDep) -> list[dict[str, Any]]:
    """Every sealed version of the agent's policy, oldest first (documents left out)."""
    return [v.to_dict(with_document=False) for v in policy_history(svc.ledger, address)]


@router.get("/verify/chain/{address}", tags=["verify"])
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


@router.get("/verify/{entry_id}", tags=["verify"])
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


@router.get("/agents/{address}/reports", tags=["reports"])
def reports(address: Address, svc: ServiceDep) -> ReportsOut:
    """Every report about the agent, oldest first, with its status and responses."""
    return ReportsOut(**svc.reports_about(address))


@router.get("/reports/{report_id}", tags=["reports"])
def report(
    report_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$")], svc: ServiceDep
) -> ReportOut:
    """One report; for an ``unlogged_action``, whether the agent's chain logged the action."""
    return ReportOut(**svc.report(report_id))


@router.get("/provenance/{digest}", tags=["provenance"])
def provenance(
    digest: Annotated[str, PathParam(pattern=r"^sha256:[0-9a-f]{64}$")], svc: ServiceDep
) -> dict[str, Any]:
    """Where a piece of content came from: the stages that produced it, across agents.

    Also where it entered the pipeline. Where it diverged from its sources needs the contents,
    which only their owners hold: ``sealog provenance HASH --content DIR``.
    """
    return svc.lineage(digest)


@router.get("/approvals", tags=["approvals"])
def approvals(
    svc: ServiceDep,
    agent: Annotated[str | None, Query(pattern=r"^sl1[0-9a-f]{40}$")] = None,
    status: Annotated[str | None, Query(pattern=r"^(pending|approved|denied|expired)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Ask decisions awaiting (or past) the owner's verdict, oldest first, filtered."""
    return {"approvals": svc.asks(agent=agent, status=status, limit=limit)}


_RUN = r"^[^\s/]{1,256}$"


@router.get("/runs/{run_id}/receipts", tags=["receipts"])
def run_receipts(
    run_id: Annotated[str, PathParam(pattern=_RUN)], svc: ServiceDep
) -> dict[str, Any]:
    """The execution receipts of a run, one per tool call, in log order."""
    return {"run_id": run_id, "receipts": svc.receipts(run_id)}


@router.post("/runs/{run_id}/receipts/join", tags=["receipts"])
def join_receipt(
    run_id: Annotated[str, PathParam(pattern=_RUN)], artifact: dict[str, Any], svc: ServiceDep
) -> dict[str, Any]:
    """A scanner's decision artifact held to the executed receipt of its tool call.

    The outcome is ``match``, ``digest-mismatch`` or ``authority-mismatch``.
    """
    return svc.join_receipt(run_id, artifact)
