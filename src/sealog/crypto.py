"""Ed25519 keys, addresses and signing domains (spec §3).

Every actor is an Ed25519 key. An actor's *address* is derived from its public key, so anyone
holding the key can check the address. Every signature is over a domain-separated message: a
prefix line naming what is signed, then the canonical bytes, so a signature made for one purpose
never verifies for another. Private keys are stored in the signed-note key format used by C2SP
and Go's ``sumdb/note`` (``PRIVATE+KEY+name+keyid+base64(0x01 ‖ seed)``), verifier keys as note
verifier keys (``name+keyid+base64(0x01 ‖ public key)``).

PyNaCl (libsodium) signs and verifies: about twice as fast as the alternatives on this hardware.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Final

import nacl.bindings
import nacl.exceptions

from sealog._encoding import b64decode_strict, hex_strict
from sealog.errors import FormatError

__all__ = [
    "ADDRESS_PREFIX",
    "COSIGNATURE_V1",
    "ED25519_NOTE",
    "PublicKey",
    "SigningKey",
    "entry_signing_prefix",
    "is_address",
    "key_id",
    "valid_key_name",
]

ADDRESS_PREFIX: Final = "sl1"
"""Every address starts with this; the rest is 40 lowercase hex digits."""

_ADDRESS_DOMAIN: Final = b"sealog/address/v1\n"
_KEY_NAME = re.compile(r"^[^\s+]{1,255}\Z")
_ADDRESS = re.compile(r"^sl1[0-9a-f]{40}\Z")


def entry_signing_prefix(kind: str) -> bytes:
    """Return the domain line an entry of ``kind`` is signed under (spec §3.3)."""
    return b"sealog/entry/v1/" + kind.encode("ascii") + b"\n"


ED25519_NOTE: Final = 0x01
"""Signed-note signature type of a plain Ed25519 signer (C2SP signed-note)."""

COSIGNATURE_V1: Final = 0x04
"""Signed-note signature type of a timestamped witness cosignature (C2SP tlog-cosignature)."""


def key_id(name: str, public_key: bytes, alg: int = ED25519_NOTE) -> bytes:
    """Return the 4-byte signed-note key ID: SHA-256(name ‖ 0x0A ‖ alg ‖ key)[:4].

    Raises:
        FormatError: the name is not valid Unicode (an unpaired surrogate).
    """
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FormatError("key name is not valid Unicode") from exc
    return hashlib.sha256(encoded + b"\n" + bytes([alg]) + public_key).digest()[:4]


def valid_key_name(name: str) -> bool:
    """Signed-note key names are non-empty and hold no whitespace or '+'."""
    return bool(_KEY_NAME.match(name))


def is_address(text: str) -> bool:
    """True if ``text`` has the form of a sealog address."""
    return bool(_ADDRESS.match(text))


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An Ed25519 public key (32 raw bytes)."""

    raw: bytes
    address: str = field(init=False, repr=False, compare=False)
    """The actor's address: ``sl1`` ‖ hex(SHA-256("sealog/address/v1\\n" ‖ key)[:20])."""

    def __post_init__(self) -> None:
        """Refuse anything that is not 32 bytes; derive the address once."""
        if len(self.raw) != nacl.bindings.crypto_sign_PUBLICKEYBYTES:
            raise FormatError(f"an Ed25519 public key is 32 bytes, got {len(self.raw)}")
        digest = hashlib.sha256(_ADDRESS_DOMAIN + self.raw).hexdigest()
        object.__setattr__(self, "address", ADDRESS_PREFIX + digest[:40])

    @classmethod
    def validated(cls, raw: bytes) -> PublicKey:
        """Accept ``raw`` only if it is a canonical point of the prime-order subgroup.

        Small-order and non-canonical keys are refused: libsodium rejects every signature under
        them, but other libraries accept forged signatures for some of them, so an independent
        verifier could be fooled (spec §3.1).

        Raises:
            FormatError: not 32 bytes, or not a valid Ed25519 public key.
        """
        key = cls(raw)
        if not nacl.bindings.crypto_core_ed25519_is_valid_point(raw):
            raise FormatError("not a valid Ed25519 public key (small-order or non-canonical point)")
        return key

    @classmethod
    def from_b64(cls, text: str) -> PublicKey:
        """Parse canonical standard base64 of the 32 raw bytes, as a validated key.

        Raises:
            FormatError: bad base64, or not a valid Ed25519 public key.
        """
        return cls.validated(b64decode_strict(text, "public key"))

    @property
    def b64(self) -> str:
        """Standard base64 of the raw key."""
        return base64.b64encode(self.raw).decode()

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return True if ``signature`` is this key's signature of ``message``."""
        if len(signature) != nacl.bindings.crypto_sign_BYTES:
            return False
        try:
            nacl.bindings.crypto_sign_open(signature + message, self.raw)
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
            return False
        return True

    def vkey(self, name: str, *, alg: int = ED25519_NOTE) -> str:
        """The signed-note verifier key line for this key under ``name``."""
        blob = base64.b64encode(bytes([alg]) + self.raw).decode()
        return f"{name}+{key_id(name, self.raw, alg).hex()}+{blob}"

    @classmethod
    def from_vkey(cls, vkey: str, *, alg: int = ED25519_NOTE) -> tuple[str, PublicKey]:
        """Parse a note verifier key of signature type ``alg``; return its name and key.

        Raises:
            FormatError: not a well-formed verifier key of that type, or its key ID is wrong.
        """
        name, sep, rest = vkey.partition("+")
        kid_hex, sep2, blob = rest.partition("+")
        if not (sep and sep2 and valid_key_name(name)):
            raise FormatError("verifier key must look like NAME+KEYID+BASE64")
        raw = b64decode_strict(blob, "verifier key")
        kid = hex_strict(kid_hex, "verifier key ID", 4)
        if len(raw) != 1 + nacl.bindings.crypto_sign_PUBLICKEYBYTES or raw[0] != alg:
            raise FormatError(f"verifier key is not an Ed25519 key of type 0x{alg:02x}")
        key = cls.validated(raw[1:])
        if kid != key_id(name, key.raw, alg):
            raise FormatError("verifier key ID does not match its name and key")
        return name, key


