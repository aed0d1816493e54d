"""Signed writes: entries, registrations, policies, decision drafts, reports and responses."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam

from sealog.errors import UsageError
from sealog.server._deps import Author, ServiceDep, submit_entries
from sealog.server._idempotency import IdempotencyDep
from sealog.server._tenancy import bind_writer
from sealog.server._wire import (
    Batch,
    DraftIn,
    DraftOut,
    Results,
    SubmittedOut,
    WireEntry,
)

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(bind_writer)])  # an API key binds the owner


@router.post("/entries", tags=["entries"], status_code=201)
def submit(batch: Batch, svc: ServiceDep, author: Author, once: IdempotencyDep) -> Results:
    """Append a batch of signed entries, all or nothing; a receipt per entry."""
    return once.run(lambda: Results(results=submit_entries(svc, author, batch.entries)))


@router.post("/logs", tags=["entries"], status_code=201)
def log(entry: WireEntry, svc: ServiceDep, author: Author, once: IdempotencyDep) -> SubmittedOut:
    """Append one signed entry (an action, often citing its decision)."""
    return once.run(lambda: submit_entries(svc, author, [entry])[0])


@router.post("/agents", tags=["agents"], status_code=201)
def register(batch: Batch, svc: ServiceDep, author: Author, once: IdempotencyDep) -> Results:
    """Register: an owner's self-registration and/or its agents' registrations."""
    if any(item.parse(i).kind != "register" for i, item in enumerate(batch.entries, 1)):
        raise UsageError("POST /agents takes register entries only")
    return once.run(lambda: Results(results=submit_entries(svc, author, batch.entries)))


@router.post("/policies", tags=["policies"], status_code=201)
def set_policy(
    entry: WireEntry, svc: ServiceDep, author: Author, once: IdempotencyDep
) -> SubmittedOut:
    """Seal an owner-signed policy version for one of its agents."""
    if entry.parse().kind != "policy":
        raise UsageError("POST /policies takes one policy entry")
    return once.run(lambda: submit_entries(svc, author, [entry])[0])


@router.post("/reports", tags=["reports"], status_code=201)
def report(entry: WireEntry, svc: ServiceDep, author: Author, once: IdempotencyDep) -> SubmittedOut:
    """File a signed report about an agent (spec §4.5d); anyone registered may."""
    if entry.parse().kind != "report":
        raise UsageError("POST /reports takes one report entry")
    return once.run(lambda: submit_entries(svc, author, [entry])[0])


@router.post("/reports/{report_id}/responses", tags=["reports"], status_code=201)
def respond(
    report_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$")],
    entry: WireEntry,
    svc: ServiceDep,
    author: Author,
    once: IdempotencyDep,
) -> SubmittedOut:
    """Answer a report (spec §4.5e): the reported agent's or its owner's signed response."""
    parsed = entry.parse()
    if parsed.kind != "response" or parsed.fields.get("report") != report_id:
        raise UsageError(f"this route takes one response entry to report {report_id[:16]}…")
    return once.run(lambda: submit_entries(svc, author, [entry])[0])


@router.post("/approvals", tags=["approvals"], status_code=201)
def approve(
    entry: WireEntry, svc: ServiceDep, author: Author, once: IdempotencyDep
) -> SubmittedOut:
    """The owner's verdict on an agent's ``ask`` (spec §4.5f): approve or deny, in time."""
    if entry.parse().kind != "approval":
        raise UsageError("POST /approvals takes one approval entry")
    return once.run(lambda: submit_entries(svc, author, [entry])[0])


@router.post("/approvals/approvers", tags=["approvals"], status_code=201)
def name_approver(
    entry: WireEntry, svc: ServiceDep, author: Author, once: IdempotencyDep
) -> SubmittedOut:
    """An owner names (or withdraws) an approver of its agents' asks (spec §4.5h)."""
    if entry.parse().kind != "approver":
        raise UsageError("POST /approvals/approvers takes one approver entry")
    return once.run(lambda: submit_entries(svc, author, [entry])[0])


@router.post("/sessions/{session_id}/kill", tags=["gate"], status_code=201)
def kill(
    session_id: Annotated[str, PathParam(min_length=1, max_length=256)],
    entry: WireEntry,
    svc: ServiceDep,
    author: Author,
    once: IdempotencyDep,
) -> SubmittedOut:
    """Kill a session: its agent's own kill, or its owner's (``agent`` names the agent).

    The agent's next decision in the session is then a kill, wherever the agent runs.
    """
    parsed = entry.parse()
    f = parsed.fields
    if parsed.kind != "session" or f.get("event") != "kill" or f.get("session_id") != session_id:
        raise UsageError(
            f"POST /sessions/{{id}}/kill takes one kill entry of session {session_id!r}"
        )
    return once.run(lambda: submit_entries(svc, author, [entry])[0])


@router.post("/sessions/{session_id}/draft", tags=["gate"])
async def draft(
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
