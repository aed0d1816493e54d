"""The ledger: signed entries in an RFC 9162 Merkle log with C2SP checkpoints.

Public names:

* :class:`Ledger` — open, append, read, prove, verify (the service every surface calls).
* :class:`SignedEntry`, :class:`Receipt`, :class:`StoredEntry`, :class:`Registration`.
* :class:`Checkpoint`, :class:`SignedNote` — C2SP checkpoints and signed notes.
* :class:`InclusionProof`, :class:`ConsistencyProof` — RFC 9162 proofs.
* :class:`VerifyReport`, :class:`Gap`, :class:`EntryVerification` — what verification found.
* :func:`export_bundle`, :func:`build_bundle`, :func:`load_bundle`, :func:`verify_bundle` —
  offline evidence; :func:`bundle_entries` reads a full bundle's entries back (for a replay).
"""

from __future__ import annotations

from sealog.ledger._ledger import EntryVerification, Ledger
from sealog.ledger._sequencer import Receipt
from sealog.ledger.bundle import (
    BundleSummary,
    build_bundle,
    bundle_entries,
    export_bundle,
    load_bundle,
    verify_bundle,
    wire_entry,
)
from sealog.ledger.checkpoint import Checkpoint, SignedNote
from sealog.ledger.entry import MAX_ENTRY_BYTES, SignedEntry
from sealog.ledger.proofs import ConsistencyProof, InclusionProof
from sealog.ledger.storage import Registration, StoredEntry
from sealog.ledger.verify import Gap, VerifyReport

__all__ = [
    "MAX_ENTRY_BYTES",
    "BundleSummary",
    "Checkpoint",
    "ConsistencyProof",
    "EntryVerification",
    "Gap",
    "InclusionProof",
    "Ledger",
    "Receipt",
    "Registration",
    "SignedEntry",
    "SignedNote",
    "StoredEntry",
    "VerifyReport",
    "build_bundle",
    "bundle_entries",
    "export_bundle",
    "load_bundle",
    "verify_bundle",
    "wire_entry",
]
