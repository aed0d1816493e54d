"""The JSON shapes of the API: pydantic models for every request and response body.

Entries travel as in evidence bundles (spec §7.1): ``{"entry": base64(E), "sig": base64(S)}``,
the exact signed bytes, never re-serialized.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sealog._encoding import b64decode_strict
from sealog.errors import EntryRejected, FormatError
from sealog.ledger import SignedEntry
from sealog.ledger._sequencer import MAX_BATCH

__all__ = [
    "AgentOut",
    "Batch",
    "ChainOut",
    "DraftIn",
    "DraftOut",
    "SubmittedOut",
    "VerifyOut",
    "WireEntry",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WireEntry(_Strict):
    """A signed entry: its canonical bytes and signature, each base64."""

    entry: str = Field(description="base64 of E, the canonical JSON the author signed")
    sig: str = Field(description="base64 of S, the 64-byte Ed25519 signature")

    def parse(self, position: int = 1) -> SignedEntry:
        """The entry, its format checked (not yet its signature: the ledger does that).

        Raises:
            EntryRejected: malformed (code says why), naming its place in the batch.
        """
        try:
            data = b64decode_strict(self.entry, "entry")
            sig = b64decode_strict(self.sig, "sig")
            return SignedEntry.parse(data, sig)
        except FormatError as exc:
            raise EntryRejected(f"entry {position}: {exc.message}", code="bad-field") from exc
        except EntryRejected as exc:
            raise EntryRejected(f"entry {position}: {exc.message}", code=exc.code) from exc


class Batch(_Strict):
    """Entries submitted together: all are stored, or none."""

    entries: list[WireEntry] = Field(min_length=1, max_length=MAX_BATCH)


class SubmittedOut(_Strict):
    """An accepted entry: its receipt and, for gate entries, the gate's answer."""

    index: int
    id: str
    tree_size: int
    checkpoint: str
    kind: str
    policy_match: str | None = Field(
        description="allowed | denied | pending_approval | killed, for decisions and the "
        "actions citing them"
    )
    policy_version: int | None


class Results(_Strict):
    """The receipts of a batch, in order."""

    results: list[SubmittedOut]


class DraftIn(_Strict):
    """A proposed action, for the gate to decide on."""

    action: str = Field(min_length=1, max_length=256)
    target: str | None = Field(default=None, min_length=1, max_length=2048)
    tool: str | None = Field(default=None, min_length=1, max_length=256)
    args: dict[str, Any] = Field(default_factory=dict)
    paths: list[str] = Field(default_factory=list, max_length=256)
    sources: list[str] = Field(default_factory=list, max_length=64)
    estimate: str = Field(default="0", pattern=r"^(0|[1-9][0-9]{0,30})(\.[0-9]{1,18})?$")
    tool_call_id: str | None = Field(default=None, min_length=1, max_length=256)


class DraftOut(_Strict):
    """The decision entry to sign: its fields, and the time to sign it with."""

    fields: dict[str, Any]
    time: str
    outcome: str
    policy_version: int | None


class Stats(_Strict):
    """An agent's track in the log."""

    entries: int
    denied_actions: int
    sessions_killed: int
    reports_received: int
    reports_open: int
    reports_acknowledged: int
    reports_disputed: int
    decisions: int
    reputation: int


class AgentOut(_Strict):
    """A registered key: who it is, since when, under which policy, how it behaved."""

    address: str
    role: str
    owner: str | None
    name: str | None
    registered_at: str
    registered_index: int
    policy_version: int | None
    stats: Stats


class HeadOut(_Strict):
    """An author's latest entry: what its next entry follows."""

    address: str
    seq: int | None
    id: str | None
    time: str | None


class PolicyAtTime(_Strict):
    """The policy an entry answered to, and whether its decision recomputes."""

    version: int | None
    policy_hash: str | None
    outcome: str | None
    blocking_rule: str | None
    recomputed: str | None


class VerifyOut(_Strict):
    """One entry checked: signature, chain, inclusion (with proof), policy at the time."""

    index: int
    id: str
    author: str
    signature_valid: bool
    chain_intact: bool
    included: bool
    proof: dict[str, Any] | None
    checkpoint: str | None
    detail: str
    policy_at_time: PolicyAtTime


class GapOut(BaseModel):
    """One problem found, located."""

    kind: str
    detail: str
    index: int | None = None
    author: str | None = None
    seq: int | None = None
    size: int | None = None


class ChainOut(_Strict):
    """An agent's chain audited, with the whole tree."""

    address: str
    total_entries: int
    chain_intact: bool
    complete: bool
    ok: bool
    gaps: list[GapOut]


class ResponseOut(_Strict):
    """An answer to a report, as sealed."""

    id: str
    index: int
    author: str
    acknowledged: bool
    counter_evidence_hash: str | None
    note: str | None
    time: str


class ReportOut(_Strict):
    """A report about an agent, its status (open, acknowledged, disputed) and its answers."""

    id: str
    index: int
    reporter: str
    subject: str
    category: str
    severity: str
    action_observed: str
    target: str | None
    observed_at: str
    description: str | None
    evidence_hash: str | None
    filed_at: str
    status: str
    responses: list[ResponseOut]
    corroboration: dict[str, Any] | None = None
    """For an ``unlogged_action``: what the agent's own chain says (``logged``,
    ``not-logged`` with the proof of the gap, or ``undetermined``)."""


class ReportsOut(_Strict):
    """The reports about one agent, oldest first, and how many are in each state."""

    address: str
    received: int
    open: int
    acknowledged: int
    disputed: int
    reports: list[ReportOut]


class TraceIn(WireEntry):
    """A governance trace to seal: the agent-signed ``trace`` entry.

    To keep the reasoning text whose hash the entry carries, send it too (it is kept outside
    the tree, and can be erased).
    """

    reasoning: str | None = Field(default=None, max_length=1 << 20)
