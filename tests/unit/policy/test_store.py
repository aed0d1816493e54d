"""Policy versions sealed in the ledger: owner-signed, consecutive, read back with their hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealog.crypto import SigningKey
from sealog.errors import EntryRejected, NotFound, PolicyError, UsageError, VerificationError
from sealog.ledger import Ledger
from sealog.policy.store import PolicyVersion, current_policy, policy_history, set_policy

ASSETS = Path(__file__).parents[2] / "assets" / "policies"
FULL = ASSETS / "native" / "full.yaml"
OWNER = SigningKey(bytes([1]) * 32)
OTHER_OWNER = SigningKey(bytes([2]) * 32)
AGENT = SigningKey(bytes([3]) * 32)
SMALL = "actions:\n  allow: [quote, trade]\nbudget:\n  max_cost_per_session: 10\n"


@pytest.fixture
def ledger():
    with Ledger.in_memory() as led:
        led.register_agent(AGENT, OWNER, name="trader")
        led.register_owner(OTHER_OWNER)
        yield led


def test_versions_count_from_one_and_the_latest_is_in_force(ledger):
    """Each set seals the next version; the latest is current and old ones stay readable."""
    first, _ = set_policy(ledger, OWNER, AGENT.address, FULL)
    second, receipt = set_policy(ledger, OWNER, AGENT.address, SMALL)
    assert (first.version, second.version) == (1, 2)
    assert second.index == receipt.index
    assert current_policy(ledger, AGENT.address).version == 2
    assert current_policy(ledger, AGENT.address, 1).document == FULL.read_text()
    assert [v.version for v in policy_history(ledger, AGENT.address)] == [1, 2]
    assert ledger.verify().ok


def test_a_sealed_version_loads_to_its_hash(ledger):
    """Reading a version back loads the sealed document and checks its policy hash."""
    sealed, _ = set_policy(ledger, OWNER, AGENT.address, FULL)
    assert sealed.policy().hash() == sealed.policy_hash
    assert sealed.format == "yaml"
    assert sealed.source == "full.yaml"


def test_a_document_that_no_longer_matches_its_hash_fails(ledger):
    """A version whose document does not yield the sealed hash is a verification failure."""
    sealed, _ = set_policy(ledger, OWNER, AGENT.address, SMALL)
    forged = PolicyVersion(**{**sealed.to_dict(), "document": SMALL.replace("10", "99")})
    with pytest.raises(VerificationError, match="not the sealed"):
        forged.policy()


def test_json_text_is_sealed_as_json(ledger):
    """A JSON document is recorded with format json."""
    sealed, _ = set_policy(ledger, OWNER, AGENT.address, '{"allowed_actions": ["post"]}')
    assert sealed.format == "json"
    assert sealed.policy().shape == "ptrace"


def test_an_invalid_policy_seals_nothing(ledger):
    """A policy with problems raises PolicyError and the log does not grow."""
    size = ledger.size()
    with pytest.raises(PolicyError, match="did you mean"):
        set_policy(ledger, OWNER, AGENT.address, "forbiden_tools: [Bash]\n")
    assert ledger.size() == size


def test_only_the_agents_owner_sets_its_policy(ledger):
    """Another owner, or the agent itself, is refused before anything is signed."""
    with pytest.raises(UsageError, match="not the owner"):
        set_policy(ledger, OTHER_OWNER, AGENT.address, SMALL)
    with pytest.raises(UsageError, match="is an owner"):
        set_policy(ledger, OWNER, OWNER.address, SMALL)
    with pytest.raises(NotFound):
        set_policy(ledger, OWNER, SigningKey(bytes([9]) * 32).address, SMALL)


def _policy_fields(version: int) -> dict[str, object]:
    return {
        "agent": AGENT.address,
        "version": version,
        "document": SMALL,
        "format": "yaml",
        "policy_hash": "sha256:" + "0" * 64,
    }


def test_the_ledger_refuses_a_policy_signed_by_another_owner(ledger):
    """A hand-signed policy entry by someone other than the agent's owner is refused."""
    with pytest.raises(EntryRejected) as caught:
        ledger.append_entry(OTHER_OWNER, "policy", _policy_fields(1))
    assert caught.value.code == "not-allowed"


def test_the_ledger_refuses_a_skipped_or_repeated_version(ledger):
    """Versions are consecutive: skipping ahead or repeating one is refused."""
    with pytest.raises(EntryRejected) as skipped:
        ledger.append_entry(OWNER, "policy", _policy_fields(2))
    assert skipped.value.code == "policy-version"
    ledger.append_entry(OWNER, "policy", _policy_fields(1))
    with pytest.raises(EntryRejected) as repeated:
        ledger.append_entry(OWNER, "policy", _policy_fields(1))
    assert repeated.value.code == "policy-version"


def test_the_version_count_survives_reopening(tmp_path):
    """A reopened ledger continues the numbering from the stored entries."""
    with Ledger.init(tmp_path / ".sealog") as led:
        led.register_agent(AGENT, OWNER)
        set_policy(led, OWNER, AGENT.address, SMALL)
    with Ledger.open(tmp_path / ".sealog") as led:
        sealed, _ = set_policy(led, OWNER, AGENT.address, FULL)
        assert sealed.version == 2


def test_no_policy_yet_is_not_found(ledger):
    """Asking for the policy of an agent that has none, or a missing version, is NotFound."""
    with pytest.raises(NotFound, match="has no policy"):
        current_policy(ledger, AGENT.address)
    set_policy(ledger, OWNER, AGENT.address, SMALL)
    with pytest.raises(NotFound, match="no policy version 5"):
        current_policy(ledger, AGENT.address, 5)


def test_a_policy_entry_with_bad_fields_is_refused(ledger):
    """The ledger checks a policy entry's fields: version, format, hash, document."""
    for bad in ({"version": 0}, {"format": "toml"}, {"policy_hash": "md5:x"}, {"document": ""}):
        with pytest.raises(EntryRejected) as caught:
            ledger.append_entry(OWNER, "policy", {**_policy_fields(1), **bad})
        assert caught.value.code == "bad-field"
