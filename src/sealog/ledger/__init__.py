"""The ledger: signed entries in an RFC 9162 Merkle log with C2SP checkpoints.

Public names:

* :class:`Ledger` — open, append, read, prove, verify (the service every surface calls).
* :class:`SignedEntry`, :class:`Receipt`, :class:`StoredEntry`, :class:`Registration`.
* :class:`Checkpoint`, :class:`SignedNote` — C2SP checkpoints and signed notes.
* :class:`InclusionProof`, :class:`ConsistencyProof` — RFC 9162 proofs.
* :class:`VerifyReport`, :class:`Gap`, :class:`EntryVerification` — what verification found.
* :func:`export_bundle`, :func:`load_bundle`, :func:`verify_bundle` — offline evidence.
"""

from __future__ import annotations

from sealog.ledger._ledger import EntryVerification, Ledger
from sealog.ledger._sequencer import Receipt
from sealog.ledger.bundle import BundleSummary, export_bundle, load_bundle, verify_bundle
from sealog.ledger.checkpoint import Checkpoint, SignedNote
from sealog.ledger.entry import MAX_ENTRY_BYTES, SignedEntry
from sealog.ledger.proofs import ConsistencyProof, InclusionProof
from sealog.ledger.storage import Registration, StoredEntry
from sealog.ledger.verify import Gap, VerifyReport

__all__ = [
    BundleSummary.__name__,
    Checkpoint.__name__,
    ConsistencyProof.__name__,
    EntryVerification.__name__,
    Gap.__name__,
    InclusionProof.__name__,
    Ledger.__name__,
    "MAX_ENTRY_BYTES",
    Receipt.__name__,
    Registration.__name__,
    SignedEntry.__name__,
    SignedNote.__name__,
    StoredEntry.__name__,
    VerifyReport.__name__,
    export_bundle.__name__,
    load_bundle.__name__,
    verify_bundle.__name__,
]
