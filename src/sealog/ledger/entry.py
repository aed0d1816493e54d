"""Entries: author-signed statements, the leaves of the log (spec §4).

An entry is a canonical JSON object ``E`` with the common fields

    v        1 (the format version)
    kind     what the statement is: "register", "action", … (lowercase, ≤ 32 chars)
    author   the signer's address
    seq      the author's sequence number, from 0 with no gaps
    prev     the id of the author's previous entry, or null at seq 0
    time     when the author made it, RFC 3339 UTC with microseconds ("…T14:29:14.123456Z")

plus the fields of its kind. The author signs ``"sealog/entry/v1/<kind>\\n" ‖ E``; the leaf
bytes are ``S ‖ E`` (the 64-byte signature, then E) and the entry's *id* is the leaf hash
SHA-256(0x00 ‖ S ‖ E) in hex, which the next entry's ``prev`` cites.

Verifiers accept any kind and any extra field (the format grows without breaking them); the
ledger refuses, on append, kinds it does not know and known kinds with ill-typed fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

from sealog.canonical import canonicalize, parse_canonical
from sealog.content import is_content_hash
from sealog.crypto import PublicKey, SigningKey, entry_signing_prefix, is_address
from sealog.errors import CanonicalError, EntryRejected, FormatError
from sealog.ledger._merkle import leaf_hash

__all__ = [
    "APPROVAL_TIMEOUT",
    "APPROVAL_VERDICTS",
    "ENTRY_VERSION",
    "KNOWN_KINDS",
    "MAX_DEPTH",
    "MAX_ENTRY_BYTES",
    "REPORT_CATEGORIES",
    "SEVERITIES",
    "TRACE_STATUSES",
    "SignedEntry",
    "check_schema",
    "format_time",
    "parse_time",
    "sign_entry",
]

ENTRY_VERSION: Final = 1
MAX_ENTRY_BYTES: Final = 64 * 1024
"""Largest canonical entry accepted, in bytes. Content belongs with its owner, not in the log."""

MAX_POLICY_CHARS: Final = 48 * 1024
"""Longest policy document a ``policy`` entry carries (it must fit the entry limit, signed)."""

MAX_DEPTH: Final = 32
"""Deepest JSON nesting the ledger stores (the entry object itself is level 1)."""

SIGNATURE_BYTES: Final = 64
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_HEX_ID = re.compile(r"^[0-9a-f]{64}\Z")
_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,18})?\Z")
_COMMON = ("v", "kind", "author", "seq", "prev", "time")


def format_time(moment: datetime) -> str:
    """Render an aware datetime as the entry time format (UTC, microseconds, 'Z')."""
    if moment.tzinfo is None:
        raise ValueError("entry times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Parse the entry time format; raise ``ValueError`` if it is not exactly that."""
    if not _TIME.match(text):
        raise ValueError(f"time {text!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    return datetime.fromisoformat(text)


def _reject(code: str, message: str) -> EntryRejected:
    return EntryRejected(message, code=code)


_FROM_BYTES = object()
"""Marks entries whose fields :meth:`SignedEntry.parse` read from their bytes."""


@dataclass(frozen=True, slots=True, eq=False)
class SignedEntry:
    """An entry's canonical bytes, its signature and the parsed fields.

    Build one with :meth:`parse` (or :func:`sign_entry`); the fields are then a read-only view
    of what the bytes say. An object built directly is re-parsed from its bytes before the
    ledger trusts it.
    """

    data: bytes
    """E: the canonical JSON bytes the author signed."""
    signature: bytes
    """S: the author's 64-byte Ed25519 signature."""
    fields: Mapping[str, Any]
    """E parsed: a read-only mapping; the bytes are the truth."""
    leaf: bytes
    """The RFC 9162 leaf hash SHA-256(0x00 ‖ S ‖ E)."""
    origin: object = field(default=None, repr=False, compare=False)
    """Private: set only by :meth:`parse`."""

    @property
    def from_bytes(self) -> bool:
        """True if the fields were read from the bytes by :meth:`parse`."""
        return self.origin is _FROM_BYTES

    @classmethod
    def parse(cls, data: bytes, signature: bytes, *, leaf: bytes | None = None) -> SignedEntry:
        """Parse E and S, checking the format but not the signature (see :meth:`verify`).

        Args:
            data: E.
            signature: S.
            leaf: the leaf hash if the caller computed it already (saves hashing twice).

        Raises:
            EntryRejected: too large, not canonical, or the common fields are missing or
                ill-typed (``code`` says which).
        """
        if len(data) > MAX_ENTRY_BYTES:
            raise _reject(
                "too-large", f"entry is {len(data)} bytes; the limit is {MAX_ENTRY_BYTES}"
            )
        if len(signature) != SIGNATURE_BYTES:
            raise _reject("bad-signature", f"signature is {len(signature)} bytes, not 64")
        try:
            fields = parse_canonical(data)
        except CanonicalError as exc:
            raise _reject("not-canonical", f"entry is not canonical JSON: {exc.message}") from exc
        if type(fields) is not dict:
            raise _reject("bad-field", "an entry is a JSON object")
        _check_common(fields)
        return cls(
            data,
            signature,
            MappingProxyType(fields),
            leaf if leaf is not None else leaf_hash(signature + data),
            _FROM_BYTES,
        )

    @property
    def id(self) -> str:
        """The entry id: the leaf hash in lowercase hex."""
        return self.leaf.hex()

    @property
    def kind(self) -> str:
        """What the statement is (``register``, ``action`` …)."""
        return str(self.fields["kind"])

    @property
    def author(self) -> str:
        """The signer's address."""
        return str(self.fields["author"])

    @property
    def seq(self) -> int:
        """The author's sequence number."""
        return int(self.fields["seq"])

    @property
    def prev(self) -> str | None:
        """The id of the author's previous entry (None at seq 0)."""
        prev = self.fields["prev"]
        return None if prev is None else str(prev)

    @property
    def time(self) -> str:
        """The author's timestamp, as signed."""
        return str(self.fields["time"])

    @property
    def leaf_bytes(self) -> bytes:
        """The leaf: S ‖ E."""
        return self.signature + self.data

    def signed_message(self) -> bytes:
        """What the author signed: the kind's domain line, then E."""
        return entry_signing_prefix(self.kind) + self.data

    def verify(self, key: PublicKey) -> bool:
        """True if ``key`` is the author's key and its signature over this entry is valid."""
        return key.address == self.author and key.verify(self.signed_message(), self.signature)


def _check_common(fields: dict[str, Any]) -> None:
    missing = [name for name in _COMMON if name not in fields]
    if missing:
        raise _reject("bad-field", f"entry lacks {', '.join(missing)}")
    if type(fields["v"]) is not int or fields["v"] != ENTRY_VERSION:
        raise _reject("bad-version", f"entry format v{fields['v']!r} is not supported (v1 is)")
    if type(fields["kind"]) is not str or not _KIND.match(fields["kind"]):
        raise _reject("bad-field", "kind must be lowercase letters, digits and '_' (≤ 32)")
    if type(fields["author"]) is not str or not is_address(fields["author"]):
        raise _reject("bad-field", "author must be a sealog address (sl1 + 40 hex digits)")
    seq, prev = fields["seq"], fields["prev"]
    if type(seq) is not int or seq < 0:
        raise _reject("bad-field", "seq must be a non-negative integer")
    if seq == 0 and prev is not None:
        raise _reject("bad-chain", "the first entry of an author (seq 0) has prev null")
    if seq > 0 and (type(prev) is not str or not _HEX_ID.match(prev)):
        raise _reject("bad-chain", "prev must be the 64-hex id of the author's previous entry")
    try:
        parse_time(fields["time"] if type(fields["time"]) is str else repr(fields["time"]))
    except ValueError as exc:
        raise _reject("bad-field", str(exc)) from exc


def _text(fields: Mapping[str, Any], name: str, limit: int, *, required: bool) -> None:
    value = fields.get(name)
    if value is None:
        if required:
            raise _reject("bad-field", f"{name} is required")
        return
    if type(value) is not str or not 0 < len(value) <= limit:
        raise _reject("bad-field", f"{name} must be a non-empty string of at most {limit} chars")


def _check_action(fields: Mapping[str, Any]) -> None:
    _text(fields, "action", 256, required=True)
    _text(fields, "target", 2048, required=False)
    for name in ("run_id", "session_id", "tool_call_id", "decision", "policy_version"):
        _text(fields, name, 256, required=False)
    if fields.get("content_hash") is not None and not is_content_hash(fields["content_hash"]):
        raise _reject("bad-field", "content_hash must be 'sha256:' + 64 lowercase hex digits")
    metadata = fields.get("metadata")
    if metadata is not None and type(metadata) is not dict:
        raise _reject("bad-field", "metadata must be a JSON object")
    cost = fields.get("cost")
    if cost is not None and (type(cost) is not str or not _DECIMAL.match(cost)):
        raise _reject("bad-field", "cost must be a decimal string such as '0.0042'")
    sources = fields.get("sources")
    if sources is not None and (
        type(sources) is not list or not all(is_content_hash(s) for s in sources)
    ):
        raise _reject("bad-field", "sources must be a list of content hashes")


def _check_register(fields: Mapping[str, Any]) -> None:
    subject, public_key = fields.get("subject"), fields.get("public_key")
    if type(subject) is not str or not is_address(subject):
        raise _reject("bad-field", "subject must be the registered key's address")
    if type(public_key) is not str:
        raise _reject("bad-field", "public_key must be base64 of a 32-byte Ed25519 key")
    try:
        key = PublicKey.from_b64(public_key)
    except FormatError as exc:
        raise _reject("bad-field", "public_key must be base64 of a 32-byte Ed25519 key") from exc
    if key.address != subject:
        raise _reject("bad-field", "subject is not the address of public_key")
    if fields.get("role") not in ("owner", "agent"):
        raise _reject("bad-field", "role must be 'owner' or 'agent'")
    _text(fields, "name", 128, required=False)


def _check_policy(fields: Mapping[str, Any]) -> None:
    agent = fields.get("agent")
    if type(agent) is not str or not is_address(agent):
        raise _reject("bad-field", "agent must be the address of the agent the policy governs")
    version = fields.get("version")
    if type(version) is not int or version < 1:
        raise _reject("bad-field", "version must be an integer from 1")
    document = fields.get("document")
    if type(document) is not str or not 0 < len(document) <= MAX_POLICY_CHARS:
        raise _reject(
            "bad-field", f"document must be the policy text, 1 to {MAX_POLICY_CHARS} chars"
        )
    if fields.get("format") not in ("yaml", "json"):
        raise _reject("bad-field", "format must be 'yaml' or 'json'")
    if not is_content_hash(fields.get("policy_hash")):
        raise _reject("bad-field", "policy_hash must be 'sha256:' + 64 lowercase hex digits")
    _text(fields, "source", 256, required=False)


MAX_ARGS_CHARS: Final = 32 * 1024
"""Longest argument text a ``decision`` entry carries; larger arguments are sealed by digest."""

OUTCOMES: Final = ("allow", "deny", "ask", "kill")
SESSION_EVENTS: Final = ("start", "violation", "kill", "end", "delivery")
_SLUG = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}\Z")


