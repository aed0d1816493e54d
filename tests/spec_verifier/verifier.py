"""An independent verifier of sealog evidence bundles, written from docs/spec.md alone.

It imports nothing from sealog. JSON, SHA-256 and base64 come from the standard library, Ed25519
from the ``cryptography`` package (OpenSSL), a different implementation from the libsodium that
sealog uses. Every function cites the section of docs/spec.md it implements; if this file needs
knowledge the spec does not give, the spec is incomplete.

Entry point: :func:`verify_bundle` returns a :class:`Verdict` (the gaps of spec §8.3), or raises
:class:`BundleError` when the bundle is malformed beyond per-entry reporting (an *error*, §8.1).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# -- constants (§1.4, §3, §4.7, §5, §10.1) ----------------------------------------------------

BUNDLE_FORMAT = "sealog-bundle/v1"
ADDRESS_DOMAIN = b"sealog/address/v1\n"
ENTRY_DOMAIN = b"sealog/entry/v1/"
NOTE_ED25519 = 0x01
COSIGNATURE_V1 = 0x04
MAX_SAFE_INTEGER = 2**53 - 1
MAX_ENTRY_BYTES = 65536
MAX_NOTE_BYTES = 1_048_576
MAX_PROOF_HASHES = 64
MAX_TREE_SIZE = 2**63
SIG_PREFIX = "\u2014 "
EMPTY_ROOT = hashlib.sha256(b"").digest()

# §3.1: the group order, the field prime and the y coordinates of the small-order points.
ED25519_L = 2**252 + 27742317777372353535851937790883648493
ED25519_P = 2**255 - 19
SMALL_ORDER_Y = frozenset(
    {
        0,
        1,
        ED25519_P - 1,
        0x05FC536D880238B13933C6D305ACDFD5F098EFF289F4C345B027B2C28F95E826,
        0x7A03AC9277FDC74EC6CC392CFA53202A0F67100D760B3CBA4FD84D3D706A17C7,
    }
)

ADDRESS = re.compile(r"sl1[0-9a-f]{40}")
KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
HEX64 = re.compile(r"[0-9a-f]{64}")
TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
TREE_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")
BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")

# §8.3: the classes of gap kinds.
INTEGRITY = frozenset(
    {
        "altered",
        "reordered",
        "duplicated",
        "broken-link",
        "unknown-key",
        "root-mismatch",
        "forked-checkpoint",
        "bad-checkpoint",
        "bad-registration",
        "bad-policy",
        "beyond-checkpoint",
    }
)
ROLES = frozenset({"owner", "agent"})
COMPLETENESS = frozenset({"missing", "truncated-tail"})


class BundleError(Exception):
    """The bundle cannot be verified at all (§8.1: an error, which is a failure)."""


class FormatProblem(ValueError):
    """A value breaks the format (the caller turns it into a gap or an error)."""


@dataclass(frozen=True)
class Gap:
    """One problem, located where the evidence allows (§8.1)."""

    kind: str
    detail: str
    index: int | None = None
    author: str | None = None
    seq: int | None = None
    size: int | None = None


@dataclass
class Verdict:
    """The result of verifying one bundle (§8.1)."""

    full: bool
    pinned: bool
    tree_size: int | None = None
    gaps: list[Gap] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """No gap of an integrity kind."""
        return not any(g.kind in INTEGRITY for g in self.gaps)

    @property
    def complete(self) -> bool:
        """No gap of a completeness kind."""
        return not any(g.kind in COMPLETENESS for g in self.gaps)

    @property
    def ok(self) -> bool:
        """No gap at all: the only passing verdict."""
        return not self.gaps

    @property
    def kinds(self) -> set[str]:
        """The kinds of gap found."""
        return {g.kind for g in self.gaps}


# -- encodings (§1.2) ---------------------------------------------------------------------------


def b64decode(text: object) -> bytes:
    """Decode canonical standard base64 with padding (§1.2); raise FormatProblem otherwise."""
    if not isinstance(text, str) or not BASE64.fullmatch(text):
        raise FormatProblem("not standard padded base64")
    raw = base64.b64decode(text)
    if base64.b64encode(raw).decode() != text:
        raise FormatProblem("non-canonical base64 (padding bits are not zero)")
    return raw


def hex32(text: object) -> bytes:
    """Decode 64 lowercase hex digits (§1.2)."""
    if not isinstance(text, str) or not HEX64.fullmatch(text):
        raise FormatProblem("not 64 lowercase hex digits")
    return bytes.fromhex(text)


# -- canonical JSON (§2) -------------------------------------------------------------------------

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _serialize_string(text: str, out: list[str]) -> None:
    out.append('"')
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            raise FormatProblem("string holds an unpaired surrogate")
        else:
            out.append(ch)
    out.append('"')


def _serialize(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif type(value) is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise FormatProblem("integer outside ±(2^53 - 1)")
        out.append(str(value))
    elif type(value) is str:
        _serialize_string(value, out)
    elif type(value) is list:
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            _serialize(item, out)
        out.append("]")
    elif type(value) is dict:
        out.append("{")
        try:
            names = sorted(value, key=lambda name: name.encode("utf-16-be"))  # UTF-16 units
        except UnicodeEncodeError as exc:
            raise FormatProblem("member name holds an unpaired surrogate") from exc
        for position, name in enumerate(names):
            if position:
                out.append(",")
            _serialize_string(name, out)
            out.append(":")
            _serialize(value[name], out)
        out.append("}")
    else:
        raise FormatProblem(f"{type(value).__name__} is outside the entry profile")


def canonical_bytes(value: Any) -> bytes:
    """Serialize a value of the entry profile as JCS (§2.2)."""
    out: list[str] = []
    _serialize(value, out)
    return "".join(out).encode("utf-8")


def _refuse_number(token: str) -> Any:
    raise FormatProblem(f"number {token!r} is not an integer")


def _integer(token: str) -> int:
    value = int(token)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise FormatProblem("integer outside ±(2^53 - 1)")
    return value


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise FormatProblem("duplicate member name")
    return result


def parse_canonical(data: bytes) -> Any:
    """Parse bytes that must be canonical (§2.3); raise FormatProblem otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatProblem("not valid UTF-8") from exc
    if text.startswith("\ufeff"):
        raise FormatProblem("byte order mark")
    try:
        value = json.loads(
            text,
            parse_float=_refuse_number,
            parse_constant=_refuse_number,
            parse_int=_integer,
            object_pairs_hook=_unique_members,
        )
    except (json.JSONDecodeError, RecursionError) as exc:
        raise FormatProblem("not a JSON text") from exc
    try:
        again = canonical_bytes(value)
    except RecursionError as exc:
        raise FormatProblem("nested too deeply") from exc
    if again != data:
        raise FormatProblem("valid JSON but not canonical")
    return value


