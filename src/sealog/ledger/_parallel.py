"""Signature checks on worker threads.

libsodium releases the GIL while it verifies, so on this 2-vCPU machine two worker threads check
signatures 1.95 times as fast as one (measured: 17.8k/s → 34.7k/s). The write path and the audit
hand their signature checks here in batches and keep the ordered work (parsing, chains, the
tree) on the calling thread, so the two overlap.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from sealog.crypto import PublicKey

__all__ = ["PARALLEL_THRESHOLD", "Job", "SignatureChecker"]

Job = tuple[PublicKey, bytes, bytes]
"""(key, signed message, signature)."""

PARALLEL_THRESHOLD = 64
"""Below this many signatures a batch is checked on the calling thread (no hand-off cost)."""


def _check(jobs: Sequence[Job]) -> list[bool]:
    return [key.verify(message, signature) for key, message, signature in jobs]


class SignatureChecker:
    """A lazily started pool of signature-checking threads; close it when done."""

    def __init__(self, workers: int | None = None) -> None:
        """Use ``workers`` threads (default: one per CPU)."""
        self._workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="sealog-sig")
            return self._pool

    def submit(self, jobs: Sequence[Job]) -> list[Future[list[bool]]]:
        """Start checking ``jobs``; one future per worker share, in order."""
        share = -(-len(jobs) // self._workers)
        pool = self._executor()
        return [pool.submit(_check, jobs[i : i + share]) for i in range(0, len(jobs), share)]

    def check(self, jobs: Sequence[Job]) -> list[bool]:
        """Check ``jobs`` and return one verdict each, in order."""
        if len(jobs) < PARALLEL_THRESHOLD or self._workers == 1:
            return _check(jobs)
        return [ok for future in self.submit(jobs) for ok in future.result()]

    def close(self) -> None:
        """Stop the worker threads."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