def _texts(fields: Mapping[str, Any], name: str, limit: int, items: int) -> None:
    value = fields.get(name)
    if value is None:
        return
    if (
        type(value) is not list
        or len(value) > items
        or not all(type(v) is str and 0 < len(v) <= limit for v in value)
    ):
        raise _reject(
            "bad-field", f"{name} must be a list of at most {items} strings of 1 to {limit} chars"
        )


def _check_decision(fields: Mapping[str, Any]) -> None:
    _text(fields, "session_id", 256, required=True)
    _text(fields, "action", 256, required=True)
    for name in ("parent_session", "run_id", "tool_call_id", "tool", "blocking_rule"):
        _text(fields, name, 256, required=False)
    _text(fields, "target", 2048, required=False)
    _texts(fields, "paths", 4096, 256)
    _texts(fields, "sources", 256, 64)
    _texts(fields, "alerts", 256, 1024)
    _text(fields, "args", MAX_ARGS_CHARS, required=False)
    _text(fields, "decision_class", 64, required=True)
    for name in ("args_digest", "policy_hash", "decision_digest"):
        if not is_content_hash(fields.get(name)):
            raise _reject("bad-field", f"{name} must be 'sha256:' + 64 lowercase hex digits")
    if fields.get("args_basis") not in ("canonical", "raw"):
        raise _reject("bad-field", "args_basis must be 'canonical' or 'raw'")
    estimate = fields.get("estimate")
    if type(estimate) is not str or not _DECIMAL.match(estimate) or estimate.startswith("-"):
        raise _reject("bad-field", "estimate must be a non-negative decimal string")
    if fields.get("outcome") not in OUTCOMES:
        raise _reject("bad-field", f"outcome must be one of {', '.join(OUTCOMES)}")
    risk, evaluated = fields.get("risk"), fields.get("evaluated")
    if type(risk) is not int or not 0 <= risk <= 100:  # noqa: PLR2004 - the risk scale
        raise _reject("bad-field", "risk must be an integer from 0 to 100")
    if type(evaluated) is not int or evaluated < 0:
        raise _reject("bad-field", "evaluated must be the number of verdicts")
    version = fields.get("policy_version")
    if version is not None and (type(version) is not int or version < 1):
        raise _reject("bad-field", "policy_version must be the sealed version number (from 1)")
    failed = fields.get("failed")
    if type(failed) is not list or not all(
        type(v) is dict
        and type(v.get("rule_id")) is str
        and type(v.get("effect")) is str
        and type(v.get("detail")) is str
        for v in failed
    ):
        raise _reject("bad-field", "failed must list {rule_id, effect, detail} objects")