class SigningKey:
    """An Ed25519 private key. Keep it secret: it signs as its actor."""

    __slots__ = ("_secret", "public_key", "seed")

    def __init__(self, seed: bytes) -> None:
        """Create the key from its 32-byte seed.

        Raises:
            FormatError: the seed is not 32 bytes.
        """
        if len(seed) != nacl.bindings.crypto_sign_SEEDBYTES:
            raise FormatError(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
        public, secret = nacl.bindings.crypto_sign_seed_keypair(seed)
        self.seed = seed
        self._secret = secret
        self.public_key = PublicKey(public)

    @classmethod
    def generate(cls) -> SigningKey:
        """Create a fresh random key."""
        return cls(nacl.bindings.randombytes(nacl.bindings.crypto_sign_SEEDBYTES))

    @property
    def address(self) -> str:
        """The address of this key's actor."""
        return self.public_key.address

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        return bytes(nacl.bindings.crypto_sign(message, self._secret)[:64])

    def to_note_skey(self, name: str) -> str:
        """Serialize as a signed-note private key line (the key file format)."""
        blob = base64.b64encode(bytes([ED25519_NOTE]) + self.seed).decode()
        return f"PRIVATE+KEY+{name}+{key_id(name, self.public_key.raw).hex()}+{blob}"

    @classmethod
    def from_note_skey(cls, text: str) -> tuple[str, SigningKey]:
        """Parse a signed-note private key line; return its name and key.

        Raises:
            FormatError: malformed, not Ed25519, or the key ID does not match.
        """
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not valid_key_name(parts[2]):  # noqa: PLR2004
            raise FormatError("not a key file (expected PRIVATE+KEY+NAME+KEYID+BASE64)")
        name, kid_hex, blob = parts[2], parts[3], parts[4]
        raw = b64decode_strict(blob, "key file")
        kid = hex_strict(kid_hex, "key file key ID", 4)
        if len(raw) != 1 + nacl.bindings.crypto_sign_SEEDBYTES or raw[0] != ED25519_NOTE:
            raise FormatError("key file does not hold an Ed25519 (type 0x01) key")
        key = cls(raw[1:])
        if kid != key_id(name, key.public_key.raw):
            raise FormatError("key file's key ID does not match its name and key")
        return name, key

    def __repr__(self) -> str:
        """Never show the secret."""
        return f"SigningKey(address={self.address!r})"
