"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed-note form (spec §5).

A checkpoint commits the log to its size and root hash::

    <origin>\\n<tree size>\\n<base64 root hash>\\n[<extension line>\\n ...]

and is published as a signed note: the body, a blank line, then one line per signature,
``— <key name> base64(<4-byte key ID> ‖ <signature>)``. The log signs with signature type 0x01
(plain Ed25519 over the body); witnesses add C2SP tlog-cosignature lines (type 0x04, over
``cosignature/v1\\ntime <unix seconds>\\n`` ‖ body). Verifiers ignore signatures from keys they
do not know and fail unless a key they trust signed.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass, field

from sealog._encoding import b64decode_strict
from sealog.crypto import COSIGNATURE_V1, ED25519_NOTE, PublicKey, SigningKey, key_id
from sealog.errors import FormatError, VerificationError

__all__ = ["Checkpoint", "NoteSignature", "SignedNote"]

_SIG_PREFIX = "\u2014 "
_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,19})$")
MAX_NOTE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a signed note."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The note line: ``— name base64(key ID ‖ signature)``."""
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{_SIG_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True, slots=True)
class SignedNote:
    """A C2SP signed note: text plus signature lines (unknown ones kept, lossless)."""

    text: str
    signatures: tuple[NoteSignature, ...]

    @classmethod
    def parse(cls, note: str) -> SignedNote:
        """Parse a signed note.

        Raises:
            FormatError: not a signed note (no blank line, bad signature line, control chars).
        """
        try:
            size = len(note.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise FormatError("signed note is not valid Unicode (unpaired surrogate)") from exc
        if size > MAX_NOTE_BYTES:
            raise FormatError("signed note is larger than 1 MiB")
        cut = note.rfind("\n\n")
        if cut < 0 or not note.endswith("\n"):
            raise FormatError("not a signed note: no blank line before the signatures")
        text, sig_block = note[: cut + 1], note[cut + 2 :]
        if any(ord(c) < 0x20 and c != "\n" for c in note):  # noqa: PLR2004 - ASCII controls
            raise FormatError("signed note holds control characters")
        sigs: list[NoteSignature] = []
        for line in sig_block[:-1].split("\n") if sig_block else ():
            if not line.startswith(_SIG_PREFIX):
                raise FormatError(f"signature line must start with '— ': {line[:40]!r}")
            name, _, blob = line[len(_SIG_PREFIX) :].partition(" ")
            raw = b64decode_strict(blob, f"signature of {name!r}")
            if len(raw) < 5 or not name:  # noqa: PLR2004 - key ID plus at least one byte
                raise FormatError(f"signature line of {name!r} is too short")
            sigs.append(NoteSignature(name, raw[:4], raw[4:]))
        if not sigs:
            raise FormatError("signed note has no signatures")
        return cls(text, tuple(sigs))

    def render(self) -> str:
        """The note as text, byte-identical to what was parsed or signed."""
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def verify(self, name: str, key: PublicKey) -> None:
        """Check that ``key`` under ``name`` signed this note (type 0x01).

        Every line bearing that name and key ID must verify; one bad line fails the note.

        Raises:
            VerificationError: no signature by that key, or one of them does not verify.
        """
        kid = key_id(name, key.raw)
        mine = [s for s in self.signatures if s.name == name and s.key_id == kid]
        if not mine:
            raise VerificationError(f"note carries no signature by {name} ({kid.hex()})")
        if not all(key.verify(self.text.encode(), s.signature) for s in mine):
            raise VerificationError(f"a signature by {name} on the note does not verify")

    def verify_cosignature(self, name: str, key: PublicKey) -> int:
        """Check a witness cosignature (type 0x04); return its timestamp.

        Raises:
            VerificationError: no cosignature by that key, or it does not verify.
        """
        kid = key_id(name, key.raw, COSIGNATURE_V1)
        found = False
        for sig in self.signatures:
            if sig.name != name or sig.key_id != kid or len(sig.signature) != 72:  # noqa: PLR2004
                continue
            found = True
            (timestamp,) = struct.unpack(">Q", sig.signature[:8])
            if timestamp >= 1 << 63:
                continue
            message = f"cosignature/v1\ntime {timestamp}\n{self.text}".encode()
            if key.verify(message, sig.signature[8:]):
                return int(timestamp)
        if found:
            raise VerificationError(f"cosignature by {name} does not verify")
        raise VerificationError(f"note carries no cosignature by {name} ({kid.hex()})")

    def cosign(self, name: str, key: SigningKey, timestamp: int) -> SignedNote:
        """Return this note with a witness cosignature by ``key`` added."""
        message = f"cosignature/v1\ntime {timestamp}\n{self.text}".encode()
        blob = struct.pack(">Q", timestamp) + key.sign(message)
        sig = NoteSignature(name, key_id(name, key.public_key.raw, COSIGNATURE_V1), blob)
        return SignedNote(self.text, (*self.signatures, sig))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's commitment to its size and root hash (C2SP tlog-checkpoint)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = field(default=())

    def body(self) -> str:
        """The checkpoint text that gets signed."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "".join(f"{line}\n" for line in (*lines, *self.extensions))

    def sign(self, key: SigningKey) -> SignedNote:
        """Sign as the log (key name = origin, type 0x01)."""
        text = self.body()
        sig = NoteSignature(
            self.origin, key_id(self.origin, key.public_key.raw), key.sign(text.encode())
        )
        return SignedNote(text, (sig,))

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body (the note text, without signatures).

        Raises:
            FormatError: missing lines, a bad size or a root that is not 32 bytes of base64.
        """
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or "" in lines[:-1]:  # noqa: PLR2004
            raise FormatError("checkpoint needs origin, size and root lines")
        origin, size_line, root_line = lines[0], lines[1], lines[2]
        if not origin or not _DECIMAL.match(size_line) or int(size_line) >= 1 << 63:
            raise FormatError(f"checkpoint size {size_line!r} is not a decimal tree size")
        root = b64decode_strict(root_line, "checkpoint root")
        if len(root) != 32:  # noqa: PLR2004
            raise FormatError("checkpoint root is not a 32-byte hash")
        return cls(origin, int(size_line), root, tuple(lines[3:-1]))

    @classmethod
    def open(cls, note: str, log_vkey: str) -> tuple[Checkpoint, SignedNote]:
        """Parse a signed checkpoint and verify the log's signature on it.

        Raises:
            FormatError: the note or checkpoint is malformed.
            VerificationError: the log key did not sign it, or the origin is not the key's name.
        """
        name, key = PublicKey.from_vkey(log_vkey, alg=ED25519_NOTE)
        signed = SignedNote.parse(note)
        signed.verify(name, key)
        checkpoint = cls.from_text(signed.text)
        if checkpoint.origin != name:
            raise VerificationError(f"checkpoint origin {checkpoint.origin!r} is not log {name!r}")
        return checkpoint, signed