def _check_session(fields: Mapping[str, Any]) -> None:
    _text(fields, "session_id", 256, required=True)
    event = fields.get("event")
    if event not in SESSION_EVENTS:
        raise _reject("bad-field", f"event must be one of {', '.join(SESSION_EVENTS)}")
    for name in ("parent_session", "run_id", "rule_id"):
        _text(fields, name, 256, required=False)
    _text(fields, "reason", 1024, required=False)
    if fields.get("policy_hash") is not None and not is_content_hash(fields["policy_hash"]):
        raise _reject("bad-field", "policy_hash must be 'sha256:' + 64 lowercase hex digits")
    decision = fields.get("decision")
    if decision is not None and (type(decision) is not str or not _HEX_ID.match(decision)):
        raise _reject("bad-field", "decision must be the 64-hex id of a decision entry")
    if event == "violation":
        violation, count = fields.get("violation"), fields.get("count")
        if type(violation) is not str or not _SLUG.match(violation):
            raise _reject("bad-field", "violation must be a lowercase slug such as 'pii_blocked'")
        if type(count) is not int or not 1 <= count <= 1_000_000:  # noqa: PLR2004 - a sane cap
            raise _reject("bad-field", "count must be an integer from 1 to 1000000")
    if event == "delivery" and type(fields.get("delivery")) is not dict:
        raise _reject("bad-field", "a delivery event carries the delivery record (an object)")
    if event == "kill" and type(fields.get("rule_id")) is not str:
        raise _reject("bad-field", "a kill names the rule_id that fired")
    agent = fields.get("agent")
    if agent is not None and (type(agent) is not str or not is_address(agent) or event != "kill"):
        raise _reject("bad-field", "agent names the killed session's agent, on a kill only")
    figures = fields.get("figures")
    if figures is not None and (
        type(figures) is not dict
        or not all(type(v) is str and _DECIMAL.match(v) for v in figures.values())
    ):
        raise _reject("bad-field", "figures must map names to decimal strings")


