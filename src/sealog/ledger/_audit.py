"""Verification: what an auditor runs, trusting no one (spec §8).

:class:`Audit` reads entries as stored bytes, in index order, once, and answers two separate
questions (DESIGN §3):

* **intact** — nothing was altered: every entry parses, is canonical and carries a valid
  signature by its author; every author's chain links (``prev`` = id of seq−1); the tree
  recomputed from the stored bytes has the root of every signed checkpoint held.
* **complete** — nothing is missing: no index is skipped, no author's sequence has a hole, and
  the log is not shorter than any checkpoint it signed (no truncated tail).

Each problem is a :class:`Gap` naming its kind, index, author and sequence number where they are
known. The audit fails closed: an unknown key, an unparsable entry or a missing checkpoint is a
gap, never a pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sealog.crypto import PublicKey
from sealog.errors import EntryRejected, FormatError
from sealog.ledger._chains import Chains
from sealog.ledger._merkle import EMPTY_ROOT, CompactRange, leaf_hash
from sealog.ledger._parallel import Job, SignatureChecker
from sealog.ledger.checkpoint import Checkpoint
from sealog.ledger.entry import SignedEntry
from sealog.ledger.report import Gap, VerifyReport

__all__ = ["Audit"]


@dataclass(slots=True, eq=False)
class _Row:
    """One row between its ordered preparation and its settling after the signature check."""

    gaps: list[Gap] = field(default_factory=list)
    entry: SignedEntry | None = None
    key: PublicKey | None = None
    """Set when the entry's signature is still to be checked under this key."""
    where: dict[str, Any] | None = None
    bad: bool = False
    ok: bool = True
    link: tuple[str, int, str | None, str | None, int] | None = None
    problem: str | None = None
    """A ``policy`` rule the entry breaks, reported only if its signature holds."""

    def job(self) -> Job:
        """The deferred signature check."""
        assert self.entry is not None
        assert self.key is not None
        return self.key, self.entry.signed_message(), self.entry.signature


