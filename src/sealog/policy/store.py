"""Policy versions in the ledger: owner-signed, numbered, never deleted.

Setting a policy seals a ``policy`` entry signed by the agent's owner. It carries the policy
document as written (so anyone can load it again), its format, and the hash of the normalized
policy (:meth:`Policy.hash`). Versions count from 1 with no gaps; a new one supersedes the last,
and the old ones stay in the log, so the version in force at any moment is provable. The ledger
enforces the owner and the numbering; this module validates the document before it is signed
and checks, when a version is read back, that the document still yields the hash it was sealed
with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealog.crypto import SigningKey
from sealog.errors import NotFound, PolicyError, UsageError, VerificationError
from sealog.ledger import Ledger, Receipt, StoredEntry
from sealog.ledger.entry import MAX_POLICY_CHARS
from sealog.policy._loader import load_policy
from sealog.policy.model import Policy

__all__ = ["PolicyVersion", "current_policy", "document_of", "policy_history", "set_policy"]


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One sealed version of an agent's policy."""

    agent: str
    version: int
    index: int
    """Where the ``policy`` entry sits in the log."""
    entry_id: str
    time: str
    owner: str
    policy_hash: str
    document: str
    format: str
    source: str | None

    @classmethod
    def from_entry(cls, stored: StoredEntry) -> PolicyVersion:
        """Read a ``policy`` entry."""
        fields = stored.entry.fields
        source = fields.get("source")
        return cls(
            agent=str(fields["agent"]),
            version=int(fields["version"]),
            index=stored.index,
            entry_id=stored.entry.id,
            time=stored.entry.time,
            owner=stored.entry.author,
            policy_hash=str(fields["policy_hash"]),
            document=str(fields["document"]),
            format=str(fields["format"]),
            source=None if source is None else str(source),
        )

    def policy(self) -> Policy:
        """Load the sealed document again and check it yields the sealed hash.

        Raises:
            VerificationError: the document no longer loads, or loads to another policy
                (another sealog version normalizes it differently, or the entry lies).
        """
        label = f"{self.agent[:15]}… policy v{self.version}"
        try:
            policy = load_policy(self.document, source=label)
        except PolicyError as exc:
            raise VerificationError(f"sealed {label} no longer loads: {exc.message}") from exc
        if policy.hash() != self.policy_hash:
            raise VerificationError(
                f"sealed {label} loads to {policy.hash()}, not the sealed {self.policy_hash}"
            )
        return policy

    def to_dict(self, *, with_document: bool = True) -> dict[str, Any]:
        """JSON-ready form."""
        data: dict[str, Any] = {
            "agent": self.agent,
            "version": self.version,
            "index": self.index,
            "entry_id": self.entry_id,
            "time": self.time,
            "owner": self.owner,
            "policy_hash": self.policy_hash,
            "format": self.format,
            "source": self.source,
        }
        if with_document:
            data["document"] = self.document
        return data


def document_of(path_or_text: str | Path) -> tuple[str, str, str | None]:
    """The policy text as written, its format and the name of its file (None for text)."""
    if isinstance(path_or_text, Path):
        try:
            text = path_or_text.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{path_or_text}: cannot read policy: {exc}") from exc
        fmt = "json" if path_or_text.suffix.lower() == ".json" else "yaml"
        return text, fmt, path_or_text.name
    try:
        json.loads(path_or_text)
    except ValueError:
        return path_or_text, "yaml", None
    return path_or_text, "json", None


def set_policy(
    ledger: Ledger, owner: SigningKey, agent: str, path_or_text: str | Path
) -> tuple[PolicyVersion, Receipt]:
    """Validate a policy and seal it as the agent's next version, signed by its owner.

    Raises:
        PolicyError: the document is invalid (nothing is sealed).
        NotFound: ``agent`` is not registered.
        UsageError: ``agent`` is an owner, ``owner`` is not its owner, or the document is too
            large to seal.
        EntryRejected: the ledger refused the entry (e.g. another version was set meanwhile).
    """
    text, fmt, source = document_of(path_or_text)
    policy = load_policy(text, source=source or "<policy>")
    registration = ledger.agent(agent)
    if registration.role != "agent":
        raise UsageError(f"{agent} is an owner; policies govern agents")
    if registration.owner != owner.address:
        raise UsageError(f"{owner.address} is not the owner of {agent}; only its owner sets it")
    if len(text) > MAX_POLICY_CHARS:
        raise UsageError(f"policy is {len(text)} characters; at most {MAX_POLICY_CHARS} are sealed")
    history = policy_history(ledger, agent)
    fields: dict[str, Any] = {
        "agent": agent,
        "version": history[-1].version + 1 if history else 1,
        "document": text,
        "format": fmt,
        "policy_hash": policy.hash(),
    }
    if source is not None:
        fields["source"] = source
    receipt = ledger.append_entry(owner, "policy", fields)
    return PolicyVersion.from_entry(ledger.get(receipt.index)), receipt


def policy_history(ledger: Ledger, agent: str) -> list[PolicyVersion]:
    """Every sealed version of the agent's policy, oldest first.

    Raises:
        NotFound: ``agent`` is not registered.
    """
    registration = ledger.agent(agent)
    if registration.owner is None:
        return []
    return [
        PolicyVersion.from_entry(stored)
        for stored in ledger.entries(agent=registration.owner)
        if stored.entry.kind == "policy" and stored.entry.fields.get("agent") == agent
    ]


def current_policy(ledger: Ledger, agent: str, version: int | None = None) -> PolicyVersion:
    """The version in force now (the latest), or the one numbered ``version``.

    Raises:
        NotFound: the agent is unknown, has no policy, or no such version.
    """
    history = policy_history(ledger, agent)
    if not history:
        raise NotFound(f"agent {agent} has no policy", hint="set one with 'sealog policy set'")
    if version is None:
        return history[-1]
    for sealed in history:
        if sealed.version == version:
            return sealed
    raise NotFound(
        f"agent {agent} has no policy version {version} (latest is {history[-1].version})"
    )