REPORT_CATEGORIES: Final = (
    "unlogged_action", "spam", "policy_violation", "data_exfiltration", "other",
)  # fmt: skip
SEVERITIES: Final = ("low", "medium", "high", "critical")


def _check_report(fields: Mapping[str, Any]) -> None:
    subject = fields.get("subject")
    if type(subject) is not str or not is_address(subject):
        raise _reject("bad-field", "subject must be the reported agent's address")
    if fields.get("category") not in REPORT_CATEGORIES:
        raise _reject("bad-field", f"category must be one of {', '.join(REPORT_CATEGORIES)}")
    if fields.get("severity") not in SEVERITIES:
        raise _reject("bad-field", f"severity must be one of {', '.join(SEVERITIES)}")
    _text(fields, "action_observed", 256, required=True)
    _text(fields, "target", 2048, required=False)
    _text(fields, "description", 4096, required=False)
    observed = fields.get("observed_at")
    if type(observed) is not str or not _TIME.match(observed):
        raise _reject("bad-field", "observed_at must be a time like 2026-01-02T03:04:05.000000Z")
    try:
        parse_time(observed)
    except ValueError as exc:
        raise _reject("bad-field", f"observed_at: {exc}") from exc
    evidence = fields.get("evidence_hash")
    if evidence is not None and not is_content_hash(evidence):
        raise _reject("bad-field", "evidence_hash must be 'sha256:' + 64 lowercase hex digits")


def _check_response(fields: Mapping[str, Any]) -> None:
    report = fields.get("report")
    if type(report) is not str or not _HEX_ID.match(report):
        raise _reject("bad-field", "report must be the 64-hex id of the report answered")
    acknowledged = fields.get("acknowledged")
    if type(acknowledged) is not bool:
        raise _reject("bad-field", "acknowledged must be true or false")
    counter = fields.get("counter_evidence_hash")
    if counter is not None and not is_content_hash(counter):
        raise _reject("bad-field", "counter_evidence_hash must be 'sha256:' + 64 hex digits")
    if acknowledged is False and counter is None:
        raise _reject("bad-field", "a dispute (acknowledged false) carries counter_evidence_hash")
    _text(fields, "note", 4096, required=False)