class Audit:
    """A single streaming pass over a log's stored rows.

    Feed rows with :meth:`feed` in index order, then call :meth:`finish` with the checkpoint
    to hold the log to. Keys are learned only from valid register entries met earlier in the
    pass (an owner registers itself, a registered owner registers agents), never from a table
    or list beside the log, so an author nobody registered cannot pass.
    """

    def __init__(
        self,
        *,
        scope: str,
        agent: str | None = None,
        checkpoints: Iterable[tuple[int, bytes, str]] = (),
        max_gaps: int = 1000,
        partial: bool = False,
        selected: Callable[[str, object], bool] | None = None,
    ) -> None:
        """Start an audit.

        Args:
            scope: what is being verified, for the report.
            agent: check signatures and chains of this author only (the tree is always whole).
            checkpoints: (tree size, root hash, source) of signed checkpoints to hold the log
                to, compared when the recomputed tree reaches each size; ``source`` is
                ``"log"`` for the log's own, ``"saved"`` for one the verifier kept.
            max_gaps: stop recording gaps past this many (the verdict is already a failure).
            partial: the rows are a selection (an agent's or a time range's entries, each
                proven by inclusion proof instead): indices may skip, the tree is not
                recomputed, and each author's chain is checked from its first entry present.
            selected: (author, time) → whether an entry belongs to the selection whose chains
                are checked; the others (a partial bundle's register entries that prove its
                authors' keys) are checked for signature and registration only. None: all.
        """
        self._partial = partial
        self._selected = selected
        self.report = VerifyReport(scope=scope)
        self._known: dict[str, tuple[PublicKey, str]] = {}
        self._owners: dict[str, str] = {}
        self._policy_versions: dict[str, int] = {}
        self._agent = agent
        self._tree = CompactRange()
        self._tree_whole = True
        self._next_index = 0
        self._chains = Chains(self.gap, partial=partial)
        self._roots: dict[int, list[tuple[bytes, str]]] = {}
        for size, root, source in checkpoints:
            self._roots.setdefault(size, []).append((root, source))
        self._has_saved = any(
            source == "saved" for held in self._roots.values() for _, source in held
        )
        self._max_gaps = max_gaps
        self._first_bad_size: int | None = None
        self._last_good_size = 0
        self._good_after_bad = False
        self._sink: list[Gap] | None = None

    def gap(self, kind: str, detail: str, **where: Any) -> None:
        """Record a problem (held with its row while the row's signature is checked)."""
        found = Gap(kind, detail, **where)
        if self._sink is not None:
            self._sink.append(found)
        elif len(self.report.gaps) < self._max_gaps:
            self.report.gaps.append(found)

    def feed(
        self, index: int, data: bytes, signature: bytes, stored_leaf: bytes | None = None
    ) -> None:
        """Check one stored row.

        Args:
            index: the row's leaf index as stored.
            data: E as stored.
            signature: S as stored.
            stored_leaf: the leaf hash stored beside the row, if the store keeps one; a
                mismatch locates an edit to E or S that left the index alone.
        """
        row = self._prepare(index, data, signature, stored_leaf)
        if row.key is not None:
            key, message, sig = row.job()
            row.ok = key.verify(message, sig)
        self._settle(row)

    def feed_all(
        self,
        rows: Iterable[tuple[int, bytes, bytes, bytes | None]],
        checker: SignatureChecker,
        chunk: int = 2048,
    ) -> None:
        """Check many rows in order, each chunk's signatures on ``checker``'s threads.

        The same steps as :meth:`feed`: a chunk of rows is prepared in order on this thread,
        then its ordinary entries' signatures are checked together (on both cores), then the
        rows are settled in order, so the report is the one :meth:`feed` would give. Overlapping
        the preparation with the checks was measured slower on this machine (GIL hand-offs).
        """
        batch: list[tuple[int, bytes, bytes, bytes | None]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == chunk:
                self._feed_chunk(batch, checker)
                batch = []
        if batch:
            self._feed_chunk(batch, checker)

    def _feed_chunk(
        self, batch: list[tuple[int, bytes, bytes, bytes | None]], checker: SignatureChecker
    ) -> None:
        prepared = [self._prepare(*row) for row in batch]
        deferred = [r for r in prepared if r.key is not None]
        verdicts = checker.check([r.job() for r in deferred])
        for row, ok in zip(deferred, verdicts, strict=True):
            row.ok = ok
        for row in prepared:
            self._settle(row)

    def _prepare(
        self, index: int, data: bytes, signature: bytes, stored_leaf: bytes | None
    ) -> _Row:
        """Everything about a row but the signature check of an ordinary entry, in order."""
        row = _Row()
        self._sink = row.gaps
        try:
            self._prepare_into(row, index, data, signature, stored_leaf)
        finally:
            self._sink = None
        return row

    def _place(self, index: int, data: bytes, signature: bytes) -> bytes:
        """Check the row's index, extend the recomputed tree with it; return its leaf hash."""
        if self._partial:
            self._tree_whole = False
        elif index != self._next_index:
            if index > self._next_index:
                self.gap(
                    "missing",
                    f"indices {self._next_index}..{index - 1} are absent",
                    index=self._next_index,
                )
            else:
                self.gap("duplicated", f"index {index} appears again", index=index)
            self._tree_whole = False
        self._next_index = index + 1
        self.report.total_entries += 1
        leaf = leaf_hash(signature + data)
        if self._tree_whole:
            self._tree.append(leaf)
            self._hold_to_checkpoint()
        return leaf

    def _prepare_into(
        self, row: _Row, index: int, data: bytes, signature: bytes, stored_leaf: bytes | None
    ) -> None:
        leaf = self._place(index, data, signature)
        try:
            entry = SignedEntry.parse(data, signature, leaf=leaf)
        except EntryRejected as exc:
            author, seq, time = _loose_locator(data)
            self.gap(
                "altered",
                f"entry is unreadable: {exc.message}",
                index=index,
                author=author,
                seq=seq,
            )
            if author is not None and seq is not None and self._chained(author, time):
                row.bad = True
                row.link = (author, seq, None, None, index)
            return
        author = entry.author
        mine = self._agent is None or author == self._agent
        if not mine and entry.kind != "register":
            return
        where = {"index": index, "author": author, "seq": entry.seq}
        row.where = where
        if stored_leaf is not None and stored_leaf != leaf:
            self.gap("altered", "entry bytes do not hash to the stored leaf", **where)
            row.bad = True
        known = self._known.get(author)
        key = known[0] if known is not None else None
        if key is None and entry.kind == "register" and entry.fields.get("subject") == author:
            key = _embedded_key(entry)
        if key is None:
            self.gap("unknown-key", "the author has no register entry before this one", **where)
            row.bad = True
        elif entry.kind == "register":
            self.report.signatures_checked += 1
            if not entry.verify(key):
                if not row.bad:
                    self.gap("altered", "signature does not verify", **where)
                row.bad = True
            if not row.bad:
                self._learn(entry, where)
        else:
            row.entry, row.key = entry, key
            if entry.kind == "policy" and not row.bad:
                row.problem = self._policy_rule(entry)
        if mine and self._chained(author, entry.time):
            row.link = (author, entry.seq, entry.prev, entry.id, index)

    def _settle(self, row: _Row) -> None:
        """Report a prepared row's gaps, its signature verdict, and link it into its chain."""
        for found in row.gaps:
            if len(self.report.gaps) < self._max_gaps:
                self.report.gaps.append(found)
        if row.key is not None:
            self.report.signatures_checked += 1
            if not row.ok:
                if not row.bad:
                    self.gap("altered", "signature does not verify", **(row.where or {}))
                row.bad = True
        if row.problem is not None and not row.bad:
            self.gap("bad-policy", row.problem, **(row.where or {}))
        if row.link is not None:
            author, seq, prev, entry_id, index = row.link
            self._chains.link(author, seq, prev, entry_id, index, bad=row.bad)

    def _chained(self, author: str, time: object) -> bool:
        return self._selected is None or self._selected(author, time)

    def knows(self, address: str) -> bool:
        """True if a valid register entry met so far introduced ``address``'s key."""
        return address in self._known

    def first_seq(self, author: str) -> int | None:
        """The first sequence number of ``author`` met in the pass, or None."""
        return self._chains.first_seq(author)

    def _learn(self, entry: SignedEntry, where: dict[str, Any]) -> None:
        """Take the key a valid register entry introduces, if the registration rules hold."""
        fields = entry.fields
        key, role = _embedded_key(entry), fields.get("role")
        sponsor = self._known.get(entry.author)
        if key is None:
            problem = "public_key is not a valid key for subject"
        elif key.address in self._known:
            problem = f"{key.address} is registered twice"
        elif role == "owner" and entry.author != key.address:
            problem = "an owner must register itself"
        elif role == "agent" and (sponsor is None or sponsor[1] != "owner"):
            problem = "an agent must be registered by a registered owner"
        elif role not in ("owner", "agent"):
            problem = f"unknown role {role!r}"
        else:
            self._known[key.address] = (key, str(role))
            if role == "agent":
                self._owners[key.address] = entry.author
            return
        self.gap("bad-registration", problem, **where)

    def _policy_rule(self, entry: SignedEntry) -> str | None:
        """The rule a ``policy`` entry breaks, judged in log order, or None (spec §4.8 rule 7).

        Only the agent's owner seals its policy, and versions run 1, 2, 3 … with no gap. In a
        partial selection the numbering is checked from the first version met, and an agent
        whose registration the selection does not carry is not judged.
        """
        agent, version = entry.fields.get("agent"), entry.fields.get("version")
        if not isinstance(agent, str) or type(version) is not int:
            return "a policy entry must name an agent and an integer version"
        owner = self._owners.get(agent)
        if owner is None:
            return None if self._partial else f"{agent} is not a registered agent"
        if owner != entry.author:
            return f"policy of {agent} is signed by {entry.author}, not by its owner {owner}"
        last = self._policy_versions.get(agent)
        expected = (version if self._partial else 1) if last is None else last + 1
        self._policy_versions[agent] = version
        if version != expected:
            return f"policy version {version} of {agent} does not follow version {expected - 1}"
        return None

    def _hold_to_checkpoint(self) -> None:
        size = self._tree.size
        held = self._roots.pop(size, None)
        if held is None:
            return
        mine = self._tree.root()
        for root, source in held:
            self.report.checkpoints_checked += 1
            if root == mine:
                if self._first_bad_size is None:
                    self._last_good_size = size
                elif source == "log":
                    self._good_after_bad = True
            elif source == "saved":
                self.report.consistent_with_saved = False
                self.gap(
                    "forked-checkpoint",
                    f"the log's tree at size {size} differs from the checkpoint you saved",
                    size=size,
                )
            elif self._first_bad_size is None:
                self._first_bad_size = size

    def finish(self, checkpoint: Checkpoint | None) -> VerifyReport:
        """Close the pass: missing sequence numbers, the root, the tail. Return the report.

        Args:
            checkpoint: the log-signed checkpoint to hold the log to (the latest one held);
                None is itself a failure.
        """
        report = self.report
        report.authors = len(self._chains)
        self._chains.report_missing()
        if checkpoint is None:
            self.gap("bad-checkpoint", "no signed checkpoint to verify the log against")
            return report
        report.tree_size = checkpoint.size
        for root, source in self._roots.pop(0, []):
            report.checkpoints_checked += 1
            if root == EMPTY_ROOT:
                continue
            if source == "saved":
                report.consistent_with_saved = False
                self.gap(
                    "forked-checkpoint", "the saved checkpoint of size 0 has a wrong root", size=0
                )
            else:
                self.gap("root-mismatch", "the log's checkpoint of size 0 has a wrong root", size=0)
        if self._partial:
            return report
        stored = self._next_index
        if stored < checkpoint.size:
            self.gap(
                "truncated-tail",
                f"checkpoint commits to {checkpoint.size} entries, only {stored} are present",
                index=stored,
                size=checkpoint.size,
            )
        elif stored > checkpoint.size:
            self.gap(
                "beyond-checkpoint",
                f"{stored - checkpoint.size} entries follow the last signed checkpoint",
                index=checkpoint.size,
                size=checkpoint.size,
            )
        for size, held in self._roots.items():
            if any(source == "saved" for _, source in held) and size > stored:
                report.consistent_with_saved = False
                self.gap(
                    "truncated-tail",
                    f"a checkpoint you saved commits to {size} entries, only {stored} remain",
                    index=stored,
                    size=size,
                )
        if report.consistent_with_saved is None and self._has_saved:
            report.consistent_with_saved = True
        # A log checkpoint is blamed only when a later one it signed matches the entries (two
        # views of the same prefix); otherwise the stored entries differ from what was signed.
        if self._first_bad_size is not None and self._good_after_bad:
            self.gap(
                "forked-checkpoint",
                f"the log signed a checkpoint at size {self._first_bad_size} whose root is not "
                "the tree of its entries",
                size=self._first_bad_size,
            )
        elif self._first_bad_size is not None:
            self.gap(
                "root-mismatch",
                "recomputed tree differs from a signed checkpoint; the change lies in "
                f"indices {self._last_good_size}..{self._first_bad_size - 1}",
                index=self._last_good_size,
                size=self._first_bad_size,
            )
        elif not self._tree_whole and stored >= checkpoint.size:
            self.gap(
                "root-mismatch",
                "indices are not contiguous, so the root cannot match",
                size=checkpoint.size,
            )
        return report


def _embedded_key(entry: SignedEntry) -> PublicKey | None:
    """The key a register entry introduces, if it is well formed and matches its subject."""
    try:
        key = PublicKey.from_b64(str(entry.fields.get("public_key")))
    except FormatError:
        return None
    return key if key.address == entry.fields.get("subject") else None


def _loose_locator(data: bytes) -> tuple[str | None, int | None, str | None]:
    """Best-effort author, seq and time of an entry too damaged to parse strictly."""
    try:
        fields = json.loads(data)
    except (ValueError, RecursionError):
        return None, None, None
    if not isinstance(fields, dict):
        return None, None, None
    author, seq, time = fields.get("author"), fields.get("seq"), fields.get("time")
    return (
        author if isinstance(author, str) else None,
        seq if type(seq) is int else None,
        time if isinstance(time, str) else None,
    )
