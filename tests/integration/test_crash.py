"""Crash safety: SIGKILL a writer at random moments; no reported receipt is ever lost."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sealog.ledger import Ledger

APPENDER = Path(__file__).with_name("_appender.py")
KILLS = 24
MAX_DELAY = 0.3
"""Longest wait, in seconds, between the child's 'ready' and its SIGKILL."""


def _start(
    home: Path, out: Path, run: int, seeds: list[str], errors: Path
) -> subprocess.Popen[bytes]:
    with errors.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, str(APPENDER), str(home), str(out), str(run), *seeds],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _wait_ready(proc: subprocess.Popen[bytes], out: Path, errors: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if out.exists() and out.read_text(encoding="utf-8").startswith("ready\n"):
            return
        if proc.poll() is not None:
            pytest.fail(f"appender exited with {proc.returncode}: {errors.read_text()}")
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    pytest.fail("appender never became ready")


def _receipts(out: Path) -> list[tuple[int, str]]:
    """The complete receipt lines the child wrote (a torn last line was never reported)."""
    text = out.read_text(encoding="utf-8")
    lines = text.split("\n")[:-1]  # everything after the last newline is incomplete
    assert lines[0] == "ready"
    found = []
    for line in lines[1:]:
        assert not line.startswith("error"), line
        index, entry_id = line.split(" ")
        found.append((int(index), entry_id))
    return found


@pytest.mark.slow
def test_sigkilled_writer_never_loses_a_reported_receipt(disk_ledger, tmp_path: Path) -> None:
    """24 SIGKILLs of a busy writer: every reported receipt is stored as reported; log verifies."""
    rng = random.Random(20261121)
    seeds = [key.seed.hex() for key in disk_ledger.authors]
    errors = tmp_path / "appender.stderr"
    reported: dict[int, str] = {}
    runs_with_receipts = 0
    size = disk_ledger.size
    for run in range(KILLS):
        out = tmp_path / f"receipts-{run}.txt"
        proc = _start(disk_ledger.home, out, run, seeds, errors)
        _wait_ready(proc, out, errors)
        time.sleep(rng.uniform(0.0, MAX_DELAY))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, (errors.read_text(), out.read_text()[-2000:])
        fresh = _receipts(out)
        runs_with_receipts += bool(fresh)
        for index, entry_id in fresh:
            assert reported.setdefault(index, entry_id) == entry_id, f"index {index} reused"
        with Ledger.open(disk_ledger.home) as ledger:
            assert ledger.size() >= size
            size = ledger.size()
            stored = {s.index: s.entry.id for s in ledger.entries()}
            lost = {i: e for i, e in reported.items() if stored.get(i) != e}
            assert not lost, f"run {run}: reported receipts lost or changed: {lost}"
            report = ledger.verify()
            assert report.ok, (run, report.gaps)
            assert report.total_entries == size
    assert size > disk_ledger.size
    assert runs_with_receipts >= KILLS // 4, "kills should land while appending"
    assert len(reported) > KILLS
