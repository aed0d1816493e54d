"""Decide-and-seal: the live gate's ``pre_action`` on the 50-rule policy, decision durable.

A fresh on-disk ledger (``Ledger.init``: SQLite WAL, ``synchronous=FULL``) holds one owner and
its agents; ``tests/assets/policies/native/bench-50.yaml`` is sealed as each agent's policy with
``sealog.policy.store.set_policy``, and ``Gate(ledger, agent)`` opens the gate. The proposed
actions are the decide benchmark's seeded mix (quotes, transfers, reads, tool calls, writes, a
few denied and ask actions). Each ``pre_action`` decides, signs the ``decision`` entry and commits
it durably before it returns. Measured:

a. one session, sequential ``pre_action``: decisions/s and per-call latency p50/p99;
b. N sessions of the one gate (N = 1, 4, 16 threads, each its own session): aggregate
   decisions/s, and the mean number of entries per commit (group commit);
   for comparison, 4 agents each with its own gate, one session each;
c. one session, ``pre_action`` then ``post_action`` for each allowed action: pairs/s.

The limit measured in the same round, on the same disk: single-entry ``Ledger.append`` calls
(sign + durable commit of one action entry, one thread; bench/ingest.py's loop) on a fresh
ledger — the fsync-bound rate of one durable append, and its per-call latency. A decision is one
durable append, a pair is two, so ratio = decisions/s / that rate (pairs: against half of it),
and for latency, the limit's p50/p99. Ratios are medians of per-round ratios.
"""

from __future__ import annotations

import shutil
import threading
import time
from typing import Any

from bench._common import (
    BASE_TIME,
    OUT,
    Figure,
    Result,
    count_checkpoints,
    key_from,
    log,
    median,
    percentile,
    profile_to,
)
from bench.decide import POLICY, _stream
from bench.ingest import _append_many, _scratch
from sealog.crypto import SigningKey
from sealog.gate import Gate, Session
from sealog.ledger import Ledger
from sealog.policy import ProposedAction
from sealog.policy.store import set_policy

THREADS = (1, 4, 16)
AGENTS = 4
"""Agents (each with its own gate) in the multi-agent comparison."""


def _kwargs(a: ProposedAction) -> dict[str, Any]:
    """``pre_action``'s arguments for a proposed action."""
    return {"target": a.target, "tool": a.tool, "args": dict(a.args), "paths": a.paths,
            "sources": a.sources, "estimate": a.cost}  # fmt: skip


