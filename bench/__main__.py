"""Run the benchmarks, print a table and write ``bench/out/results.json``."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import UTC, datetime

from bench import audit, decide, gate, ingest, proofs, service, traces
from bench._common import OUT, Result, load_average, log, machine, source_state, table

BENCHMARKS = {
    "ingest": ingest.run,
    "audit": audit.run,
    "proofs": proofs.run,
    "decide": decide.run,
    "gate": gate.run,
    "service": service.run,
    "traces": traces.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="{ingest,audit,proofs,decide,gate,service}",
        help="benchmarks to run (all when none named)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile the measured operations (cProfile) into bench/out/profile-*.txt",
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions where cheap (median)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r} (choose from {', '.join(BENCHMARKS)})")
    names = args.names or list(BENCHMARKS)

    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    source = source_state()
    load_before = load_average()
    started = datetime.now(UTC)
    if load_before and load_before[0] > 0.5:
        log(f"warning: load average {load_before[0]} before starting; figures will be low")
    print(
        f"sealog benchmarks{' (quick)' if args.quick else ''} — {info['cpu_model']}, "
        f"{info['nproc']} CPU, Python {info['python']}, SQLite {info['sqlite']}, "
        f"PyNaCl {info['pynacl']}",
        flush=True,
    )
    results: list[Result] = []
    start = time.perf_counter()
    try:
        for name in names:
            log(f"== {name}")
            t0 = time.perf_counter()
            result = BENCHMARKS[name](quick=args.quick, profile=args.profile, reps=args.reps)
            result.seconds = time.perf_counter() - t0
            log(f"== {name} done in {result.seconds:.1f} s")
            results.append(result)
    finally:
        shutil.rmtree(OUT / "tmp", ignore_errors=True)
    total = time.perf_counter() - start

    print()
    print(table(results))
    print(f"\ntotal {total:.1f} s")
    out = {
        "started": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "total_seconds": round(total, 1),
        "machine": info,
        "source": source,
        "load_average": {"before": load_before, "after": load_average()},
        "benchmarks": {r.name: r.to_dict() for r in results},
    }
    path = OUT / "results.json"
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"results written to {path.relative_to(OUT.parent.parent)}")
    failed = [f"{f.bench}: {f.name}" for r in results for f in r.figures if f.passed is False]
    if failed:
        print("targets missed: " + "; ".join(failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
