"""C2SP tlog-tiles: paths, hash tiles from stored nodes, entry bundles, and a client's root."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealog.crypto import SigningKey
from sealog.errors import NotFound, UsageError
from sealog.ledger import Ledger
from sealog.ledger._merkle import CompactRange, node_hash, perfect_nodes, root_from_leaves
from sealog.ledger.tiles import (
    TILE_WIDTH,
    TileRef,
    encode_index,
    entry_bundle,
    parse_tile_path,
    tile_hashes,
    tile_path,
)


def synthetic(size: int) -> tuple[list[bytes], dict[tuple[int, int], bytes]]:
    """Leaf hashes and every stored perfect node of a tree of ``size`` leaves."""
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(size)]
    tree = CompactRange()
    nodes: dict[tuple[int, int], bytes] = {}
    for leaf in leaves:
        nodes.update({(lvl, i): h for lvl, i, h in tree.append(leaf)})
    return leaves, nodes


def reader(nodes):
    return lambda wanted: {n: nodes[n] for n in wanted if n in nodes}


def root_from_tiles(size: int, fetch) -> bytes:
    """What a tlog-tiles client does: fold MTH(D[0:size]) from tiles alone (C2SP text)."""
    parts = []
    for height, index in perfect_nodes(0, size):
        level, below = divmod(height, 8)
        first = index << below
        tile_index, offset = divmod(first, TILE_WIDTH)
        have = (size >> (8 * level)) - tile_index * TILE_WIDTH
        width = min(have, TILE_WIDTH)
        data = fetch(TileRef(level, tile_index, width))
        hashes = [data[i : i + 32] for i in range(0, len(data), 32)]
        parts.append(root_from_leaves(hashes[offset : offset + (1 << below)]))
    root = parts[-1]
    for part in reversed(parts[:-1]):
        root = node_hash(part, root)
    return root


@pytest.mark.parametrize(
    ("index", "path"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_indices_encode_as_zero_padded_groups(index, path):
    """N is written in 3-digit groups, all but the last prefixed with x (the C2SP example)."""
    assert encode_index(index) == path
    assert parse_tile_path(f"0/{path}").index == index


@given(st.integers(0, 63), st.integers(0, 10**12), st.integers(1, 256))
def test_tile_paths_round_trip(level, index, width):
    """Every tile reference survives path formatting and parsing."""
    ref = TileRef(level, index, width)
    assert parse_tile_path(tile_path(ref).removeprefix("tile/")) == ref


@pytest.mark.parametrize(
    "path",
    ["", "0", "64/000", "01/000", "0/1", "0/x001", "0/001/002", "0/x000/001", "0/000.p/0",
     "0/000.p/256", "0/000.p/07", "entries/abc", "-1/000", "0/000.q/5"],
)  # fmt: skip
def test_malformed_tile_paths_are_usage_errors(path):
    """A path that is not C2SP's shape is refused, never guessed at."""
    with pytest.raises(UsageError):
        parse_tile_path(path)


def test_tiles_hold_the_hashes_the_spec_defines():
    """Hash i of tile (L, N) is MTH(D[(N·256+i)·256^L : (N·256+i+1)·256^L])."""
    leaves, nodes = synthetic(70_000)
    full = tile_hashes(TileRef(1, 0, 256), 70_000, reader(nodes))
    for i in (0, 17, 255):
        assert full[32 * i : 32 * i + 32] == root_from_leaves(leaves[i * 256 : (i + 1) * 256])
    partial = tile_hashes(TileRef(0, 273, 112), 70_000, reader(nodes))
    assert partial == b"".join(leaves[273 * 256 :])
    with pytest.raises(NotFound):
        tile_hashes(TileRef(0, 273, 256), 70_000, reader(nodes))
    with pytest.raises(NotFound):
        tile_hashes(TileRef(1, 1, 18), 70_000, reader(nodes))


@pytest.mark.parametrize("size", [1, 255, 256, 257, 65_536, 70_000])
def test_a_tiles_client_recomputes_the_root(size):
    """The root folded from tiles alone equals the tree's (sizes around the tile edges)."""
    leaves, nodes = synthetic(size)
    got = root_from_tiles(size, lambda ref: tile_hashes(ref, size, reader(nodes)))
    assert got == root_from_leaves(leaves)


def test_entry_bundles_are_uint16_length_prefixed_leaves():
    """Each entry is its big-endian uint16 length then S ‖ E; an over-long one is refused."""
    data = entry_bundle([b"ab", b"", b"x" * 300])
    assert data == b"\x00\x02ab\x00\x00" + struct.pack(">H", 300) + b"x" * 300
    with pytest.raises(UsageError, match="65,535"):
        entry_bundle([b"x" * 65_536])


def test_a_ledgers_tiles_verify_against_its_checkpoint():
    """Tiles of a real ledger fold to its checkpoint's root; bundles hash to the level-0 tile."""
    ledger = Ledger.in_memory()
    owner, agent = SigningKey.generate(), SigningKey.generate()
    ledger.register_agent(agent, owner)
    ledger.submit([ledger.sign_next(agent, "action", {"action": f"a{i}"}) for i in range(300)])
    size = ledger.size()
    assert root_from_tiles(size, ledger.tile) == ledger.root_at(size)
    bundle = ledger.tile(TileRef(None, 1, size - 256))
    leaves, at = [], 0
    while at < len(bundle):
        (n,) = struct.unpack_from(">H", bundle, at)
        leaves.append(hashlib.sha256(b"\x00" + bundle[at + 2 : at + 2 + n]).digest())
        at += 2 + n
    assert b"".join(leaves) == ledger.tile(TileRef(0, 1, size - 256))
    with pytest.raises(NotFound):
        ledger.tile(TileRef(None, 1, 256))
