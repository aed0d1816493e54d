"""C2SP tlog-tiles: the log's Merkle tree and entries as immutable, cacheable tiles.

A tile at level ``L`` and index ``N`` holds up to 256 consecutive tree hashes at height
``8·L``: hash ``i`` is MTH of the leaves ``[(N·256 + i)·256^L, (N·256 + i + 1)·256^L)``. Those are
exactly the perfect subtrees the storage already keeps for proofs, so a tile costs one read.
An entry bundle holds the leaf bytes ``S ‖ E`` (spec §4.2) of the 256 entries under the level-0
tile of the same index, each prefixed with its length as a big-endian uint16.

Paths follow the C2SP spec: ``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]``, ``N`` in
zero-padded 3-digit groups, all but the last prefixed with ``x`` (``x001/x234/067``).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sealog.errors import NotFound, UsageError

__all__ = [
    "TILE_WIDTH",
    "TileRef",
    "encode_index",
    "entry_bundle",
    "parse_tile_path",
    "tile_hashes",
    "tile_path",
]

TILE_WIDTH = 256
_HEIGHT = 8
_MAX_LEVEL = 63
_MAX_ENTRY = 0xFFFF
_GROUP = re.compile(r"^x[0-9]{3}\Z")
_LAST = re.compile(r"^[0-9]{3}\Z")
_WIDTH = re.compile(r"^[1-9][0-9]{0,2}\Z")
_LEVEL = re.compile(r"^(0|[1-9][0-9]?)\Z")


@dataclass(frozen=True, slots=True)
class TileRef:
    """One tile or entry bundle: ``level`` is None for an entry bundle; ``width`` 256 if full."""

    level: int | None
    index: int
    width: int

    @property
    def partial(self) -> bool:
        """Whether this is a partial (rightmost) tile."""
        return self.width < TILE_WIDTH


def encode_index(index: int) -> str:
    """``N`` as C2SP path elements: 1234067 → ``x001/x234/067``."""
    if index < 0:
        raise ValueError("a tile index is never negative")
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


def tile_path(ref: TileRef) -> str:
    """The path of ``ref`` below the log's prefix (``tile/0/x001/234.p/7``)."""
    level = "entries" if ref.level is None else str(ref.level)
    suffix = f".p/{ref.width}" if ref.partial else ""
    return f"tile/{level}/{encode_index(ref.index)}{suffix}"


def parse_tile_path(path: str) -> TileRef:
    """Read a tile path (without the leading ``tile/``): ``<L>/<N>[.p/<W>]`` or ``entries/…``.

    Raises:
        UsageError: the path is not a C2SP tile path.
    """
    parts = path.split("/")
    width = TILE_WIDTH
    if len(parts) >= 3 and parts[-2].endswith(".p"):  # noqa: PLR2004 - <L>/<N>.p/<W>
        if not _WIDTH.match(parts[-1]) or int(parts[-1]) >= TILE_WIDTH:
            raise UsageError(f"tile width {parts[-1]!r} is not a decimal between 1 and 255")
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2][: -len(".p")]]
    if len(parts) < 2:  # noqa: PLR2004 - <L>/<N>
        raise UsageError(f"{path!r} is not a tile path: want <L>/<N>[.p/<W>]")
    head, *groups = parts
    if head == "entries":
        level = None
    elif _LEVEL.match(head) and int(head) <= _MAX_LEVEL:
        level = int(head)
    else:
        raise UsageError(f"tile level {head!r} is not 'entries' or a decimal from 0 to 63")
    if not _LAST.match(groups[-1]) or not all(_GROUP.match(g) for g in groups[:-1]):
        raise UsageError(
            f"tile index {'/'.join(groups)!r} is not zero-padded 3-digit groups (x001/234)"
        )
    index = int("".join(g.lstrip("x") for g in groups))
    if len(groups) > 1 and groups[0] == "x000":
        raise UsageError(f"tile index {'/'.join(groups)!r} has a leading zero group")
    return TileRef(level, index, width)


def available(size: int, level: int) -> int:
    """How many hashes of tile height ``level`` a tree of ``size`` leaves has in all."""
    return size >> (_HEIGHT * level)


def _check_width(ref: TileRef, have: int) -> int:
    """The number of hashes ``ref`` spans, or NotFound when the tree does not hold them."""
    start = ref.index * TILE_WIDTH
    if have - start < ref.width:
        raise NotFound(
            f"{tile_path(ref)} is beyond the tree: the tree has {max(have - start, 0)} hashes there"
        )
    return ref.width


NodeReader = Callable[[Iterable[tuple[int, int]]], dict[tuple[int, int], bytes]]


def tile_hashes(ref: TileRef, size: int, read: NodeReader) -> bytes:
    """The bytes of the hash tile ``ref`` in a tree of ``size`` leaves, from stored nodes.

    Raises:
        NotFound: the tile is not (yet) complete to the width asked for.
    """
    if ref.level is None:
        raise ValueError("an entry bundle is not a hash tile")
    height = _HEIGHT * ref.level
    width = _check_width(ref, available(size, ref.level))
    wanted = [(height, ref.index * TILE_WIDTH + i) for i in range(width)]
    found = read(wanted)
    return b"".join(found[node] for node in wanted)


def entry_bundle(leaves: Iterable[bytes]) -> bytes:
    """An entry bundle: each leaf (``S ‖ E``) prefixed with its big-endian uint16 length.

    Raises:
        UsageError: a leaf is longer than 65,535 bytes, which the format cannot carry
            (spec §11: fetch such entries with ``GET /entries`` instead).
    """
    out = bytearray()
    for leaf in leaves:
        if len(leaf) > _MAX_ENTRY:
            raise UsageError(
                f"an entry of {len(leaf)} bytes does not fit a tlog-tiles entry bundle "
                "(at most 65,535); read it from /verify or an evidence bundle"
            )
        out += struct.pack(">H", len(leaf)) + leaf
    return bytes(out)


def bundle_span(ref: TileRef, size: int) -> tuple[int, int]:
    """The entry indices ``[start, end)`` of entry bundle ``ref`` in a tree of ``size``.

    Raises:
        NotFound: the log does not hold that many entries there yet.
    """
    width = _check_width(ref, size)
    start = ref.index * TILE_WIDTH
    return start, start + width
