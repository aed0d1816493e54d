"""The embedded backend: a client's calls answered by a :class:`~sealog.service.Service` here.

Entries are signed with :meth:`Ledger.sign_next` (so a client and a gate sharing the ledger in
this process never sign the same ``seq``), submitted through the service's checks, and read
back in exactly the shapes the HTTP API answers (its own models build them).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

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
)
from sealog.errors import UsageError
from sealog.ledger.entry import parse_time
from sealog.service import Service

__all__ = ["Embedded"]

_ENTRY_REF = re.compile(r"^([0-9a-f]{64}|[0-9]{1,15})\Z")


class Embedded:
    """Answers a client's calls from a service in this process."""

    def __init__(self, service: Service) -> None:
        """Answer from ``service``."""
        self.service = service
        self.ledger = service.ledger

    def answer(self, call: Call) -> Any:  # noqa: PLR0911 - one branch per call
        """The answer to one call, as the HTTP API would give it."""
        svc = self.service
        match call:
            case Sign(key, kind, fields, time):
                when = None if time is None else parse_time(time)
                return self.ledger.sign_next(key, kind, fields, time=when)
            case Submit(_, entries):
                return [s.to_dict() for s in svc.submit(entries)]
            case Release(entries):
                self.ledger.release(entries)
                return None
            case Draft(key, session_id, proposed):
                args = dict(proposed)
                action = str(args.pop("action"))
                estimate = Decimal(str(args.pop("estimate", "0")))
                made = svc.draft_decision(key.address, session_id, action, estimate=estimate,
                                          **args)  # fmt: skip
                return made.to_dict()
            case ReadAgent(address):
                return svc.agent_info(address).to_dict()
            case ReadEntry(entry_id):
                return self._verify(entry_id)
            case ReadChain(address):
                return self._chain(address)
            case ReadReports(address):
                return svc.reports_about(address)
            case ReadReceipts(run_id):
                return {"run_id": run_id, "receipts": svc.receipts(run_id)}
            case JoinReceipt(run_id, artifact):
                return svc.join_receipt(run_id, artifact)
            case KeepReasoning(digest, text):
                svc.blobs.put(digest, text)
                return None
            case ReadApprovals(agent, status):
                return {"approvals": svc.asks(agent=agent, status=status)}
            case ReadProvenance(digest):
                return svc.lineage(digest)
            case ReadReport(report_id):
                if not re.match(r"^[0-9a-f]{64}\Z", report_id):
                    raise UsageError(f"{report_id!r} is not a report id (64 hex digits)")
                return svc.report(report_id)
        raise AssertionError(call)  # pragma: no cover

    def _verify(self, entry_id: str) -> dict[str, Any]:
        from sealog.server._wire import PolicyAtTime, VerifyOut  # noqa: PLC0415 - the API's shape

        if not _ENTRY_REF.match(entry_id):
            raise UsageError(f"{entry_id!r} is not an entry id (64 hex digits) or an index")
        ref: int | str = int(entry_id) if entry_id.isdecimal() else entry_id
        checked = self.ledger.verify_entry(ref)
        at = PolicyAtTime(**self.service.policy_at(self.ledger.get(ref)))
        return VerifyOut(**checked.to_dict(), policy_at_time=at).model_dump()

    def _chain(self, address: str) -> dict[str, Any]:
        from sealog.server._wire import ChainOut  # noqa: PLC0415 - the API's shape

        report = self.service.verify_chain(address)
        return ChainOut(
            address=address,
            total_entries=self.service.agent_info(address).entries,
            chain_intact=report.chain_intact,
            complete=report.complete,
            ok=report.ok,
            gaps=[g.to_dict() for g in report.gaps],  # type: ignore[misc]
        ).model_dump()
