"""Child process of the crash test: append to an on-disk ledger until killed.

Usage: ``python _appender.py HOME OUT RUN KEY_SEED_HEX...``

Opens the ledger at HOME, writes ``ready`` to OUT, then appends from two threads (each with its
own authors, so their chains never race), mixing ``submit()`` of batches made with ``sign_next``
and single ``append()`` calls, with short random pauses between calls. Each receipt is written
to OUT as ``<index> <id>`` only after the call that returned it, one flushed line each. An
unexpected error writes ``error <message>`` and exits with status 3.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from sealog.crypto import SigningKey
from sealog.ledger import Ledger, Receipt

PAUSE = 0.01
"""Longest pause between two calls of a thread, in seconds: keeps the ledger's growth modest."""


def _work(
    ledger: Ledger,
    keys: Sequence[SigningKey],
    rng: random.Random,
    report: TextIO,
    lock: threading.Lock,
) -> None:
    try:
        count = 0
        while True:
            count += 1
            if rng.random() < 0.3:
                key = rng.choice(keys)
                receipts: list[Receipt] = [
                    ledger.append(key, "crash_test", target=f"n/{count}", metadata={"n": count})
                ]
            else:
                batch = [
                    ledger.sign_next(
                        rng.choice(keys), "action", {"action": "batched", "metadata": {"n": count}}
                    )
                    for _ in range(rng.randint(1, 8))
                ]
                receipts = ledger.submit(batch)
            with lock:
                report.writelines(f"{receipt.index} {receipt.id}\n" for receipt in receipts)
            time.sleep(rng.uniform(0, PAUSE))
    except BaseException as exc:  # noqa: BLE001 - any failure must reach the parent
        with lock:
            report.write(f"error {exc!r} {traceback.format_exc()!r}\n")
        os._exit(3)


def main(argv: list[str]) -> None:
    """Append until killed (see the module docstring)."""
    home, out, run, *seeds = argv
    keys = [SigningKey(bytes.fromhex(seed)) for seed in seeds]
    ledger = Ledger.open(Path(home))
    lock = threading.Lock()
    with Path(out).open("a", buffering=1, encoding="utf-8") as report:
        report.write("ready\n")
        threads = [
            threading.Thread(
                target=_work,
                args=(ledger, keys[n::2], random.Random(f"{run}/{n}"), report, lock),
                daemon=True,
            )
            for n in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


if __name__ == "__main__":
    main(sys.argv[1:])
