"""Fixtures for the gate tests: an in-memory ledger with fixed keys, a clock and a notifier."""

from __future__ import annotations

import pytest
from gate_world import AGENT, HELPER, OWNER, Clock, Recorder

from sealog.crypto import SigningKey
from sealog.gate import Gate
from sealog.ledger import Ledger
from sealog.policy.store import set_policy


@pytest.fixture
def ledger():
    """An in-memory ledger where OWNER registered AGENT and HELPER (no policy sealed yet)."""
    with Ledger.in_memory() as led:
        led.register_agent(AGENT, OWNER, name="trader")
        led.register_agent(HELPER, OWNER, name="helper")
        yield led


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def notes():
    return Recorder()


@pytest.fixture
def open_gate(ledger, clock, notes):
    """Seal ``policy`` for an agent (AGENT by default) and open its gate on the shared clock."""
    gates: list[Gate] = []

    def make(policy: str | None = None, agent: SigningKey = AGENT, **options) -> Gate:
        if policy is not None:
            set_policy(ledger, OWNER, agent.address, policy)
        options.setdefault("notifier", notes)
        gate = Gate(ledger, agent, clock=clock, **options)
        gates.append(gate)
        return gate

    yield make
    for gate in gates:
        gate.close()
