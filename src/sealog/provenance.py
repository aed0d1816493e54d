"""Provenance across agents: which entries produced a piece of content, and from what.

An ``action`` entry may name the content it produced (``content_hash``) and the content it was
built from (``sources``, content hashes, spec §4.5). :class:`ProvenanceIndex` folds those into a
graph keyed by content hash, and :meth:`ProvenanceIndex.lineage` walks it back from one hash:
every stage (the entries that produced each piece of content, by whom, when, from what), where
content **entered** the pipeline (a stage built from nothing the log knows), and — given the
contents themselves (a folder of files named by content, or any lookup) — where it **diverged**
from its sources: the figures (numbers, percentages, amounts) a stage states that none of its
sources state, so a fabricated statistic is traced to the stage that introduced it.

Content is never in the log, only hashes; the divergence check reads content the caller has.
A stage may pass content on unchanged (its own hash among its sources). Otherwise, since a
content hash names its content, content cannot be built from its own descendants: an entry
whose sources lead back to its own content through other content is refused
(``provenance-cycle``).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealog.content import content_hash, is_content_hash
from sealog.errors import EntryRejected, NotFound, UsageError
from sealog.ledger import SignedEntry

__all__ = ["MAX_NODES", "Lineage", "ProvenanceIndex", "Stage", "content_folder"]

MAX_NODES = 10_000
"""Most pieces of content one lineage walks (a bound on hostile graphs)."""
_FIGURE = re.compile(r"(?<![\w.])[$€£]?\d[\d,]*(?:\.\d+)?\s?(?:%|percent\b|k\b|m\b|bn\b)?")


@dataclass(frozen=True, slots=True)
class Stage:
    """One entry that produced a piece of content."""

    index: int
    entry_id: str
    author: str
    action: str
    time: str
    produced: str
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "index": self.index,
            "entry_id": self.entry_id,
            "author": self.author,
            "action": self.action,
            "time": self.time,
            "produced": self.produced,
            "sources": list(self.sources),
        }


@dataclass(slots=True)
class Lineage:
    """What one content hash was built from, back to where it entered."""

    content: str
    stages: list[Stage] = field(default_factory=list)
    """Every producing entry met, nearest first (breadth first)."""
    entered: list[Stage] = field(default_factory=list)
    """Stages whose content came from nothing the log knows: where it entered the pipeline."""
    unknown: list[str] = field(default_factory=list)
    """Source hashes no entry of the log produced (content from outside)."""
    diverged: list[dict[str, Any]] = field(default_factory=list)
    """Stages stating figures none of their sources state (when contents were given)."""
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "content": self.content,
            "stages": [s.to_dict() for s in self.stages],
            "entered": [s.to_dict() for s in self.entered],
            "unknown_sources": self.unknown,
            "diverged": self.diverged,
            "truncated": self.truncated,
        }


def _figures(text: str) -> set[str]:
    return {m.group(0).strip().replace(",", "") for m in _FIGURE.finditer(text) if m.group(0)}


def content_folder(folder: Path) -> Callable[[str], str | None]:
    """A lookup of contents from a folder of files: each file's content hash names it.

    Raises:
        UsageError: the folder cannot be read.
    """
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder of contents")
    by_hash: dict[str, Path] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            by_hash[content_hash(path.read_bytes())] = path

    def look(digest: str) -> str | None:
        path = by_hash.get(digest)
        return None if path is None else path.read_text(encoding="utf-8", errors="replace")

    return look


class ProvenanceIndex:
    """Producing entries by content hash, folded from the log."""

    def __init__(self) -> None:
        """An empty index."""
        self._by_content: dict[str, list[Stage]] = {}

    def apply(self, entry: SignedEntry, index: int) -> None:
        """Fold one entry (actions that name the content they produced)."""
        f = entry.fields
        produced = f.get("content_hash")
        if entry.kind != "action" or not isinstance(produced, str):
            return
        sources = tuple(str(s) for s in f.get("sources") or ())
        stage = Stage(index, entry.id, entry.author, str(f["action"]), entry.time, produced,
                      sources)  # fmt: skip
        self._by_content.setdefault(produced, []).append(stage)

    def check(self, entries: Iterable[SignedEntry]) -> None:
        """Refuse entries whose sources lead back to their own content.

        Raises:
            EntryRejected: ``provenance-cycle``.
        """
        staged: dict[str, set[str]] = {}
        for position, entry in enumerate(entries, 1):
            produced = entry.fields.get("content_hash")
            sources = entry.fields.get("sources") or ()
            if entry.kind != "action" or not isinstance(produced, str) or not sources:
                continue
            others = {str(s) for s in sources} - {produced}  # passing content on is no cycle
            if self._reaches(others, produced, staged):
                raise EntryRejected(
                    f"entry {position}: its sources lead back to its own content {produced[:23]}…",
                    code="provenance-cycle",
                )
            staged.setdefault(produced, set()).update(map(str, sources))

    def _reaches(self, start: set[str], target: str, staged: dict[str, set[str]]) -> bool:
        seen: set[str] = set()
        todo = deque(start)
        while todo and len(seen) < MAX_NODES:
            digest = todo.popleft()
            if digest == target:
                return True
            if digest in seen:
                continue
            seen.add(digest)
            for stage in self._by_content.get(digest, ()):
                todo.extend(stage.sources)
            todo.extend(staged.get(digest, ()))
        return False

    def lineage(self, digest: str, contents: Callable[[str], str | None] | None = None) -> Lineage:
        """Walk back from ``digest``: the stages, where content entered, where it diverged.

        Raises:
            UsageError: ``digest`` is not a content hash.
            NotFound: no entry of the log produced it.
        """
        if not is_content_hash(digest):
            raise UsageError(f"{digest!r} is not a content hash ('sha256:' + 64 hex digits)")
        if digest not in self._by_content:
            raise NotFound(f"no entry of this log produced {digest}")
        out = Lineage(digest)
        seen: set[str] = set()
        todo = deque([digest])
        while todo:
            current = todo.popleft()
            if current in seen:
                continue
            if len(seen) == MAX_NODES:
                out.truncated = True
                break
            seen.add(current)
            stages = self._by_content.get(current)
            if stages is None:
                out.unknown.append(current)
                continue
            for stage in reversed(stages):  # the latest producer first: nearest the end
                out.stages.append(stage)
                known = [s for s in stage.sources if s in self._by_content]
                if not known:
                    out.entered.append(stage)
                if contents is not None:
                    self._diverged(stage, contents, out)
                todo.extend(stage.sources)
        return out

    @staticmethod
    def _diverged(stage: Stage, contents: Callable[[str], str | None], out: Lineage) -> None:
        text = contents(stage.produced)
        if text is None or not stage.sources:
            return
        given = [contents(s) for s in stage.sources]
        if any(g is None for g in given):
            return
        stated = set().union(*(_figures(g or "") for g in given))
        new = sorted(_figures(text) - stated)
        if new:
            out.diverged.append({"stage": stage.to_dict(), "new_figures": new})
