"""Evidence bundles: everything an outsider needs to verify entries offline (spec §7).

A bundle is one JSON document::

    {
      "format": "sealog-bundle/v1",
      "log": {"origin": "...", "vkey": "<C2SP verifier key of the log>"},
      "checkpoint": "<log-signed checkpoint note>",
      "scope": {"full": true|false, "agent": addr|null, "since": time|null, "until": time|null},
      "keys": [{"address", "public_key", "role", "owner", "name"}],
      "entries": [{"index", "entry": base64(E), "sig": base64(S), "proof": [hex, ...]}]
    }

A *full* bundle holds every entry below the checkpoint's size, so the verifier recomputes the
root and can prove completeness; a *partial* one (an agent's entries, a time range) carries an
inclusion proof per entry instead. Verifiers should pin the log's key (``log_vkey``); a bundle
checked only against the key it carries proves integrity, not who ran the log.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sealog._encoding import b64decode_strict
from sealog.crypto import PublicKey
from sealog.errors import EntryRejected, Error, FormatError, UsageError, VerificationError
from sealog.ledger._ledger import Ledger
from sealog.ledger._merkle import leaf_hash
from sealog.ledger.checkpoint import Checkpoint
from sealog.ledger.entry import SignedEntry, format_time, parse_time
from sealog.ledger.proofs import InclusionProof
from sealog.ledger.storage import StoredEntry
from sealog.ledger.verify import Audit, VerifyReport

__all__ = [
    "BUNDLE_FORMAT",
    "MAX_BUNDLE_BYTES",
    "BundleSummary",
    "build_bundle",
    "bundle_entries",
    "export_bundle",
    "verify_bundle",
    "wire_entry",
]

BUNDLE_FORMAT = "sealog-bundle/v1"
MAX_BUNDLE_BYTES = 2 << 30
"""Largest bundle file read (2 GiB)."""


@dataclass(frozen=True, slots=True)
class BundleSummary:
    """What an export wrote."""

    path: Path
    entries: int
    tree_size: int
    full: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": str(self.path),
            "entries": self.entries,
            "tree_size": self.tree_size,
            "full": self.full,
        }


def _time_filter(text: str | None, what: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--{what} {text!r} is not an ISO 8601 date or time") from exc
    if moment.tzinfo is None:
        raise UsageError(f"--{what} {text!r} needs a timezone (e.g. 2026-11-21T00:00:00Z)")
    return moment


def export_bundle(
    ledger: Ledger,
    out: Path,
    *,
    agent: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> BundleSummary:
    """Write a bundle of the ledger (or an agent's or a time range's part of it) to ``out``.

    The file is written to a temporary name and renamed, so a crash never leaves half a bundle.

    Raises:
        UsageError: a bad time filter.
        NotFound: ``agent`` is not registered.
    """
    bundle = build_bundle(ledger, agent=agent, since=since, until=until)
    atomic_write(out, json.dumps(bundle, indent=1).encode())
    size = Checkpoint.open(bundle["checkpoint"], ledger.vkey)[0].size
    return BundleSummary(out, len(bundle["entries"]), size, bundle["scope"]["full"])


def build_bundle(
    ledger: Ledger,
    *,
    agent: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """A bundle (spec §7) of the ledger, or of an agent's or a time range's part of it.

    ``limit`` caps the entries selected (registrations added for a partial bundle not counted).

    Raises:
        UsageError: a bad time filter, or more than ``limit`` entries selected
            (code ``bundle-too-large``).
        NotFound: ``agent`` is not registered.
    """
    start, stop = _time_filter(since, "since"), _time_filter(until, "until")
    if agent is not None:
        ledger.agent(agent)
    note = ledger.checkpoint()
    checkpoint, _ = Checkpoint.open(note, ledger.vkey)
    full = agent is None and start is None and stop is None

    def matching() -> Iterator[StoredEntry]:
        for stored in ledger.entries(agent=agent, end=checkpoint.size):
            if start or stop:
                when = parse_time(stored.entry.time)
                if (start and when < start) or (stop and when > stop):
                    continue
            yield stored

    chosen: list[StoredEntry] = []
    for stored in matching():
        if limit is not None and len(chosen) == limit:
            raise UsageError(
                f"the bundle would hold more than {limit} entries",
                code="bundle-too-large",
                hint="narrow it by agent or time, or export it with `sealog export`",
            )
        chosen.append(stored)
    authors = {stored.entry.author for stored in chosen}
    if not full:
        have = {stored.index for stored in chosen}
        chosen.extend(ledger.get(i) for i in sorted(_registration_indices(ledger, authors) - have))
        chosen.sort(key=lambda stored: stored.index)
    items = []
    for stored in chosen:
        item: dict[str, Any] = {"index": stored.index, **wire_entry(stored.entry)}
        if not full:
            proof = ledger.prove_inclusion(stored.index, checkpoint.size)
            item["proof"] = [h.hex() for h in proof.hashes]
        items.append(item)
    keys = [
        {
            "address": reg.address,
            "public_key": base64.b64encode(reg.public_key).decode(),
            "role": reg.role,
            "owner": reg.owner,
            "name": reg.name,
        }
        for reg in ledger.registrations()
        if full or reg.address in authors
    ]
    return {
        "format": BUNDLE_FORMAT,
        "log": {"origin": ledger.origin, "vkey": ledger.vkey},
        "checkpoint": note,
        "scope": {
            "full": full,
            "agent": agent,
            "since": None if start is None else format_time(start),
            "until": None if stop is None else format_time(stop),
        },
        "keys": keys,
        "entries": items,
    }


def _registration_indices(ledger: Ledger, authors: set[str]) -> set[int]:
    """Indices of the register entries that prove the authors' keys (and their owners')."""
    wanted: set[int] = set()
    pending = set(authors)
    seen: set[str] = set()
    while pending:
        address = pending.pop()
        seen.add(address)
        reg = ledger.agent(address)
        wanted.add(reg.index)
        if reg.owner is not None and reg.owner not in seen:
            pending.add(reg.owner)
    return wanted


def atomic_write(path: Path, data: bytes) -> None:
    folder = path.parent if str(path.parent) else Path()
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"cannot write to {folder}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror}") from exc


def load_bundle(path: Path) -> dict[str, Any]:
    """Read and parse a bundle file.

    Raises:
        FormatError: unreadable, too large, not JSON, or not a sealog bundle.
    """
    try:
        if path.is_dir():
            raise FormatError(f"{path} is a directory, not a bundle file")
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise FormatError(f"{path} is larger than the 2 GiB bundle limit")
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise FormatError(f"no bundle file at {path}") from exc
    except OSError as exc:
        raise FormatError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FormatError(f"{path} is not a sealog bundle (not JSON)") from exc
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise FormatError(f"{path} is not a sealog bundle (format is not {BUNDLE_FORMAT})")
    return data


def verify_bundle(bundle: dict[str, Any], *, log_vkey: str | None = None) -> VerifyReport:
    """Verify a parsed bundle offline.

    Args:
        bundle: the parsed document (see :func:`load_bundle`).
        log_vkey: the log key to trust; None trusts the key the bundle carries, which the
            report's scope then says.

    Raises:
        FormatError: the bundle's structure is malformed beyond reporting entry by entry,
            or a verifier key is not a well-formed Ed25519 note key.
    """
    if bundle.get("format") != BUNDLE_FORMAT:
        raise FormatError(f"not a sealog bundle (format is not {BUNDLE_FORMAT})")
    log = bundle.get("log")
    if not isinstance(log, dict) or not isinstance(log.get("vkey"), str):
        raise FormatError("bundle lacks the log's verifier key")
    pinned = log_vkey is not None
    vkey = log_vkey if log_vkey is not None else str(log["vkey"])
    PublicKey.from_vkey(vkey)
    scope = bundle.get("scope")
    entries = bundle.get("entries")
    keys = bundle.get("keys")
    if not isinstance(scope, dict) or not isinstance(entries, list) or not isinstance(keys, list):
        raise FormatError("bundle lacks scope, keys or entries")
    full = scope.get("full") is True
    for item in keys:
        if not isinstance(item, dict):
            raise FormatError("bundle key is not an object")
        key = PublicKey(b64decode_strict(item.get("public_key"), "key"))
        if key.address != item.get("address"):
            raise FormatError(f"bundle key for {item.get('address')} does not hash to that address")
    label = "bundle (full)" if full else "bundle (partial)"
    audit = Audit(
        scope=label + ("" if pinned else ", log key not pinned"),
        partial=not full,
        selected=None if full else _selection(scope),
    )
    try:
        checkpoint, _ = Checkpoint.open(str(bundle.get("checkpoint")), vkey)
    except (FormatError, VerificationError) as exc:
        audit.gap("bad-checkpoint", f"checkpoint does not verify: {exc.message}")
        return audit.report
    if full:
        audit = Audit(
            scope=audit.report.scope, checkpoints=[(checkpoint.size, checkpoint.root, "log")]
        )
    for position, item in enumerate(entries):
        try:
            index, data, sig = _bundle_entry(item, position)
        except FormatError as exc:
            audit.gap("altered", exc.message, index=position)
            continue
        audit.feed(index, data, sig)
        if not full:
            _check_proof(audit, item, index, sig + data, checkpoint)
    agent = scope.get("agent")
    if not full and isinstance(agent, str) and scope.get("since") is None:
        first = audit.first_seq(agent)
        if first is None or first > 0:
            audit.gap(
                "missing",
                "the bundle claims all the agent's entries, but its chain does not start at seq 0",
                author=agent,
                seq=0,
            )
    return audit.finish(checkpoint)


def wire_entry(entry: SignedEntry) -> dict[str, str]:
    """An entry as bundles and the HTTP API carry it (spec §7.1): base64 of E and of S."""
    return {
        "entry": base64.b64encode(entry.data).decode("ascii"),
        "sig": base64.b64encode(entry.signature).decode("ascii"),
    }


def bundle_entries(bundle: dict[str, Any]) -> Iterator[StoredEntry]:
    """The entries of a full bundle, in log order, for a replay (verify the bundle first).

    Raises:
        UsageError: the bundle is partial (a replay needs every entry before each decision).
        FormatError: an entry is unreadable or not canonical.
    """
    scope = bundle.get("scope")
    if not isinstance(scope, dict) or scope.get("full") is not True:
        raise UsageError("a replay needs the whole log: export a full bundle (no --agent/--since)")
    entries = bundle.get("entries")
    if not isinstance(entries, list):
        raise FormatError("bundle lacks entries")
    for position, item in enumerate(entries):
        index, data, sig = _bundle_entry(item, position)
        try:
            yield StoredEntry(index, SignedEntry.parse(data, sig))
        except EntryRejected as exc:
            raise FormatError(f"bundle entry {position}: {exc.message}") from exc


def _selection(scope: dict[str, Any]) -> Callable[[str, object], bool]:
    """Which entries of a partial bundle are its selection, whose chains must link (spec §7.3).

    The others are the register entries carried to prove the selection's authors' keys: an
    owner's self-registration and its registration of an agent are rarely adjacent in its chain.

    Raises:
        FormatError: ``agent`` is not null or a string, or ``since``/``until`` not null or a time.
    """
    agent, since, until = scope.get("agent"), scope.get("since"), scope.get("until")
    if agent is not None and not isinstance(agent, str):
        raise FormatError("bundle scope agent must be an address or null")
    for name, value in (("since", since), ("until", until)):
        try:
            if value is not None:
                parse_time(value if isinstance(value, str) else repr(value))
        except ValueError as exc:
            raise FormatError(f"bundle scope {name} must be an entry time or null") from exc

    def selected(author: str, time: object) -> bool:
        if agent is not None and author != agent:
            return False
        if since is None and until is None:
            return True
        return (
            isinstance(time, str)
            and (since is None or time >= since)
            and (until is None or time <= until)
        )

    return selected


def _bundle_entry(item: Any, position: int) -> tuple[int, bytes, bytes]:
    if not isinstance(item, dict) or type(item.get("index")) is not int:
        raise FormatError(f"bundle entry {position} lacks an integer index")
    return (
        int(item["index"]),
        b64decode_strict(item.get("entry"), "entry"),
        b64decode_strict(item.get("sig"), "sig"),
    )


def _check_proof(
    audit: Audit, item: dict[str, Any], index: int, leaf: bytes, checkpoint: Checkpoint
) -> None:
    try:
        proof = InclusionProof.from_dict(
            {
                "index": index,
                "tree_size": checkpoint.size,
                "leaf_hash": leaf_hash(leaf).hex(),
                "hashes": item.get("proof"),
            }
        )
        proof.verify(checkpoint.root)
    except Error as exc:
        audit.gap("altered", f"not included in the checkpoint: {exc.message}", index=index)