def _calls(count: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """``count`` (action, kwargs) from the decide benchmark's mix (times are the gate's clock)."""
    return [(a.action, _kwargs(a)) for a in _stream(seed, count, BASE_TIME, 1.5)]


class Home:
    """A fresh ledger with an owner, ``agents`` agents, the policy sealed for each, their gates."""

    def __init__(self, tag: str, agents: int = 1) -> None:
        self.path = _scratch(f"gate-{tag}")
        self.ledger = Ledger.init(self.path)
        owner = key_from("gate/owner")
        self.agents: list[SigningKey] = [key_from(f"gate/agent-{i}") for i in range(agents)]
        for agent in self.agents:
            self.ledger.register_agent(agent, owner)
            set_policy(self.ledger, owner, agent.address, POLICY)
        self.gates = [Gate(self.ledger, agent) for agent in self.agents]

    def commits(self) -> int:
        return count_checkpoints(self.path)

    def close(self) -> None:
        for gate in self.gates:
            gate.close()
        self.ledger.close()
        shutil.rmtree(self.path, ignore_errors=True)


def _decide_all(session: Session, calls: list[tuple[str, dict[str, Any]]]) -> list[int]:
    """Sequential ``pre_action`` calls; per-call ns."""
    clock, out = time.perf_counter_ns, []
    for action, kwargs in calls:
        t0 = clock()
        session.pre_action(action, **kwargs)
        out.append(clock() - t0)
    return out


def _sequential(count: int) -> dict[str, Any]:
    """(a) One session, sequential ``pre_action``."""
    home = Home("seq")
    try:
        session = home.gates[0].session(run_id="bench")
        calls = _calls(count, 2)
        start = time.perf_counter()
        ns = _decide_all(session, calls)
        seconds = time.perf_counter() - start
        session.end()
    finally:
        home.close()
    return {"rate": count / seconds, **_latency(ns)}


def _concurrent(threads: int, per_thread: int, *, agents: int = 1) -> dict[str, Any]:
    """(b) ``threads`` threads, each its own session, over ``agents`` gates (round robin)."""
    home = Home(f"t{threads}-a{agents}", agents)
    try:
        sessions = [home.gates[t % agents].session(run_id=f"bench-{t}") for t in range(threads)]
        work = [_calls(per_thread, 100 + t) for t in range(threads)]
        commits_before = home.commits()
        barrier = threading.Barrier(threads + 1)
        errors: list[BaseException] = []

        def run(t: int) -> None:
            barrier.wait()
            try:
                _decide_all(sessions[t], work[t])
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        barrier.wait()
        start = time.perf_counter()
        for w in workers:
            w.join()
        seconds = time.perf_counter() - start
        if errors:
            raise errors[0]
        commits = home.commits() - commits_before
        for s in sessions:
            s.end()
    finally:
        home.close()
    total = threads * per_thread
    return {"rate": total / seconds, "group": total / max(commits, 1)}


def _pairs(count: int) -> dict[str, Any]:
    """(c) One session: ``pre_action`` then, if allowed, ``post_action``."""
    home = Home("pairs")
    try:
        session = home.gates[0].session(run_id="bench")
        calls = _calls(count, 3)
        pairs = refused = 0
        start = time.perf_counter()
        for action, kwargs in calls:
            decision = session.pre_action(action, **kwargs)
            if decision.allowed:
                session.post_action(decision, cost="0.001")
                pairs += 1
            else:
                refused += 1
        seconds = time.perf_counter() - start
        session.end()
    finally:
        home.close()
    return {"rate": pairs / seconds, "pairs": pairs, "refused": refused}


def _limit(count: int) -> dict[str, Any]:
    """Single-entry durable ``Ledger.append`` on a fresh ledger: rate and per-call latency."""
    home = _scratch("gate-limit")
    ledger = Ledger.init(home)
    agent = key_from("gate/limit-agent")
    try:
        ledger.register_agent(agent, key_from("gate/owner"))
        clock, ns = time.perf_counter_ns, []
        start = time.perf_counter()
        for i in range(count):
            t0 = clock()
            _append_many(ledger, agent, i, 1)
            ns.append(clock() - t0)
        seconds = time.perf_counter() - start
    finally:
        ledger.close()
        shutil.rmtree(home, ignore_errors=True)
    return {"rate": count / seconds, **_latency(ns)}


def _latency(ns: list[int]) -> dict[str, float]:
    us = sorted(x / 1000 for x in ns)
    return {"p50": percentile(us, 50), "p99": percentile(us, 99), "max": us[-1]}


def _med(runs: list[dict[str, Any]], key: str) -> float:
    return median([r[key] for r in runs])


def _ratio(
    runs: list[dict[str, Any]], limits: list[dict[str, Any]], key: str, scale: float = 1.0
) -> float:
    """The median of per-round ratios: each round against the limit measured in that round."""
    return median([r[key] / (lim[key] * scale) for r, lim in zip(runs, limits, strict=True)])


def run(*, quick: bool = False, profile: bool = False, reps: int = 3) -> Result:
    count = 200 if quick else 2_000
    pair_count = 100 if quick else 1_000
    result = Result("decide-and-seal")
    _sequential(min(count, 100))  # warm-up: imports, compiled policy caches, the disk
    limits: list[dict[str, Any]] = []
    seq: list[dict[str, Any]] = []
    conc: dict[int, list[dict[str, Any]]] = {n: [] for n in THREADS}
    agents: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    for rep in range(reps):
        sessions = "/".join(map(str, THREADS))
        log(f"gate: round {rep + 1}/{reps}: limit ({count:,} appends), one session ({count:,}), "
            f"{sessions} sessions, {AGENTS} agents, {pair_count:,} pairs")  # fmt: skip
        limits.append(_limit(count))
        seq.append(_sequential(count))
        for n in THREADS:
            conc[n].append(_concurrent(n, count // n))
        agents.append(_concurrent(AGENTS, count // AGENTS, agents=AGENTS))
        pairs.append(_pairs(pair_count))

    lim = {k: _med(limits, k) for k in ("rate", "p50", "p99")}

    def add(name: str, value: float, unit: str, **kw: Any) -> None:
        result.figures.append(Figure("decide-and-seal", name, value, unit, **kw))

    add("1 session, pre_action", _med(seq, "rate"), "decisions/s", limit=lim["rate"],
        limit_unit="appends/s", ratio=_ratio(seq, limits, "rate"),
        note="limit = single durable Ledger.append, 1 thread")  # fmt: skip
    add("pre_action latency p50", _med(seq, "p50"), "µs", limit=lim["p50"], limit_unit="µs",
        ratio=_ratio(seq, limits, "p50"), note="limit = one append's p50")  # fmt: skip
    add("pre_action latency p99", _med(seq, "p99"), "µs", limit=lim["p99"], limit_unit="µs",
        ratio=_ratio(seq, limits, "p99"), note="limit = one append's p99")  # fmt: skip
    for n in THREADS:
        add(f"{n} sessions × 1 gate, {n} threads", _med(conc[n], "rate"), "decisions/s",
            limit=lim["rate"], limit_unit="appends/s", ratio=_ratio(conc[n], limits, "rate"),
            note=f"mean {_med(conc[n], 'group'):.2f} entries per commit")  # fmt: skip
    add(f"{AGENTS} agents × own gate, {AGENTS} threads", _med(agents, "rate"), "decisions/s",
        limit=lim["rate"], limit_unit="appends/s", ratio=_ratio(agents, limits, "rate"),
        note=f"mean {_med(agents, 'group'):.2f} entries per commit")  # fmt: skip
    add("pre_action + post_action", _med(pairs, "rate"), "pairs/s", limit=lim["rate"] / 2,
        limit_unit="pairs/s", ratio=_ratio(pairs, limits, "rate", 0.5),
        note="limit = half the single-append rate (2 durable entries a pair)")  # fmt: skip

    if profile:
        log("gate: profiling one session's sequential pre_action")
        home = Home("profile")
        try:
            session = home.gates[0].session()
            calls = _calls(count, 2)
            profile_to(OUT / "profile-gate.txt", lambda: _decide_all(session, calls))
        finally:
            home.close()

    def rnd(r: dict[str, Any]) -> dict[str, float]:
        return {k: round(v, 2) for k, v in r.items()}

    result.details = {
        "policy": "tests/assets/policies/native/bench-50.yaml",
        "decisions": count,
        "pairs_attempted": pair_count,
        "limit_single_append": [rnd(x) for x in limits],
        "one_session": [rnd(x) for x in seq],
        "sessions_one_gate": {str(n): [rnd(x) for x in conc[n]] for n in THREADS},
        "agents_own_gates": {"agents": AGENTS, "runs": [rnd(x) for x in agents]},
        "pairs": [rnd(x) for x in pairs],
        "reps": reps,
    }
    return result
