"""Full audit of a 100,000-entry on-disk ledger, against bare signature checks.

``Ledger.verify()`` reads every stored row and re-checks everything (parse, canonical form,
signature, chains, the recomputed tree against every signed checkpoint). Its floor is the
signature checks it cannot avoid: the same messages verified with PyNaCl in a tight loop, keys
pre-built. Target: audit time / bare signature time ≤ 1.3.
"""

from __future__ import annotations

import threading

import nacl.bindings

from bench._common import (
    OUT,
    Figure,
    Result,
    cached_ledger,
    count_checkpoints,
    db_files,
    log,
    median,
    profile_to,
    timed,
    warm_file,
)
from sealog.crypto import PublicKey, entry_signing_prefix
from sealog.ledger import Ledger
from sealog.ledger.entry import SignedEntry

TARGET = 1.3


def _bare_inputs(
    ledger: Ledger,
) -> tuple[list[tuple[bytes, bytes]], list[tuple[PublicKey, bytes, bytes]]]:
    """(signed message blob, raw key) for nacl, and (key, message, signature) for sealog."""
    keys = {r.address: PublicKey(r.public_key) for r in ledger.registrations()}
    nacl_work: list[tuple[bytes, bytes]] = []
    sealog_work: list[tuple[PublicKey, bytes, bytes]] = []
    for row in ledger.entries():
        entry: SignedEntry = row.entry
        key = keys[entry.author]
        message = entry_signing_prefix(entry.kind) + entry.data
        nacl_work.append((entry.signature + message, key.raw))
        sealog_work.append((key, message, entry.signature))
    return nacl_work, sealog_work


def _open_all(work: list[tuple[bytes, bytes]]) -> None:
    sign_open = nacl.bindings.crypto_sign_open
    for blob, raw in work:
        sign_open(blob, raw)


def run(*, quick: bool = False, profile: bool = False, reps: int = 3) -> Result:
    size = 5_000 if quick else 100_000
    result = Result("audit")
    home, build = cached_ledger(size)
    for path in db_files(home):
        warm_file(path)
    ledger = Ledger.open(home)
    try:
        total = ledger.size()
        log(f"audit: one warm-up ledger.verify() of {total:,} entries")
        report = ledger.verify()
        if not report.ok or report.signatures_checked != total:
            raise AssertionError(f"the benchmark ledger does not verify: {report.to_dict()}")
        nacl_work, sealog_work = _bare_inputs(ledger)
        sign_open = nacl.bindings.crypto_sign_open

        def bare_nacl() -> None:
            for blob, raw in nacl_work:
                sign_open(blob, raw)

        def bare_sealog() -> None:
            for key, message, signature in sealog_work:
                if not key.verify(message, signature):
                    raise AssertionError("a stored entry does not verify")

        def bare_nacl_2threads() -> None:
            half = len(nacl_work) // 2
            workers = [
                threading.Thread(target=_open_all, args=(part,))
                for part in (nacl_work[:half], nacl_work[half:])
            ]
            for w in workers:
                w.start()
            for w in workers:
                w.join()

        # Interleaved rounds (audit, then the bare loops), so drift in machine speed hits both
        # sides; the ratio is the median of each round's audit / bare-loop ratio.
        audit_runs: list[float] = []
        nacl_runs: list[float] = []
        sealog_runs: list[float] = []
        two_runs: list[float] = []
        for rep in range(reps):
            log(f"audit: round {rep + 1}/{reps}: ledger.verify(), then bare signature checks")
            audit_runs.append(timed(ledger.verify)[0])
            nacl_runs.append(timed(bare_nacl)[0])
            sealog_runs.append(timed(bare_sealog)[0])
            two_runs.append(timed(bare_nacl_2threads)[0])
        audit_s = median(audit_runs)
        bare_s = median(nacl_runs)
        round_ratios = [a / b for a, b in zip(audit_runs, nacl_runs, strict=True)]
        ratio = median(round_ratios)
        result.figures.append(
            Figure(
                "audit",
                f"verify() of {total:,} entries",
                audit_s,
                "s",
                limit=bare_s,
                limit_unit="s",
                ratio=ratio,
                target=f"ratio ≤ {TARGET}",
                passed=ratio <= TARGET,
                note="limit = bare PyNaCl crypto_sign_open over the same messages",
            )
        )
        result.figures.append(
            Figure("audit", "verify() rate", total / audit_s, "entries/s", note="no target")
        )
        if profile:
            log("audit: profiling one ledger.verify()")
            profile_to(OUT / "profile-audit.txt", ledger.verify)
    finally:
        ledger.close()

    result.details = {
        "entries": total,
        "checkpoints": count_checkpoints(home),
        "audit_seconds": [round(s, 3) for s in audit_runs],
        "audit_median_s": round(audit_s, 3),
        "audit_rate": round(total / audit_s, 1),
        "bare_nacl_seconds": [round(s, 3) for s in nacl_runs],
        "bare_nacl_median_s": round(bare_s, 3),
        "bare_nacl_rate": round(total / bare_s, 1),
        "bare_publickey_verify_seconds": [round(s, 3) for s in sealog_runs],
        "bare_publickey_verify_median_s": round(median(sealog_runs), 3),
        "bare_nacl_2threads_seconds": [round(s, 3) for s in two_runs],
        "bare_nacl_2threads_median_s": round(median(two_runs), 3),
        "round_ratios_vs_nacl": [round(r, 4) for r in round_ratios],
        "ratio_vs_nacl": round(ratio, 4),
        "ratio_vs_nacl_2threads": round(audit_s / median(two_runs), 4),
        "ratio_vs_publickey_verify": round(audit_s / median(sealog_runs), 4),
        "build": build,
        "reps": reps,
    }
    return result