APPROVAL_VERDICTS: Final = ("approve", "deny")
APPROVAL_TIMEOUT: Final = 15 * 60
"""Seconds after an ``ask`` decision's time within which it may be approved or denied."""


def _check_approval(fields: Mapping[str, Any]) -> None:
    decision = fields.get("decision")
    if type(decision) is not str or not _HEX_ID.match(decision):
        raise _reject("bad-field", "decision must be the 64-hex id of the ask decision")
    if fields.get("verdict") not in APPROVAL_VERDICTS:
        raise _reject("bad-field", "verdict must be 'approve' or 'deny'")
    _text(fields, "reason", 1024, required=False)


TRACE_STATUSES: Final = ("executed", "blocked", "pending_approval")


def _check_trace(fields: Mapping[str, Any]) -> None:
    if fields.get("status") not in TRACE_STATUSES:
        raise _reject("bad-field", f"status must be one of {', '.join(TRACE_STATUSES)}")
    if type(fields.get("proposed_action")) is not dict:
        raise _reject("bad-field", "proposed_action must be an object")
    for name in ("reasoning_hash", "session_key_hash"):
        value = fields.get(name)
        if value is not None and not is_content_hash(value):
            raise _reject("bad-field", f"{name} must be 'sha256:' + 64 lowercase hex digits")
    for name in ("tx_hash", "blocked_by"):
        _text(fields, name, 256, required=False)
    risk = fields.get("risk_score")
    if risk is not None and (type(risk) is not int or not 0 <= risk <= 100):  # noqa: PLR2004
        raise _reject("bad-field", "risk_score must be an integer from 0 to 100")
    duration = fields.get("duration_ms")
    if duration is not None and (type(duration) is not int or duration < 0):
        raise _reject("bad-field", "duration_ms must be a non-negative integer")
    for name in ("policy_verdicts", "signatures"):
        value = fields.get(name)
        if value is not None and type(value) is not list:
            raise _reject("bad-field", f"{name} must be a list")


def _check_approver(fields: Mapping[str, Any]) -> None:
    approver = fields.get("approver")
    if type(approver) is not str or not is_address(approver):
        raise _reject("bad-field", "approver must be the address of the key named")
    if type(fields.get("active")) is not bool:
        raise _reject("bad-field", "active must be true (named) or false (withdrawn)")


_SCHEMAS = {
    "action": _check_action,
    "approver": _check_approver,
    "approval": _check_approval,
    "decision": _check_decision,
    "policy": _check_policy,
    "register": _check_register,
    "report": _check_report,
    "response": _check_response,
    "session": _check_session,
    "trace": _check_trace,
}
KNOWN_KINDS: Final = frozenset(_SCHEMAS)


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value: scalars 0, each array or object one more."""
    if type(value) is dict:
        return 1 + max(map(_depth, value.values()), default=0)
    if type(value) is list:
        return 1 + max(map(_depth, value), default=0)
    return 0


def check_schema(fields: Mapping[str, Any]) -> None:
    """Check the kind-specific fields of an entry the ledger is asked to store.

    Raises:
        EntryRejected: an unknown kind (code ``unknown-kind``) or an ill-typed field.
    """
    if _depth(fields) > MAX_DEPTH:
        raise _reject("bad-field", f"entry nests JSON deeper than {MAX_DEPTH} levels")
    check = _SCHEMAS.get(str(fields["kind"]))
    if check is None:
        raise _reject(
            "unknown-kind", f"this ledger does not accept entries of kind {fields['kind']!r}"
        )
    check(fields)


def sign_entry(key: SigningKey, fields: Mapping[str, Any]) -> SignedEntry:
    """Canonicalize ``fields`` (common fields included) and sign them as ``key``.

    Raises:
        EntryRejected: the fields break the format (too large, not canonical, ill-typed).
    """
    try:
        data = canonicalize(dict(fields))
    except CanonicalError as exc:
        raise _reject("not-canonical", exc.message) from exc
    kind = str(fields.get("kind", ""))
    if not _KIND.match(kind):
        raise _reject("bad-field", "kind must be lowercase letters, digits and '_' (≤ 32)")
    signature = key.sign(entry_signing_prefix(kind) + data)
    return SignedEntry.parse(data, signature)
