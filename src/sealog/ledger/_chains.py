"""Every author's chain as an audit meets it: links, holes, reorderings, duplicates.

Each author's entries must carry seq 0, 1, 2 … in log order, each citing the id of the one
before (``prev``). Tracking needs O(1) state per author plus the spans of sequence numbers not
yet seen, so an audit of any size keeps flat memory.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Chains"]


class _Reporter(Protocol):
    def __call__(self, kind: str, detail: str, **where: Any) -> None: ...


class _Chain:
    __slots__ = ("absent", "first_seq", "last_bad", "last_id", "next_seq")

    def __init__(self, first_seq: int) -> None:
        self.first_seq = first_seq
        self.next_seq = 0
        self.last_id: str | None = None
        self.last_bad = False
        self.absent: list[list[int]] = []


class Chains:
    """The chains of every author met so far; problems go to ``report`` as gaps."""

    def __init__(self, report: _Reporter, *, partial: bool) -> None:
        """Track chains, reporting gaps through ``report``.

        Args:
            report: called as ``report(kind, detail, index=…, author=…, seq=…)``.
            partial: a selection of entries: each chain is checked from its first entry met.
        """
        self._report = report
        self._partial = partial
        self._chains: dict[str, _Chain] = {}

    def __len__(self) -> int:
        """Number of authors met."""
        return len(self._chains)

    def first_seq(self, author: str) -> int | None:
        """The first sequence number of ``author`` met, or None."""
        chain = self._chains.get(author)
        return None if chain is None else chain.first_seq

    def link(
        self,
        author: str,
        seq: int,
        prev: str | None,
        entry_id: str | None,
        index: int,
        *,
        bad: bool,
    ) -> None:
        """Place the author's entry ``seq`` (at log ``index``) in its chain.

        ``bad`` marks an entry already found altered: its link is not checked, nor is the
        next entry's link to it (one alteration is one gap, not two).
        """
        chain = self._chains.get(author)
        if chain is None:
            chain = self._chains[author] = _Chain(seq)
            if self._partial:
                chain.next_seq = seq
                chain.last_bad = True
        where = {"index": index, "author": author, "seq": seq}
        if seq == chain.next_seq:
            if not bad and not chain.last_bad and prev != chain.last_id:
                detail = f"prev cites {prev}, but seq {seq - 1} has id {chain.last_id}"
                self._report("broken-link", detail, **where)
            chain.next_seq = seq + 1
        elif seq > chain.next_seq:
            chain.absent.append([chain.next_seq, seq - 1])
            chain.next_seq = seq + 1
        else:
            for span in chain.absent:
                if span[0] <= seq <= span[1]:
                    self._report(
                        "reordered", "entry appears after a later one of its author", **where
                    )
                    _carve(chain, span, seq)
                    break
            else:
                self._report("duplicated", f"seq {seq} of this author appeared before", **where)
            return
        chain.last_id = entry_id
        chain.last_bad = bad

    def report_missing(self) -> None:
        """Report every span of sequence numbers never met, author by author."""
        for author, chain in self._chains.items():
            for first, last in chain.absent:
                span = f"seq {first}" if first == last else f"seqs {first}..{last}"
                self._report(
                    "missing", f"{span} of this author are absent", author=author, seq=first
                )


def _carve(chain: _Chain, span: list[int], seq: int) -> None:
    """Remove ``seq`` from an absent span, keeping what is still absent on either side."""
    chain.absent.remove(span)
    if span[0] < seq:
        chain.absent.append([span[0], seq - 1])
    if seq < span[1]:
        chain.absent.append([seq + 1, span[1]])
