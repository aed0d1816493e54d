"""The one exception tree: classes, parents, stable codes and diagnostics."""

from __future__ import annotations

import pickle

import pytest

import sealog
from sealog import errors
from sealog.errors import (
    ApprovalRequired,
    CanonicalError,
    EntryRejected,
    Error,
    FormatError,
    InputError,
    NotFound,
    PolicyError,
    PolicyViolation,
    SessionKilled,
    StorageError,
    UnavailableError,
    UsageError,
    VerificationError,
)

TREE = {
    Error: Exception,
    UsageError: Error,
    InputError: Error,
    CanonicalError: InputError,
    FormatError: InputError,
    EntryRejected: InputError,
    PolicyError: InputError,
    PolicyViolation: Error,
    ApprovalRequired: PolicyViolation,
    SessionKilled: PolicyViolation,
    NotFound: Error,
    VerificationError: Error,
    StorageError: Error,
    UnavailableError: Error,
}
CODES = {
    Error: "error",
    UsageError: "usage",
    InputError: "bad-input",
    CanonicalError: "not-canonical",
    FormatError: "bad-format",
    EntryRejected: "entry-rejected",
    PolicyError: "bad-policy",
    PolicyViolation: "denied",
    ApprovalRequired: "approval-required",
    SessionKilled: "session-killed",
    NotFound: "not-found",
    VerificationError: "verification-failed",
    StorageError: "storage",
    UnavailableError: "unavailable",
}
CLASSES = [getattr(errors, name) for name in errors.__all__]


def test_tree_covers_every_exported_error():
    """errors.__all__ names exactly the classes of the documented tree."""
    assert set(CLASSES) == set(TREE) == set(CODES)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_is_a_sealog_error(cls):
    """Catching sealog.Error catches every error sealog raises."""
    assert issubclass(cls, sealog.Error)
    with pytest.raises(sealog.Error):
        raise cls("boom")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_direct_parent_matches_documented_tree(cls):
    """Each class sits under the parent drawn in the errors module docstring."""
    assert cls.__bases__ == (TREE[cls],)
    assert cls.__name__ in errors.__doc__


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_codes_are_stable(cls):
    """Each class has its fixed code slug, on the class and on instances."""
    assert cls.code == CODES[cls]
    assert cls("x").code == CODES[cls]


def test_codes_are_unique_slugs():
    """No two classes share a code, and codes are lowercase slugs."""
    codes = [cls.code for cls in CLASSES]
    assert len(set(codes)) == len(codes)
    assert all(code.replace("-", "").isalpha() and code.islower() for code in codes)


def test_code_override_is_per_instance():
    """A code passed to one error names its reason without changing the class default."""
    err = EntryRejected("entry is too big", code="too-large")
    assert err.code == "too-large"
    assert EntryRejected.code == "entry-rejected"
    assert EntryRejected("other").code == "entry-rejected"


def test_diagnostics_includes_hint():
    """diagnostics() is the message followed by the hint in parentheses."""
    err = FormatError("key file is not base64", hint="regenerate it with 'sealog keys new'")
    assert err.diagnostics() == "key file is not base64 (regenerate it with 'sealog keys new')"
    assert err.hint == "regenerate it with 'sealog keys new'"


def test_diagnostics_without_hint_is_the_message():
    """Without a hint, diagnostics() is just the message."""
    err = VerificationError("proof does not lead to the root")
    assert err.diagnostics() == "proof does not lead to the root"
    assert err.hint is None


def test_message_is_str_and_attribute():
    """str(err) and err.message are the message given."""
    err = NotFound("no agent 'bob'")
    assert str(err) == err.message == "no agent 'bob'"


def test_errors_survive_pickling():
    """An error keeps message, code and hint through pickle (e.g. across processes)."""
    err = pickle.loads(pickle.dumps(EntryRejected("m", code="bad-chain", hint="h")))
    assert (type(err), err.message, err.code, err.hint) == (EntryRejected, "m", "bad-chain", "h")
