"""Inclusion proofs from a 1,000,000-entry on-disk ledger.

The ledger is built once (entries signed by hand with PyNaCl, submitted in batches of 10,000)
and cached under ``bench/out/``. With the database in the OS page cache and a warm-up pass
done, 10,000 ``prove_inclusion(random index)`` calls are timed one by one (p50/p99/max), and
each proof is verified against ``ledger.root_at(size)``. Target: p99 ≤ 1 ms.
"""

from __future__ import annotations

import random
import time

from bench._common import (
    OUT,
    Figure,
    Result,
    cached_ledger,
    db_files,
    log,
    percentile,
    profile_to,
    timed,
    warm_file,
)
from sealog.ledger import Ledger

TARGET_P99_MS = 1.0
SEED = 20250601


def _stats_ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(percentile(ordered, 50) * 1e3, 4),
        "p90_ms": round(percentile(ordered, 90) * 1e3, 4),
        "p99_ms": round(percentile(ordered, 99) * 1e3, 4),
        "max_ms": round(ordered[-1] * 1e3, 4),
        "mean_ms": round(sum(ordered) / len(ordered) * 1e3, 4),
    }


def run(*, quick: bool = False, profile: bool = False, reps: int = 3) -> Result:  # noqa: ARG001
    size = 20_000 if quick else 1_000_000
    count = 1_000 if quick else 10_000
    warmup = 200 if quick else 1_000
    result = Result("proofs")
    home, build = cached_ledger(size)
    db_bytes = sum(p.stat().st_size for p in db_files(home))
    for path in db_files(home):
        warm_file(path)
    ledger = Ledger.open(home)
    try:
        tree_size = ledger.size()
        root_s, root = timed(lambda: ledger.root_at(tree_size))
        rng = random.Random(SEED)
        for _ in range(warmup):
            ledger.prove_inclusion(rng.randrange(tree_size))

        log(f"proofs: {count:,} prove_inclusion(random index) on {tree_size:,} entries")
        indices = [rng.randrange(tree_size) for _ in range(count)]
        prove_times: list[float] = []
        proofs = []
        clock = time.perf_counter
        for index in indices:
            start = clock()
            proof = ledger.prove_inclusion(index)
            prove_times.append(clock() - start)
            proofs.append(proof)

        verify_times: list[float] = []
        for proof in proofs:
            start = clock()
            proof.verify(root)
            verify_times.append(clock() - start)

        if profile:
            log("proofs: profiling the proof loop")
            profile_to(
                OUT / "profile-proofs.txt",
                lambda: [ledger.prove_inclusion(i) for i in indices],
            )
    finally:
        ledger.close()

    prove = _stats_ms(prove_times)
    verify = _stats_ms(verify_times)
    p99 = prove["p99_ms"]
    result.figures.append(
        Figure(
            "proofs",
            f"prove_inclusion p50 ({tree_size:,} entries)",
            prove["p50_ms"],
            "ms",
            note="no target",
        )
    )
    result.figures.append(
        Figure(
            "proofs",
            "prove_inclusion p99",
            p99,
            "ms",
            target=f"p99 ≤ {TARGET_P99_MS} ms",
            passed=p99 <= TARGET_P99_MS,
        )
    )
    result.figures.append(Figure("proofs", "prove_inclusion max", prove["max_ms"], "ms"))
    result.figures.append(
        Figure("proofs", "proof.verify(root) p99", verify["p99_ms"], "ms", note="no target")
    )
    cached = f", cached build of {build['built']}" if build.get("cached") else ""
    result.figures.append(
        Figure(
            "proofs",
            f"build {size:,}-entry ledger",
            build["build_rate"],
            "entries/s",
            note=f"{build['build_seconds']:.0f} s incl. signing{cached}; no target",
        )
    )
    result.details = {
        "tree_size": tree_size,
        "proofs": count,
        "warmup_proofs": warmup,
        "seed": SEED,
        "proof_hashes": len(proofs[0].hashes),
        "prove": prove,
        "prove_rate": round(count / sum(prove_times), 1),
        "verify": verify,
        "all_verified": True,
        "root_at_ms": round(root_s * 1e3, 4),
        "db_bytes": db_bytes,
        "build": build,
    }
    return result
