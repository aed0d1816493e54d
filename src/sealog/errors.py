"""The one exception tree of sealog.

Every failure a caller can meet is a :class:`Error`; catch that one class to catch them all.
The tree splits *who* is at fault, so callers and the CLI can answer correctly:

Error:
    ├── UsageError              the API or CLI was called wrong (a bad argument, no ledger home)
    ├── InputError              data from outside is bad; nothing was stored
    │   ├── CanonicalError      bytes or values outside sealog's canonical JSON profile
    │   ├── FormatError         an unreadable key, checkpoint, proof or bundle file
    │   ├── EntryRejected       the ledger refused an entry (signature, chain, size, author …)
    │   └── PolicyError         a policy file is invalid (names the file, line and key path)
    ├── PolicyViolation         the gate refused an action (deny); carries the decision
    │   ├── ApprovalRequired    the action waits for a human (ask)
    │   └── SessionKilled       the session is killed: nothing more may run in it
    ├── NotFound                no such agent, key, entry or checkpoint
    ├── VerificationError       a signature, proof or checkpoint did not verify
    ├── StorageError            the storage backend failed; the ledger is unchanged
    └── UnavailableError        the service did not answer; a write may or may not be stored

Each error carries a stable ``code`` (a short slug that scripts may match on) and a
``diagnostics()`` string: one line saying what is wrong and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "ApprovalRequired",
    "CanonicalError",
    "EntryRejected",
    "Error",
    "FormatError",
    "InputError",
    "NotFound",
    "PolicyError",
    "PolicyViolation",
    "SessionKilled",
    "StorageError",
    "UnavailableError",
    "UsageError",
    "VerificationError",
]


class Error(Exception):
    """Base class of every error sealog raises."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        """Create an error.

        Args:
            message: What is wrong, specifically.
            code: A stable slug overriding the class default (e.g. ``"bad-signature"``).
            hint: What the user can do about it.
        """
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.hint = hint

    def diagnostics(self) -> str:
        """One line for a human: what is wrong, then what to do."""
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class UsageError(Error):
    """The API or CLI was called wrong: fix the call, not the data."""

    code = "usage"


class InputError(Error):
    """Data from outside (an entry, a file, a request) is malformed or refused."""

    code = "bad-input"


class CanonicalError(InputError):
    """A value or byte string is outside sealog's canonical JSON profile (spec §2)."""

    code = "not-canonical"


class FormatError(InputError):
    """A key, checkpoint, proof or bundle could not be parsed."""

    code = "bad-format"


class EntryRejected(InputError):
    """The ledger refused an entry; ``code`` names the reason (spec §4.8)."""

    code = "entry-rejected"


class PolicyError(InputError):
    """A policy file is invalid; nothing of it was loaded.

    The message names the first problem as ``file:line: key.path: what is wrong``;
    ``problems`` holds every problem found, in the same form, so a linter can list them all.
    """

    code = "bad-policy"

    def __init__(
        self,
        message: str,
        *,
        problems: tuple[str, ...] = (),
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        """Create a policy error.

        Args:
            message: The first (or only) problem, with its location.
            problems: Every problem found, each with its location.
            code: A stable slug overriding the class default.
            hint: What the user can do about it.
        """
        super().__init__(message, code=code, hint=hint)
        self.problems = problems or (message,)


class PolicyViolation(Error):
    """The gate refused an action; ``decision`` is the sealed decision that says why.

    Raised by ``Session.enforce`` and by the guards (context manager, decorator, framework
    middleware). ``decision`` is a :class:`sealog.gate.GateDecision` (typed loosely here so the
    exception tree imports nothing).
    """

    code = "denied"

    def __init__(self, message: str, *, decision: object = None, code: str | None = None) -> None:
        """Create the refusal.

        Args:
            message: Which rule refused and why, in words.
            decision: The sealed decision (None only when no decision could be made).
            code: A stable slug overriding the class default.
        """
        super().__init__(message, code=code)
        self.decision = decision


class ApprovalRequired(PolicyViolation):
    """The action was sent to a human (an ``ask`` rule); it must not run until approved."""

    code = "approval-required"


class SessionKilled(PolicyViolation):
    """The session is killed; every later action in it (and its child sessions) is refused."""

    code = "session-killed"


class NotFound(Error):
    """The named agent, key, entry or checkpoint does not exist."""

    code = "not-found"


class VerificationError(Error):
    """A signature, proof, chain or checkpoint failed to verify."""

    code = "verification-failed"


class StorageError(Error):
    """The storage backend failed; the transaction was rolled back."""

    code = "storage"


class UnavailableError(Error):
    """The sealog service could not be reached or did not answer in time, after retries.

    Unlike :class:`StorageError` the outcome of a write is unknown: it may have been stored.
    Retrying it with the same idempotency key is safe (the client's retries do that).
    """

    code = "unavailable"
