"""The ledger's own checks: the full audit of the stored log, and one entry's check.

Both read the stored bytes and trust no table beside them: the audit learns keys from register
entries as it passes them, and the one-entry check takes its author's key from the author's
register entry in the log, checked against its signer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sealog.crypto import PublicKey
from sealog.errors import FormatError, VerificationError
from sealog.ledger._audit import Audit
from sealog.ledger._parallel import SignatureChecker
from sealog.ledger.checkpoint import Checkpoint
from sealog.ledger.proofs import InclusionProof
from sealog.ledger.report import VerifyReport
from sealog.ledger.storage import Storage, StoredEntry

__all__ = ["EntryVerification", "audit_log", "check_entry"]


@dataclass(frozen=True, slots=True)
class EntryVerification:
    """What one entry's check found (``GET /verify/{id}`` answers this)."""

    index: int
    id: str
    author: str
    signature_valid: bool
    chain_intact: bool
    included: bool
    proof: InclusionProof | None
    checkpoint: str | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "index": self.index,
            "id": self.id,
            "author": self.author,
            "signature_valid": self.signature_valid,
            "chain_intact": self.chain_intact,
            "included": self.included,
            "proof": None if self.proof is None else self.proof.to_dict(),
            "checkpoint": self.checkpoint,
            "detail": self.detail,
        }


def audit_log(
    storage: Storage,
    vkey: str,
    checker: SignatureChecker,
    *,
    agent: str | None = None,
    since_checkpoint: str | None = None,
) -> VerifyReport:
    """Audit every stored row against every stored checkpoint (and one saved earlier).

    Raises:
        VerificationError: ``since_checkpoint`` is not signed by this log.
    """
    held: list[tuple[int, bytes, str]] = []
    latest: Checkpoint | None = None
    bad: list[tuple[int, str]] = []
    for size, note in storage.checkpoints():
        try:
            checkpoint, _ = Checkpoint.open(note, vkey)
        except (FormatError, VerificationError) as exc:
            bad.append((size, exc.message))
            continue
        held.append((checkpoint.size, checkpoint.root, "log"))
        latest = checkpoint
    if since_checkpoint is not None:
        try:
            saved, _ = Checkpoint.open(since_checkpoint, vkey)
        except FormatError as exc:
            raise VerificationError(f"saved checkpoint is unreadable: {exc.message}") from exc
        held.append((saved.size, saved.root, "saved"))
    audit = Audit(scope="log" if agent is None else f"agent {agent}", agent=agent, checkpoints=held)
    for size, message in bad:
        audit.gap("bad-checkpoint", f"stored checkpoint does not verify: {message}", size=size)
    audit.feed_all(storage.raw_entries(), checker)
    if agent is not None and not audit.knows(agent):
        audit.gap("unknown-key", f"{agent} has no valid register entry in this log", author=agent)
    return audit.finish(latest)


def _proven_key(
    storage: Storage, address: str, depth: int = 0
) -> tuple[PublicKey | None, str | None]:
    """The key of ``address`` as its register entry in the log states it, checked.

    The registry table only points at the register entry; the key is taken from that entry,
    whose signature is checked against its author's own proven key (the owner's, or the
    subject's own for an owner).
    """
    reg = storage.registration(address)
    stored = None if reg is None else storage.entry(reg.index)
    fields = {} if stored is None else stored.entry.fields
    if stored is None or stored.entry.kind != "register" or fields.get("subject") != address:
        return None, f"{address} has no register entry in the log"
    try:
        key = PublicKey.from_b64(str(fields.get("public_key")))
    except FormatError:
        return None, f"the register entry of {address} holds no valid key"
    author, role = stored.entry.author, fields.get("role")
    if role == "owner" and author == address:
        signer: PublicKey | None = key
    elif role == "agent" and depth == 0 and _role_in_log(storage, author) == "owner":
        signer, _ = _proven_key(storage, author, depth + 1)
    else:
        return None, f"the register entry of {address} breaks the registration rules"
    if signer is None or not stored.entry.verify(signer):
        return None, f"the register entry of {address} does not verify"
    return key, None


def _role_in_log(storage: Storage, address: str) -> object:
    """The role the register entry of ``address`` in the log states, if any."""
    reg = storage.registration(address)
    stored = None if reg is None else storage.entry(reg.index)
    if stored is None or stored.entry.fields.get("subject") != address:
        return None
    return stored.entry.fields.get("role")


def check_entry(
    storage: Storage,
    vkey: str,
    stored: StoredEntry,
    prove: Callable[[int, int], InclusionProof],
) -> EntryVerification:
    """Check one stored entry: signature, links in its author's chain, inclusion."""
    entry = stored.entry
    key, why = _proven_key(storage, entry.author)
    signature_valid = key is not None and entry.verify(key)
    problems = [] if signature_valid else [why or "signature does not verify"]
    chain_intact = True
    if entry.seq > 0:
        before = storage.by_seq(entry.author, entry.seq - 1)
        if before is None or before.entry.id != entry.prev:
            chain_intact = False
            problems.append(f"prev does not match seq {entry.seq - 1}")
    after = storage.by_seq(entry.author, entry.seq + 1)
    if after is not None and after.entry.prev != entry.id:
        chain_intact = False
        problems.append(f"seq {entry.seq + 1} does not cite this entry")
    note = storage.checkpoint()
    if note is None:
        raise VerificationError("the ledger holds no checkpoint")
    checkpoint, _ = Checkpoint.open(note, vkey)
    proof: InclusionProof | None = None
    included = False
    if stored.index < checkpoint.size:
        proof = prove(stored.index, checkpoint.size)
        try:
            if proof.leaf_hash != entry.leaf:
                raise VerificationError("stored leaf differs from the entry's hash")
            proof.verify(checkpoint.root)
            included = True
        except VerificationError as exc:
            problems.append(f"not included: {exc.message}")
    else:
        problems.append("entry is beyond the latest checkpoint")
    return EntryVerification(
        index=stored.index,
        id=entry.id,
        author=entry.author,
        signature_valid=signature_valid,
        chain_intact=chain_intact,
        included=included,
        proof=proof,
        checkpoint=note,
        detail="; ".join(problems) or "signature valid, chain intact, included",
    )