# -- keys, addresses, signatures (§3) ------------------------------------------------------------


def address(public_key: bytes) -> str:
    """The address of a public key (§3.2)."""
    return "sl1" + hashlib.sha256(ADDRESS_DOMAIN + public_key).hexdigest()[:40]


def _y_coordinate(encoding: bytes) -> int:
    return int.from_bytes(encoding, "little") & ((1 << 255) - 1)


# §3.1: edwards25519 arithmetic, only to decide whether a public key is valid.
ED25519_D = -121665 * pow(121666, -1, ED25519_P) % ED25519_P
SQRT_M1 = pow(2, (ED25519_P - 1) // 4, ED25519_P)
Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z
IDENTITY: Point = (0, 1, 1, 0)


def _decode_point(encoding: bytes) -> Point | None:
    """The point a 32-byte encoding names (RFC 8032 §5.1.3), or None if it names none."""
    p = ED25519_P
    y = _y_coordinate(encoding)
    sign = encoding[31] >> 7
    if y >= p:
        return None
    u, v = (y * y - 1) % p, (ED25519_D * y * y + 1) % p
    x = u * pow(v, 3, p) * pow(u * pow(v, 7, p), (p - 5) // 8, p) % p
    if v * x * x % p == (-u) % p:
        x = x * SQRT_M1 % p
    if v * x * x % p != u:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = p - x
    return (x, y, 1, x * y % p)


def _add(a: Point, b: Point) -> Point:
    """Point addition on edwards25519 (RFC 8032 §5.1.4)."""
    p = ED25519_P
    big_a = (a[1] - a[0]) * (b[1] - b[0]) % p
    big_b = (a[1] + a[0]) * (b[1] + b[0]) % p
    big_c = 2 * a[3] * b[3] * ED25519_D % p
    big_d = 2 * a[2] * b[2] % p
    e, f, g, h = big_b - big_a, big_d - big_c, big_d + big_c, big_b + big_a
    return (e * f % p, g * h % p, f * g % p, e * h % p)


def _multiply(scalar: int, point: Point) -> Point:
    result = IDENTITY
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def valid_public_key(public_key: bytes) -> bool:
    """A key a registration may introduce (§3.1): canonical, on the curve, prime order."""
    if len(public_key) != 32 or _y_coordinate(public_key) in SMALL_ORDER_Y:
        return False
    point = _decode_point(public_key)
    if point is None:
        return False
    x, y, z, _ = _multiply(ED25519_L, point)
    return x % ED25519_P == 0 and (y - z) % ED25519_P == 0


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Ed25519 verification with the rules of §3.1."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    if int.from_bytes(signature[32:], "little") >= ED25519_L:  # rule 2
        return False
    key_y = _y_coordinate(public_key)
    if key_y >= ED25519_P or key_y in SMALL_ORDER_Y:  # rule 3
        return False
    if _y_coordinate(signature[:32]) in SMALL_ORDER_Y:  # rule 4
        return False
    try:  # rule 5
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def valid_key_name(name: str) -> bool:
    """1–255 characters, no whitespace, no '+', encodable as UTF-8 (§3.5)."""
    if not 1 <= len(name) <= 255 or any(c.isspace() or c == "+" for c in name):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """SHA-256(name ‖ 0x0A ‖ type ‖ key)[0:4] (§3.4)."""
    message = name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key
    return hashlib.sha256(message).digest()[:4]


def parse_vkey(vkey: str, sig_type: int = NOTE_ED25519) -> tuple[str, bytes]:
    """Parse a verifier key of ``sig_type``; return its name and public key (§3.4)."""
    name, sep, rest = vkey.partition("+")
    kid_hex, sep2, blob = rest.partition("+")
    if not (sep and sep2) or not valid_key_name(name) or not KEY_ID_HEX.fullmatch(kid_hex):
        raise FormatProblem("vkey is not NAME+KEYID+BASE64")
    raw = b64decode(blob)
    if len(raw) != 33 or raw[0] != sig_type:
        raise FormatProblem("vkey does not hold a key of the expected type")
    if key_id(name, sig_type, raw[1:]) != bytes.fromhex(kid_hex):
        raise FormatProblem("vkey's key ID does not match its name and key")
    if not valid_public_key(raw[1:]):
        raise FormatProblem("vkey's key is not a valid public key")
    return name, raw[1:]


# -- checkpoints (§5) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """An opened checkpoint (§5.1)."""

    origin: str
    size: int
    root: bytes


def parse_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """Split a signed note into its text and signature lines (§5.2)."""
    try:
        encoded = note.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FormatProblem("note is not valid UTF-8") from exc
    if len(encoded) > MAX_NOTE_BYTES or not note.endswith("\n"):
        raise FormatProblem("note is too large or does not end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise FormatProblem("note holds a control character")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise FormatProblem("note has no blank line")
    text, block = note[: cut + 1], note[cut + 2 :]
    lines = block.split("\n")[:-1]  # the block ends with "\n"
    signatures = []
    for line in lines:
        if not line.startswith(SIG_PREFIX):
            raise FormatProblem("signature line does not start with the em dash")
        name, _, blob = line[len(SIG_PREFIX) :].partition(" ")
        raw = b64decode(blob)
        if not name or len(raw) < 5:
            raise FormatProblem("signature line is too short")
        signatures.append((name, raw[:4], raw[4:]))
    if not signatures:
        raise FormatProblem("note has no signature")
    return text, signatures


def parse_body(text: str) -> Checkpoint:
    """Parse a checkpoint body (§5.1)."""
    lines = text.split("\n")[:-1]  # the text ends with "\n"
    if len(lines) < 3 or "" in lines:
        raise FormatProblem("checkpoint needs origin, size and root lines, none empty")
    origin, size_line, root_line = lines[0], lines[1], lines[2]
    if not TREE_SIZE.fullmatch(size_line) or int(size_line) >= MAX_TREE_SIZE:
        raise FormatProblem("bad tree size line")
    root = b64decode(root_line)
    if len(root) != 32:
        raise FormatProblem("root is not 32 bytes")
    return Checkpoint(origin, int(size_line), root)


def open_checkpoint(note: str, vkey: str) -> Checkpoint:
    """Open a checkpoint note with the log's vkey (§5.3)."""
    name, public_key = parse_vkey(vkey, NOTE_ED25519)
    text, signatures = parse_note(note)
    kid = key_id(name, NOTE_ED25519, public_key)
    mine = [sig for sig_name, sig_kid, sig in signatures if sig_name == name and sig_kid == kid]
    if not mine:
        raise FormatProblem("no signature by the log")
    message = text.encode("utf-8")
    if not all(ed25519_verify(public_key, message, sig) for sig in mine):
        raise FormatProblem("a signature by the log does not verify")
    checkpoint = parse_body(text)
    if checkpoint.origin != name:
        raise FormatProblem("origin is not the log key's name")
    return checkpoint


# -- Merkle tree and proofs (§6) -----------------------------------------------------------------


def leaf_hash(leaf: bytes) -> bytes:
    """SHA-256(0x00 ‖ leaf) (§6.1)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right) (§6.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_hash(leaf_hashes: list[bytes]) -> bytes:
    """MTH over leaf hashes, by the recursive definition of §6.1."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(tree_hash(leaf_hashes[:k]), tree_hash(leaf_hashes[k:]))


def verify_inclusion(index: int, size: int, leaf: bytes, hashes: list[bytes], root: bytes) -> bool:
    """The inclusion check of §6.2, step by step."""
    if not 0 <= index < size:
        return False
    inner = (index ^ (size - 1)).bit_length()
    if len(hashes) != inner + (index >> inner).bit_count():
        return False
    if any(len(h) != 32 for h in [leaf, root, *hashes]):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in hashes:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, hashes: list[bytes]
) -> bool:
    """The consistency check of §6.3, step by step."""
    if old > new or any(len(h) != 32 for h in [old_root, new_root, *hashes]):
        return False
    if old == new:
        return not hashes and old_root == new_root
    if old == 0 or not hashes:
        return False
    path = [old_root, *hashes] if old & (old - 1) == 0 else list(hashes)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# -- entries (§4) --------------------------------------------------------------------------------


def _valid_time(value: object) -> bool:
    if not isinstance(value, str) or not TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def check_entry(data: bytes, signature: bytes) -> dict[str, Any]:
    """Check that (E, S) is well formed (§4.2 steps 1–4); return E's fields."""
    if len(data) > MAX_ENTRY_BYTES:
        raise FormatProblem("entry is larger than 64 KiB")
    if len(signature) != 64:
        raise FormatProblem("signature is not 64 bytes")
    fields = parse_canonical(data)
    if type(fields) is not dict:
        raise FormatProblem("entry is not an object")
    missing = [n for n in ("v", "kind", "author", "seq", "prev", "time") if n not in fields]
    if missing:
        raise FormatProblem(f"entry lacks {missing}")
    v, kind, author, seq, prev = (fields[n] for n in ("v", "kind", "author", "seq", "prev"))
    if type(v) is not int or v != 1:
        raise FormatProblem("v is not the integer 1")
    if type(kind) is not str or not KIND.fullmatch(kind):
        raise FormatProblem("bad kind")
    if type(author) is not str or not ADDRESS.fullmatch(author):
        raise FormatProblem("author is not an address")
    if type(seq) is not int or seq < 0:
        raise FormatProblem("seq is not a non-negative integer")
    if seq == 0 and prev is not None:
        raise FormatProblem("seq 0 has a prev")
    if seq > 0 and (type(prev) is not str or not HEX64.fullmatch(prev)):
        raise FormatProblem("prev is not an entry id")
    if not _valid_time(fields["time"]):
        raise FormatProblem("bad time")
    return fields


def signed_message(kind: str, data: bytes) -> bytes:
    """'sealog/entry/v1/' ‖ kind ‖ '\\n' ‖ E (§3.3, §4.2)."""
    return ENTRY_DOMAIN + kind.encode("ascii") + b"\n" + data


def _embedded_key(fields: dict[str, Any]) -> bytes | None:
    """The key a register entry introduces: valid and hashing to its subject (§4.4, §8.2)."""
    try:
        key = b64decode(fields.get("public_key"))
    except FormatProblem:
        return None
    if not valid_public_key(key) or address(key) != fields.get("subject"):
        return None
    return key


def _loose_locator(data: bytes) -> tuple[str | None, int | None, str | None]:
    """Best-effort author, seq and time of an entry that is not well formed (§8.2 step 6.4)."""
    try:
        fields = json.loads(data)
    except (ValueError, RecursionError):
        return None, None, None
    if not isinstance(fields, dict):
        return None, None, None
    author, seq, time = fields.get("author"), fields.get("seq"), fields.get("time")
    return (
        (author if isinstance(author, str) else None),
        (seq if type(seq) is int else None),
        (time if isinstance(time, str) else None),
    )


# -- bundle verification (§7, §8.2) --------------------------------------------------------------


@dataclass
class _Chain:
    """One author's chain record (§8.2 step 6.8)."""

    first_seq: int
    next_seq: int
    last_id: str | None
    last_bad: bool
    absent: list[list[int]] = field(default_factory=list)


@dataclass(frozen=True)
class Scope:
    """A partial bundle's selection (§7.3): agent, since, until (None = no condition)."""

    agent: str | None = None
    since: str | None = None
    until: str | None = None

    def selects(self, author: str, time: str | None) -> bool:
        """Whether an entry with this author and time belongs to the selection (§7.3)."""
        if self.agent is not None and author != self.agent:
            return False
        if self.since is None and self.until is None:
            return True
        return (
            time is not None
            and (self.since is None or time >= self.since)
            and (self.until is None or time <= self.until)
        )


class _Audit:
    """The state of §8.2 for one bundle."""

    def __init__(self, verdict: Verdict, scope: Scope, checkpoint: Checkpoint) -> None:
        """Start the pass of step 6 with the selection of step 4 and the checkpoint of step 5."""
        self.verdict = verdict
        self.full = verdict.full
        self.scope = scope
        self.known: dict[str, tuple[bytes, str]] = {}  # address -> (key, role), step 6.7
        self.owners: dict[str, str] = {}  # agent -> its owner, step 6.7
        self.policy_versions: dict[str, int] = {}  # agent -> last policy version, step 6.7a
        self.checkpoint = checkpoint
        self.leaves: list[bytes] = []
        self.tree_whole = True
        self.next_index = 0
        self.root_failed = False
        self.chains: dict[str, _Chain] = {}

    def gap(self, kind: str, detail: str, **where: Any) -> None:
        self.verdict.gaps.append(Gap(kind, detail, **where))

    def item(self, position: int, item: Any) -> None:
        """§8.2 step 6 for one item of ``entries``."""
        try:  # 6.1
            if not isinstance(item, dict) or type(item.get("index")) is not int:
                raise FormatProblem("item lacks an integer index")
            index, data, sig = (
                item["index"],
                b64decode(item.get("entry")),
                b64decode(item.get("sig")),
            )
        except FormatProblem as exc:
            self.gap("altered", str(exc), index=position)
            return
        leaf = leaf_hash(sig + data)
        if not self.full:  # 6.2
            self._inclusion(item, index, leaf)
        else:  # 6.3
            self._position(index, leaf)
        try:  # 6.4
            fields = check_entry(data, sig)
        except FormatProblem as exc:
            author, seq, time = _loose_locator(data)
            self.gap(
                "altered", f"entry is not well formed: {exc}", index=index, author=author, seq=seq
            )
            if author is not None and seq is not None and self._selected(author, time):
                self._chain(author, seq, None, None, index, bad=True)
            return
        author, seq, kind = fields["author"], fields["seq"], fields["kind"]
        where = {"index": index, "author": author, "seq": seq}
        known = self.known.get(author)  # 6.5
        key = None if known is None else known[0]
        if key is None and kind == "register" and fields.get("subject") == author:
            key = _embedded_key(fields)
        bad = False
        if key is None:
            self.gap("unknown-key", "no register entry of the author came before", **where)
            bad = True
        elif address(key) != author or not ed25519_verify(key, signed_message(kind, data), sig):
            self.gap("altered", "signature does not verify", **where)
            bad = True  # 6.6
        if not bad and kind == "register":  # 6.7
            self._register(fields, where)
        if not bad and kind == "policy":  # 6.7a
            self._policy(fields, where)
        if self._selected(author, fields["time"]):  # 6.8
            self._chain(author, seq, fields["prev"], leaf.hex(), index, bad=bad)

    def _selected(self, author: str, time: str | None) -> bool:
        """Full mode checks every chain; partial mode only the selection's (§7.3, §8.2 6.8)."""
        return self.full or self.scope.selects(author, time)

    def _register(self, fields: dict[str, Any], where: dict[str, Any]) -> None:
        """§8.2 step 6.7: learn the key of a good register entry if the rules of §4.4 hold."""
        author, subject, role = fields["author"], fields.get("subject"), fields.get("role")
        key = _embedded_key(fields)
        sponsor = self.known.get(author)
        if key is None:
            problem = "public_key is not a valid key whose address is subject"
        elif subject in self.known:
            problem = "subject is registered already"
        elif role == "owner" and author != subject:
            problem = "an owner registers only itself"
        elif role == "agent" and (sponsor is None or sponsor[1] != "owner"):
            problem = "an agent is registered only by a registered owner"
        elif role not in ROLES:
            problem = "role is neither owner nor agent"
        else:
            self.known[subject] = (key, role)
            if role == "agent":
                self.owners[subject] = author
            return
        self.gap("bad-registration", problem, **where)

    def _policy(self, fields: dict[str, Any], where: dict[str, Any]) -> None:
        """§8.2 step 6.7a: a good policy entry is sealed by the agent's owner, in sequence."""
        agent, version = fields.get("agent"), fields.get("version")
        if not isinstance(agent, str) or type(version) is not int:
            self.gap("bad-policy", "no agent or no integer version", **where)
            return
        owner = self.owners.get(agent)
        if owner is None:
            if self.full:
                self.gap("bad-policy", "the agent is not registered", **where)
            return
        if owner != fields["author"]:
            self.gap("bad-policy", "not sealed by the agent's owner", **where)
            return
        last = self.policy_versions.get(agent)
        expected = (version if not self.full else 1) if last is None else last + 1
        self.policy_versions[agent] = version
        if version != expected:
            self.gap("bad-policy", "versions do not run 1, 2, 3 without a gap", **where)

    def _inclusion(self, item: dict[str, Any], index: int, leaf: bytes) -> None:
        proof = item.get("proof")
        try:
            if not isinstance(proof, list) or len(proof) > MAX_PROOF_HASHES:
                raise FormatProblem("proof is not a list of at most 64 hashes")
            hashes = [hex32(h) for h in proof]
        except FormatProblem as exc:
            self.gap("altered", f"not included in the checkpoint: {exc}", index=index)
            return
        size, root = self.checkpoint.size, self.checkpoint.root
        if not verify_inclusion(index, size, leaf, hashes, root):
            self.gap("altered", "not included in the checkpoint", index=index)

    def _position(self, index: int, leaf: bytes) -> None:
        if index > self.next_index:
            first = self.next_index
            self.gap("missing", f"indices {first}..{index - 1} are absent", index=first)
            self.tree_whole = False
        elif index < self.next_index:
            self.gap("duplicated", f"index {index} appears again", index=index)
            self.tree_whole = False
        self.next_index = index + 1
        if self.tree_whole:
            self.leaves.append(leaf)
            if (
                len(self.leaves) == self.checkpoint.size
                and tree_hash(self.leaves) != self.checkpoint.root
            ):
                self.root_failed = True

    def _chain(
        self,
        author: str,
        seq: int,
        prev: str | None,
        entry_id: str | None,
        index: int,
        *,
        bad: bool,
    ) -> None:
        chain = self.chains.get(author)
        if chain is None:
            chain = _Chain(seq, 0, None, False) if self.full else _Chain(seq, seq, None, True)
            self.chains[author] = chain
        where = {"index": index, "author": author, "seq": seq}
        if seq == chain.next_seq:
            if not bad and not chain.last_bad and prev != chain.last_id:
                self.gap("broken-link", "prev is not the id of the previous entry", **where)
        elif seq > chain.next_seq:
            chain.absent.append([chain.next_seq, seq - 1])
        else:
            for span in chain.absent:
                if span[0] <= seq <= span[1]:
                    self.gap("reordered", "entry fills a hole after a later entry", **where)
                    chain.absent.remove(span)
                    chain.absent += [
                        s for s in ([span[0], seq - 1], [seq + 1, span[1]]) if s[0] <= s[1]
                    ]
                    return
            self.gap("duplicated", f"seq {seq} appeared before", **where)
            return
        chain.next_seq, chain.last_id, chain.last_bad = seq + 1, entry_id, bad

    def finish(self) -> None:
        """§8.2 step 7."""
        for author, chain in self.chains.items():
            for first, _last in chain.absent:
                self.gap("missing", "seqs absent", author=author, seq=first)
        if not self.full:
            agent = self.scope.agent
            if agent is not None and self.scope.since is None:
                chain = self.chains.get(agent)
                if chain is None or chain.first_seq > 0:
                    self.gap(
                        "missing", "the agent's chain does not start at 0", author=agent, seq=0
                    )
            return
        size, n = self.checkpoint.size, self.next_index
        if n < size:
            self.gap("truncated-tail", "fewer entries than the checkpoint", index=n, size=size)
        elif n > size:
            self.gap("beyond-checkpoint", "entries past the checkpoint", index=size, size=size)
        if size == 0 and self.checkpoint.root != EMPTY_ROOT:
            self.gap("root-mismatch", "the empty tree's root is wrong", size=0)
        if self.root_failed:
            self.gap("root-mismatch", "recomputed root differs from the checkpoint", size=size)
        elif not self.tree_whole and n >= size:
            self.gap("root-mismatch", "indices are not contiguous", size=size)


def _selection(scope: dict[str, Any]) -> Scope:
    """The selection of a partial bundle (§8.2 step 4); raise BundleError if it is malformed."""
    agent, since, until = scope.get("agent"), scope.get("since"), scope.get("until")
    if agent is not None and not isinstance(agent, str):
        raise BundleError("scope.agent is neither null nor a string")
    for value in (since, until):
        if value is not None and not _valid_time(value):
            raise BundleError("scope.since or scope.until is neither null nor a time")
    return Scope(agent, since, until)


def verify_bundle(bundle: Any, log_vkey: str | None = None) -> Verdict:
    """Verify a parsed bundle by the procedure of §8.2.

    Args:
        bundle: the parsed JSON document (§7.1).
        log_vkey: the pinned log key; None falls back to the bundle's own (not pinned).

    Raises:
        BundleError: steps 1–3 failed (an error, which is a failure).
    """
    # 1. structure
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise BundleError("not a sealog-bundle/v1 document")
    log, scope = bundle.get("log"), bundle.get("scope")
    keys_list, entries = bundle.get("keys"), bundle.get("entries")
    if not isinstance(log, dict) or not isinstance(log.get("vkey"), str):
        raise BundleError("bundle lacks log.vkey")
    if not isinstance(scope, dict) or not isinstance(keys_list, list):
        raise BundleError("bundle lacks scope or keys")
    if not isinstance(entries, list):
        raise BundleError("bundle lacks entries")
    # 2. log key
    vkey = log_vkey if log_vkey is not None else log["vkey"]
    try:
        parse_vkey(vkey, NOTE_ED25519)
    except FormatProblem as exc:
        raise BundleError(f"the log key is not a vkey: {exc}") from exc
    # 3. keys: checked as format, never trusted
    for item in keys_list:
        try:
            if not isinstance(item, dict):
                raise FormatProblem("key item is not an object")
            public_key = b64decode(item.get("public_key"))
        except FormatProblem as exc:
            raise BundleError(f"bad key item: {exc}") from exc
        if len(public_key) != 32 or address(public_key) != item.get("address"):
            raise BundleError("key does not hash to its address")
    # 4. mode and selection
    verdict = Verdict(full=scope.get("full") is True, pinned=log_vkey is not None)
    selection = Scope() if verdict.full else _selection(scope)
    # 5. checkpoint
    note = bundle.get("checkpoint")
    try:
        if not isinstance(note, str):
            raise FormatProblem("checkpoint is not a string")
        checkpoint = open_checkpoint(note, vkey)
    except FormatProblem as exc:
        verdict.gaps.append(Gap("bad-checkpoint", f"checkpoint does not open: {exc}"))
        return verdict
    verdict.tree_size = checkpoint.size
    # 6. entries, 7. finish
    audit = _Audit(verdict, selection, checkpoint)
    for position, item in enumerate(entries):
        audit.item(position, item)
    audit.finish()
    return verdict
