"""Durable ingest of signed entries, against the per-entry cost of its unavoidable work.

Pre-signed action entries are submitted to a fresh on-disk ledger with ``Ledger.submit`` in
batches, so every entry is schema-checked, signature-checked, chain-checked, added to the tree
and durably committed (SQLite WAL, synchronous=FULL, one fsync per batch).

The limit is what each entry costs at the least: one Ed25519 signature check
(``PublicKey.verify`` over the same message), one canonicalization of the entry
(``sealog.canonical.canonicalize`` of the same fields) and one SHA-256 (its leaf hash), timed in
tight loops over the same entries; limit = 1 / (sum of the three per-entry times).

A concurrent variant has 4 threads each appending single entries with ``Ledger.append``
(sign + submit of one entry; the sequencer commits concurrent appends in groups).
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from bench._common import (
    OUT,
    Figure,
    Fleet,
    Result,
    action_fields,
    count_checkpoints,
    log,
    median,
    profile_to,
    timed,
)
from sealog.canonical import canonicalize
from sealog.crypto import PublicKey, SigningKey
from sealog.ledger import Ledger
from sealog.ledger.entry import SignedEntry

BATCHES = (100, 500, 1000)
TARGET_RATIO = 0.6
TARGET_RATE = 8000.0


def _scratch(tag: str) -> Path:
    path = OUT / "tmp" / f"ingest-{tag}-{time.monotonic_ns()}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _submit_run(
    registrations: list[SignedEntry], entries: list[SignedEntry], batch: int
) -> tuple[float, int]:
    """Submit to a fresh ledger; return (seconds for the action entries, commits)."""
    home = _scratch(f"b{batch}")
    ledger = Ledger.init(home)
    try:
        ledger.submit(registrations)
        start = time.perf_counter()
        for i in range(0, len(entries), batch):
            ledger.submit(entries[i : i + batch])
        seconds = time.perf_counter() - start
        expected = len(registrations) + len(entries)
        if ledger.size() != expected:
            raise AssertionError(f"ledger holds {ledger.size()} entries, expected {expected}")
    finally:
        ledger.close()
        shutil.rmtree(home, ignore_errors=True)
    return seconds, -(-len(entries) // batch)


def _limit_parts(entries: list[SignedEntry], keys: dict[str, PublicKey]) -> dict[str, float]:
    """Per-entry seconds of the three unavoidable steps, each a tight loop over all entries."""
    work = [(keys[e.author], e.signed_message(), e.signature) for e in entries]
    fields = [dict(e.fields) for e in entries]
    leaves = [e.signature + e.data for e in entries]
    n = len(entries)

    def verify_all() -> None:
        for key, message, signature in work:
            if not key.verify(message, signature):
                raise AssertionError("a pre-signed entry does not verify")

    def canon_all() -> None:
        for f in fields:
            canonicalize(f)

    def sha_all() -> None:
        sha256 = hashlib.sha256
        for leaf in leaves:
            sha256(b"\x00" + leaf).digest()

    return {
        "verify": timed(verify_all)[0] / n,
        "canonicalize": timed(canon_all)[0] / n,
        "sha256": timed(sha_all)[0] / n,
    }


def _append_many(ledger: Ledger, key: SigningKey, start: int, count: int) -> None:
    """``count`` single-entry ``Ledger.append`` calls as ``key`` (each signs, then commits)."""
    for i in range(start, start + count):
        f = action_fields(i)
        ledger.append(
            key,
            f["action"],
            target=f["target"],
            content_hash=f["content_hash"],
            metadata=f["metadata"],
        )


def _profile_append(fleet: Fleet, count: int) -> None:
    """One thread appending, in the main thread so cProfile sees it."""
    home = _scratch("profile")
    ledger = Ledger.init(home)
    try:
        ledger.register_agent(fleet.agents[0], fleet.owner)
        profile_to(
            OUT / "profile-ingest-append.txt",
            lambda: _append_many(ledger, fleet.agents[0], 0, count),
        )
    finally:
        ledger.close()
        shutil.rmtree(home, ignore_errors=True)


def _concurrent_run(fleet: Fleet, threads: int, per_thread: int) -> tuple[float, int]:
    """``threads`` threads each ``Ledger.append`` ``per_thread`` entries; (seconds, commits)."""
    home = _scratch(f"t{threads}")
    ledger = Ledger.init(home)
    agents = fleet.agents[:threads]
    try:
        for agent in agents:
            ledger.register_agent(agent, fleet.owner)
        commits_before = count_checkpoints(home)
        barrier = threading.Barrier(threads + 1)
        errors: list[BaseException] = []

        def work(t: int) -> None:
            barrier.wait()
            try:
                _append_many(ledger, agents[t], t * per_thread, per_thread)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        barrier.wait()
        start = time.perf_counter()
        for w in workers:
            w.join()
        seconds = time.perf_counter() - start
        if errors:
            raise errors[0]
        commits = count_checkpoints(home) - commits_before
    finally:
        ledger.close()
        shutil.rmtree(home, ignore_errors=True)
    return seconds, commits


def run(*, quick: bool = False, profile: bool = False, reps: int = 3) -> Result:
    n = 2_000 if quick else 50_000
    per_thread = 100 if quick else 1_500
    threads = 4
    result = Result("ingest")
    fleet = Fleet()

    agents = len(fleet.agents)
    log(f"ingest: pre-signing {n:,} action entries with Ledger.sign_next ({agents} agents)")
    sign_s, entries = timed(lambda: fleet.sign_with_ledger(n))
    registrations = fleet.registrations()
    sizes = [len(e.data) for e in entries]
    keys = {a.address: a.public_key for a in fleet.agents}

    # Interleaved rounds (limit, then each batch size), so drift in machine speed hits both.
    parts_runs: list[dict[str, float]] = []
    raw: dict[int, list[tuple[float, int]]] = {batch: [] for batch in BATCHES}
    for rep in range(reps):
        log(f"ingest: round {rep + 1}/{reps}: limit loops, then submit in batches of {BATCHES}")
        parts_runs.append(_limit_parts(entries, keys))
        for batch in BATCHES:
            raw[batch].append(_submit_run(registrations, entries, batch))
    parts = {k: median([p[k] for p in parts_runs]) for k in parts_runs[0]}
    per_entry = sum(parts.values())
    round_limits = [1.0 / sum(p.values()) for p in parts_runs]
    limit = median(round_limits)

    by_batch: dict[str, Any] = {}
    for batch in BATCHES:
        runs = raw[batch]
        rates = [n / s for s, _ in runs]
        rate = median(rates)
        # Each round's rate against the limit measured in the same round, then the median.
        ratios = [r / lim for r, lim in zip(rates, round_limits, strict=True)]
        ratio = median(ratios)
        by_batch[str(batch)] = {
            "rates": [round(r, 1) for r in rates],
            "median_rate": round(rate, 1),
            "seconds": [round(s, 3) for s, _ in runs],
            "commits": runs[0][1],
            "round_ratios": [round(r, 4) for r in ratios],
            "ratio": round(ratio, 4),
        }
        result.figures.append(
            Figure(
                "ingest",
                f"submit, batch {batch}",
                rate,
                "entries/s",
                limit=limit,
                limit_unit="entries/s",
                ratio=ratio,
                target=f"ratio ≥ {TARGET_RATIO} and ≥ {TARGET_RATE:,.0f}/s",
                passed=ratio >= TARGET_RATIO and rate >= TARGET_RATE,
            )
        )

    log(f"ingest: {threads} threads x {per_thread:,} Ledger.append each, x{reps}")
    conc = [_concurrent_run(fleet, threads, per_thread) for _ in range(reps)]
    total = threads * per_thread
    conc_rates = [total / s for s, _ in conc]
    conc_rate = median(conc_rates)
    log(f"ingest: 1 thread x {per_thread:,} Ledger.append, x{reps} (reference)")
    single = [_concurrent_run(fleet, 1, per_thread) for _ in range(reps)]
    single_rates = [per_thread / s for s, _ in single]
    result.figures.append(
        Figure(
            "ingest",
            f"{threads} threads Ledger.append",
            conc_rate,
            "entries/s",
            note="group commit; no target",
        )
    )
    result.figures.append(
        Figure(
            "ingest",
            "1 thread Ledger.append",
            median(single_rates),
            "entries/s",
            note="reference for the concurrent figure; no target",
        )
    )

    if profile:
        log("ingest: profiling one submit run at batch 100 (the slowest)")
        profile_to(
            OUT / "profile-ingest-submit.txt",
            lambda: _submit_run(registrations, entries, 100),
        )
        _profile_append(fleet, per_thread)

    result.details = {
        "entries": n,
        "agents": len(fleet.agents),
        "entry_bytes": {"min": min(sizes), "mean": round(sum(sizes) / n, 1), "max": max(sizes)},
        "presign_rate": round(n / sign_s, 1),
        "limit": {
            "per_entry_us": {k: round(v * 1e6, 3) for k, v in parts.items()},
            "total_us": round(per_entry * 1e6, 3),
            "entries_per_s": round(limit, 1),
            "round_entries_per_s": [round(x, 1) for x in round_limits],
            "runs_us": [{k: round(v * 1e6, 3) for k, v in p.items()} for p in parts_runs],
        },
        "submit": by_batch,
        "concurrent": {
            "threads": threads,
            "per_thread": per_thread,
            "rates": [round(r, 1) for r in conc_rates],
            "median_rate": round(conc_rate, 1),
            "mean_group_size": round(total / median([c for _, c in conc]), 2),
            "single_thread_rates": [round(r, 1) for r in single_rates],
            "single_thread_mean_group_size": round(per_thread / median([c for _, c in single]), 2),
        },
        "reps": reps,
    }
    return result
